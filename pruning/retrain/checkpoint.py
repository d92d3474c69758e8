"""Checkpoint I/O of a retraining run: one ``.npz`` per run directory, written atomically.

A checkpoint holds every model variable (dropout RNG state included), the masks, the
optimizer's variables and the best-so-far weights (mid-phase only), the rewind point, and a
JSON ``meta`` entry: the run's fingerprint, the phase and epoch reached, the history and
the early-stopping state. ``checkpoint_info`` is the one public reader of what a
checkpoint directory holds; front ends and tests use it instead of opening the file.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_write
from .options import RetrainError, Training

CHECKPOINT = "retrain-state.npz"


def fingerprint(method: str, target: float, scope: str, training: Training, options: dict,
                arrays: Sequence[np.ndarray], n_train: int, n_val: int) -> dict:
    """What a checkpoint must match to be resumed: the request, the start weights, the data size."""
    crc = 0
    for a in arrays:
        crc = zlib.crc32(np.ascontiguousarray(a).tobytes(), crc)
    return {"method": method, "target": target, "scope": scope, "training": asdict(training),
            "options": json.loads(json.dumps(options, default=str)), "weights_crc32": crc,
            "shapes": [list(a.shape) for a in arrays], "train": n_train, "val": n_val}


@dataclass
class Saved:
    """One checkpoint's content, as written and as read back."""

    meta: dict
    variables: list[np.ndarray]
    masks: dict[int, np.ndarray]  # weight index -> keep-mask (pruned arrays only)
    optimizer: list[np.ndarray] = field(default_factory=list)
    best: list[np.ndarray] = field(default_factory=list)
    rewind: list[np.ndarray] = field(default_factory=list)


def write(path: Path, saved: Saved) -> None:
    """Write ``saved`` to ``path`` whole or not at all (``pruning.atomic.atomic_write``)."""
    arrays: dict[str, np.ndarray] = {f"var/{i}": a for i, a in enumerate(saved.variables)}
    arrays |= {f"mask/{i}": m for i, m in saved.masks.items()}
    arrays |= {f"opt/{i}": a for i, a in enumerate(saved.optimizer)}
    arrays |= {f"best/{i}": a for i, a in enumerate(saved.best)}
    arrays |= {f"rewind/{i}": a for i, a in enumerate(saved.rewind)}
    arrays["meta"] = np.array(json.dumps(saved.meta))

    def fill(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(path, fill)


def read(path: Path) -> Saved:
    """Read a checkpoint file; RetrainError when it is unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in z.files if k != "meta"}
    except Exception as e:
        raise RetrainError(f"{path}: unreadable checkpoint ({e}); delete it to start over") from None

    def listed(prefix: str) -> list[np.ndarray]:
        n = sum(1 for k in arrays if k.startswith(prefix))
        return [arrays[f"{prefix}{i}"] for i in range(n)]

    masks = {int(k.split("/")[1]): a for k, a in arrays.items() if k.startswith("mask/")}
    return Saved(meta, listed("var/"), masks, listed("opt/"), listed("best/"), listed("rewind/"))


@dataclass(frozen=True)
class CheckpointInfo:
    """What a run directory's checkpoint says about its run (``history`` rows per epoch)."""

    path: Path
    history: tuple[dict, ...]
    fingerprint: dict
    phase: int
    done: bool

    @property
    def epochs(self) -> int:
        """Epochs finished so far, over all phases."""
        return len(self.history)


def checkpoint_info(directory: str | Path) -> CheckpointInfo | None:
    """The checkpoint in ``directory``, or None when there is none or it is unreadable."""
    path = Path(directory) / CHECKPOINT
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
        return CheckpointInfo(path, tuple(meta["history"]), dict(meta["fingerprint"]),
                              int(meta["phase"]), bool(meta["done"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def checkpoint_history(directory: str | Path) -> list[dict]:
    """The epoch rows a checkpoint directory holds (empty when there is none or it is unreadable)."""
    info = checkpoint_info(directory)
    return [] if info is None else list(info.history)
