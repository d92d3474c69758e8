"""Shared pieces of the benchmarks: configs, the seed's loop, the forward-pass floor, timing."""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


@dataclass(frozen=True)
class Config:
    """What a benchmark run uses; ``quick`` is a tiny random-weight model for smoke tests."""

    quick: bool = False
    width: float = 1.0  # model width (full: the bundled demo model)
    val_limit: int | None = None  # None = the whole 5,000-image validation split
    repeats: int = 3  # repetitions for per-call medians
    sweep_step: int = 5  # grid step (percent) of benchmark 1
    seed_levels: int | None = None  # benchmark 2: time the seed loop on this many levels only
    memory_val: int = 1000  # val images in the memory children

    @classmethod
    def make(cls, quick: bool) -> "Config":
        if quick:
            return cls(quick=True, width=0.25, val_limit=100, repeats=1, sweep_step=25,
                       seed_levels=4, memory_val=50)
        return cls()


@dataclass
class Result:
    """One benchmark's figures (JSON-able) and its Markdown section body."""

    name: str
    title: str
    figures: dict
    lines: list[str] = field(default_factory=list)
    ok: bool = True  # False when an identity check failed

    def markdown(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


_DATA = None


def dataset():
    """The bundled Fashion-MNIST as the demo model takes it (uint8 pixels / 255 by the 'auto'
    rule; loaded once per process)."""
    global _DATA
    if _DATA is None:
        from pruning import load_fashion_mnist, load_model
        from pruning.inputs import ensure_fitted

        _DATA = ensure_fitted(load_fashion_mnist(), load_model())
    return _DATA


def random_model(width: float, seed: int = 0):
    """The demo architecture at ``width`` with seeded random weights (for timing only)."""
    import keras

    from pruning.models import build_model

    keras.utils.set_random_seed(seed)
    return build_model((28, 28, 1), 10, width)


def workbench(cfg: Config, val_limit: int | None = -1, width: float | None = None,
              random: bool = False):
    """The benchmark's Workbench: bundled demo weights (full) or a random tiny model (quick)."""
    from pruning import Workbench
    from pruning.models import bundled_weights, load_model

    limit = cfg.val_limit if val_limit == -1 else val_limit
    width = cfg.width if width is None else width
    if cfg.quick or random or width != 1.0:
        model = random_model(width)
    else:
        path = bundled_weights()
        if not path.exists():
            raise SystemExit(f"{path} is missing: train it (python -m pruning train --out {path}) "
                             "or run `python -m bench --quick`")
        model = load_model(path)
    return Workbench(model, dataset(), val_limit=limit, test_limit=0)


def clock(fn: Callable[[], object]) -> tuple[float, object]:
    """Seconds one call of ``fn`` takes, and its result."""
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds over ``repeats`` calls (after the caller's warm-up)."""
    return statistics.median(clock(fn)[0] for _ in range(repeats))


def bare_pass(evaluator) -> np.ndarray:
    """The floor: one compiled forward pass over the split, outputs copied to NumPy."""
    return evaluator.probabilities()


# --- the seed's loop -------------------------------------------------------------------------

def seed_prune(weights: Sequence[np.ndarray], method: str, sparsity: float) -> list[np.ndarray]:
    """The seed's code: a fresh np.percentile of |w| (all arrays, or per array), zero below it."""
    if method == "global":
        t = np.percentile(np.concatenate([np.abs(w).flatten() for w in weights]), 100 * sparsity)
        return [np.where(np.abs(w) < t, 0, w) for w in weights]
    return [np.where(np.abs(w) < np.percentile(np.abs(w), 100 * sparsity), 0, w) for w in weights]


class SeedLoop:
    """model.set_weights + model.evaluate per level, on a compiled twin of the workbench model."""

    def __init__(self, wb) -> None:
        from pruning.models import clone_model

        self.model = clone_model(wb.model)
        self.model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        self.dense = [np.array(a) for a in wb.baseline.arrays]
        self.x, self.y = wb.val.split.x, wb.val.split.y
        self.batch_size = wb.val.batch_size  # the same batches as ours: a fair comparison

    def level(self, method: str, sparsity: float) -> float:
        """Val accuracy at one level, the seed's way."""
        self.model.set_weights(seed_prune(self.dense, method, sparsity))
        _loss, acc = self.model.evaluate(self.x, self.y, batch_size=self.batch_size, verbose=0)
        return float(acc)

    def run(self, method: str, grid: Sequence[float]) -> list[float]:
        return [self.level(method, s) for s in grid]


def same_counts(a: Sequence[float], b: Sequence[float], n: int) -> bool:
    """True when two accuracy lists mean the same number of correct images at every level."""
    return all(round(x * n) == round(y * n) for x, y in zip(a, b))


# --- the machine -----------------------------------------------------------------------------

def native_bfloat16() -> str:
    """The CPU's bfloat16 instruction sets from /proc/cpuinfo ('none' when it has none)."""
    try:
        flags = next((set(line.split(":", 1)[1].split()) for line in open("/proc/cpuinfo")
                      if line.startswith("flags")), set())
    except OSError:
        flags = set()
    return ", ".join(sorted(flags & {"avx512_bf16", "amx_bf16"})) or "none"


def machine() -> dict:
    """nproc, CPU model, memory, load, versions: printed beside every figure."""
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem = 0
    import keras
    import tensorflow as tf

    return {"nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "mem_gib": round(mem / 2**20, 1),
            "native_bfloat16": native_bfloat16(),
            "loadavg": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "command": shlex.join(["python", "-m", "bench", *sys.argv[1:]]),
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 0.1 else f"{1000 * seconds:.1f} ms"


def update_markdown(path, mark: str, lines: Sequence[str]) -> None:
    """Replace (or append) a suite's marked section ``<!-- bench:mark -->`` in ``path``."""
    from pathlib import Path

    path = Path(path)
    start, end = f"<!-- bench:{mark} -->", f"<!-- /bench:{mark} -->"
    block = "\n".join([start, *lines, end])
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
