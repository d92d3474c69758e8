"""The training loop's parts, Keras-callback style, each owning its state.

``on_train_begin`` marks a phase's start (a fresh phase resets the part's state; a phase
resumed mid-way keeps what the checkpoint restored), ``on_epoch_begin`` / ``on_epoch_end``
bracket each epoch (``logs`` carries the epoch's row), ``on_train_end`` the phase's end.
``BatchProgress`` is a real ``fit`` callback (batch rows and per-step mask updates).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from ..layers import assign_arrays
from . import checkpoint
from .options import RetrainError
from .state import TrainState


class BatchProgress(keras.callbacks.Callback):
    """Per-batch progress and per-step hooks of one ``fit`` call.

    Args:
        on_step: called with the optimizer's step count when training starts and after each
            batch (gradual pruning updates its masks there); None for none.
        on_batch: ``on_batch(batches_done, step, loss)`` after each batch (or each group of
            ``steps_per_execution`` batches).
    """

    def __init__(self, on_step: Callable[[int], None] | None,
                 on_batch: Callable[[int, int, float], None]) -> None:
        super().__init__()
        self.on_step, self.on_batch = on_step, on_batch

    def _steps(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        if self.on_step is not None:
            self.on_step(self._steps())

    def on_train_batch_end(self, batch, logs=None):
        step = self._steps()
        if self.on_step is not None:
            self.on_step(step)
        self.on_batch(batch + 1, step, float((logs or {}).get("loss", float("nan"))))


class BestEpoch(keras.callbacks.Callback):
    """Keeps the weights of a phase's best eligible epoch (highest val accuracy, first wins)
    and puts them back when the phase ends, marking that epoch's history row ``best``."""

    def __init__(self, state: TrainState, history: list[dict]) -> None:
        super().__init__()
        self.state, self.history = state, history
        self.best: tuple[float, int, list[np.ndarray]] | None = None  # (val acc, epoch, arrays)

    def on_train_begin(self, logs=None):
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        """``logs``: ``val_accuracy`` and ``eligible`` (may this epoch be picked?)."""
        if logs["eligible"] and (self.best is None or logs["val_accuracy"] > self.best[0]):
            self.best = (logs["val_accuracy"], epoch + 1, self.state.arrays())

    def end_phase(self, phase: int) -> None:
        """Restore the best weights (if any epoch was eligible) and mark the rows."""
        if self.best is not None:
            self.state.set_arrays(self.best[2])
            for row in self.history:
                if row.get("phase_index") == phase:
                    row["best"] = row["epoch"] == self.best[1]
        self.best = None

    # checkpoint state
    def saved(self) -> tuple[list | None, list[np.ndarray]]:
        return (None, []) if self.best is None else (list(self.best[:2]), self.best[2])

    def restore(self, meta: list | None, arrays: list[np.ndarray]) -> None:
        self.best = None if meta is None else (meta[0], meta[1], arrays)


class EarlyStop(keras.callbacks.Callback):
    """Stops a phase after ``patience`` eligible epochs without a val-accuracy gain."""

    def __init__(self, patience: int | None) -> None:
        super().__init__()
        self.patience = patience
        self.wait, self.best = 0, None

    def on_train_begin(self, logs=None):
        self.wait, self.best = 0, None

    def on_epoch_end(self, epoch, logs=None):
        if not logs["eligible"]:
            return
        if self.best is None or logs["val_accuracy"] > self.best:
            self.best, self.wait = logs["val_accuracy"], 0
        else:
            self.wait += 1

    @property
    def stopped(self) -> bool:
        return self.patience is not None and self.wait >= self.patience

    def restore(self, wait: int, best: float | None) -> None:
        self.wait, self.best = wait, best


@dataclass
class Resume:
    """Where a restored run goes on: phases done, epoch reached in the next, its optimizer."""

    phases_done: int
    epoch: int
    optimizer: list[np.ndarray] | None


class CheckpointWriter(keras.callbacks.Callback):
    """Writes the run's whole state after every epoch (and at each phase's end) to
    ``directory/CHECKPOINT``, and reads it back (``restore``) when the run starts again."""

    def __init__(self, directory: str | Path, fingerprint: dict, state: TrainState,
                 history: list[dict], keeper: BestEpoch, early: EarlyStop) -> None:
        super().__init__()
        self.path = Path(directory) / checkpoint.CHECKPOINT
        self.fingerprint = fingerprint
        self.state, self.history, self.keeper, self.early = state, history, keeper, early

    def on_epoch_end(self, epoch, logs=None):
        """``logs``: ``phase`` (its index) and ``optimizer`` (the phase's optimizer)."""
        self._save(logs["phase"], epoch + 1, False, logs["optimizer"])

    def end_phase(self, phase: int, epochs: int) -> None:
        self._save(phase, epochs, True, None)

    def _save(self, phase: int, epoch: int, done: bool, optimizer) -> None:
        st = self.state
        best_meta, best = self.keeper.saved()
        masks = {i: m for i, m in enumerate(st.masks()) if m is not None}
        meta = {"fingerprint": self.fingerprint, "phase": phase, "epoch": epoch, "done": done,
                "history": self.history, "wait": self.early.wait,
                "best": None if done else best_meta, "vars": len(st.net.variables),
                "rewind": st.rewind is not None}
        checkpoint.write(self.path, checkpoint.Saved(
            meta, [np.asarray(v.numpy()) for v in st.net.variables], masks,
            [] if done or optimizer is None else [np.asarray(v.numpy()) for v in optimizer.variables],
            [] if done else best, list(st.rewind or [])))

    def restore(self) -> Resume | None:
        """Load the checkpoint into the state and the parts; None when there is none."""
        if not self.path.exists():
            return None
        saved = checkpoint.read(self.path)
        meta = saved.meta
        if meta["fingerprint"] != self.fingerprint:
            raise RetrainError(f"{self.path}: checkpoint of a different run (method, target, "
                               "settings, start weights or data differ); delete it or pick "
                               "another checkpoint directory")
        st = self.state
        assign_arrays(st.net.variables, saved.variables)
        st.set_masks([saved.masks.get(i) for i in range(len(st.net.weights))])
        if meta["rewind"]:
            st.rewind = saved.rewind
        self.history[:] = meta["history"]
        best = meta["best"]
        self.early.restore(meta["wait"], None if best is None else best[0])
        if meta["done"]:
            return Resume(meta["phase"] + 1, 0, None)
        self.keeper.restore(best, saved.best)
        return Resume(meta["phase"], meta["epoch"], saved.optimizer)


class DropoutAdjuster(keras.callbacks.Callback):
    """Han et al.'s dropout rates: at each epoch's start every Dropout rate becomes its
    configured rate times sqrt(kept fraction) of the kernel of the weighted layer before it;
    the epoch's rates go into its row as ``dropout``."""

    def __init__(self, state: TrainState) -> None:
        super().__init__()
        self.state = state
        self.sources = dropout_sources(state.net)

    def on_epoch_begin(self, epoch, logs=None):
        net = self.state.net
        masks, index = self.state.masks(), {id(v): i for i, v in enumerate(net.weights)}
        changed = False
        for layer, rate, source in self.sources:
            m = None if source is None else masks[index[id(source)]]
            new = rate * float(np.sqrt(m.mean())) if m is not None else rate
            if new != layer.rate:
                layer.rate, changed = new, True
        if changed:
            self.state.wrapper.train_function = None  # rates are read at trace time

    def on_epoch_end(self, epoch, logs=None):
        logs["dropout"] = [layer.rate for layer, _, _ in self.sources]


def dropout_sources(model: keras.Model) -> list[tuple[keras.layers.Layer, float, object]]:
    """Each Dropout layer, its configured rate, and the kernel of the weighted layer before it
    (None when no weighted layer comes first)."""
    out, kernel = [], None
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            out.append((layer, float(layer.rate), kernel))
        elif getattr(layer, "kernel", None) is not None:
            kernel = layer.kernel
    return out
