"""Pruning with retraining: freeze-layer (seed method 3), masked-gradient (method 4),
gradual magnitude pruning (Zhu & Gupta 2017) and iterative pruning with rewinding
(lottery tickets, Frankle & Carbin 2019).

Every method trains a clone of the given model (the caller's model is never touched),
is deterministic given ``Training.seed``, reports progress as ``progress(done, total,
row)`` (the signature of ``pruning.cli.ProgressBar`` and of sweeps), checkpoints weights,
masks, optimizer state and history after every epoch when given ``checkpoint_dir`` and
resumes from there, selects on validation accuracy, reports test accuracy beside it, and
checks at the end that every pruned weight is exactly zero.

Resume is exact: the checkpoint holds every model variable (dropout RNG state included),
the masks, the optimizer's moments and step, the best-so-far weights and the history, and
each epoch's shuffle comes from (seed, phase, epoch), so an interrupted and resumed run ends
bit-identical to an uninterrupted one on the same machine (tested on CPU with TF op
determinism on). Seeding is process-global (Keras seeds, op determinism): two runs that
interleave in one process (threads) are each valid but not reproducible.

"Exact" sparsity follows the seed's percentile rule (``pruning.masks``): at target s over
n weights, ``ceil((n - 1) s)`` entries are zeroed, so the achieved sparsity lies within
1/n of s (one entry per threshold for layer-wise and freeze groups).

Progress rows: ``done``/``total`` count training steps over all phases. About 20 times an
epoch a batch row ``{phase, epoch, batch, step, loss, masked}`` (``masked``: fraction of
the scope the masks hold at zero); after each epoch the history row ``{phase,
phase_index, epoch, step, loss, val_accuracy, val_loss, accuracy (= val_accuracy),
sparsity, masked, seconds}`` (plus ``dropout``, the epoch's rates, with
``Training.adjust_dropout``); when early stopping ends a run short, a last call with
``done == total``.

Example:
    >>> res = retrain(model, data, "masked", 0.9, Training(epochs=5))  # doctest: +SKIP
    >>> res.pruned.sparsity, res.val.accuracy, res.test.accuracy  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from .data import Dataset
from .evaluate import Evaluator, Score, soft_targets, training_loss
from .inputs import ensure_fitted
from .frontier import DEFAULT_FLOOR, challenge_score
from .masks import (METHODS, SCOPES, check_choice, check_sparsity, in_scope, keep_masks, magnitude_index,
                    total_sparsity)
from .oneshot import Baseline, Pruned, describe
from .models import clone_model
from .schedule import PolynomialSchedule
from .sweep import COLUMNS

RETRAIN_METHODS = ("freeze", "masked", "gradual", "imp")
OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("constant", "cosine")
CHECKPOINT = "retrain-state.npz"
# Train steps per compiled call in phases without per-step mask updates: the same numbers
# (bit-identical with op determinism on), a few percent less per-step overhead; callbacks,
# progress rows and Cancel then come every few steps. Gradual pruning keeps 1 (its masks
# follow the schedule step by step).
STEPS_PER_EXECUTION = 8
Masks = list  # list[np.ndarray | None], one bool keep-mask per weight array (None = not pruned)
Progress = Callable[[int, int, dict], None]


class _NoRetraceWarning(logging.Filter):
    """Every run clones the model and traces fresh functions on purpose; TF calls that retracing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_NoRetraceWarning())


class RetrainError(ValueError):
    """A retraining run that cannot start, resume or finish as asked; the message says why."""


@dataclass(frozen=True)
class Training:
    """How each training phase runs.

    Args:
        epochs: epochs per phase (per stage for freeze, per round for imp); default 10.
        batch_size: default 128.
        learning_rate: default 1e-3.
        optimizer: 'adam' (default), 'adamw' (decoupled ``weight_decay``) or 'sgd' (momentum 0.9).
        weight_decay: AdamW's decay (default 0.0, ignored by the others).
        patience: stop a phase after this many epochs without a val-accuracy gain (default 5;
            None = never).
        seed: seeds Keras, NumPy, TF, dropout and the per-epoch shuffle (default 0).
        lr_schedule: 'constant' (default) or 'cosine': each phase's rate falls from
            ``learning_rate`` to 1 % of it over the phase's steps (Keras ``CosineDecay``).
        adjust_dropout: at each epoch's start, scale every Dropout rate by the square root
            of the fraction of weights the masks keep in the weighted layer before it
            (Han et al. 2015, "Learning both Weights and Connections": a pruned layer has
            less capacity to regularize); default False keeps the model's rates.
        distill: weight of a teacher's predictions in each training target (default 0.0,
            labels only): the target is ``(1 - distill) * one_hot(label) + distill *
            teacher_softmax`` (knowledge distillation at temperature 1, Hinton et al. 2015).
            The teacher is the model a method is given (see ``retrain`` for ``start``).
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    patience: int | None = 5
    seed: int = 0
    lr_schedule: str = "constant"
    adjust_dropout: bool = False
    distill: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        check_choice(self.optimizer, OPTIMIZERS, "optimizer")
        check_choice(self.lr_schedule, LR_SCHEDULES, "learning-rate schedule")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0.0 <= self.distill <= 1.0:
            raise ValueError(f"distill is a weight in [0, 1], got {self.distill}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience}")

    def make_optimizer(self, steps: int = 1) -> keras.optimizers.Optimizer:
        """A fresh optimizer for a phase of ``steps`` steps (each phase starts with empty moments)."""
        lr = self.learning_rate
        if self.lr_schedule == "cosine":
            lr = keras.optimizers.schedules.CosineDecay(lr, max(1, steps), alpha=0.01)
        if self.optimizer == "adamw":
            return keras.optimizers.AdamW(lr, weight_decay=self.weight_decay)
        if self.optimizer == "sgd":
            return keras.optimizers.SGD(lr, momentum=0.9)
        return keras.optimizers.Adam(lr)


@dataclass(frozen=True)
class RetrainResult:
    """Final weights (with sparsity accounting), val/test scores, per-epoch history."""

    method: str
    target: float
    pruned: Pruned
    val: Score
    test: Score | None
    history: tuple[dict, ...]
    masks: tuple[np.ndarray | None, ...]
    rewind: tuple[np.ndarray, ...] | None  # imp: the values survivors were rewound to
    epochs_run: int
    seconds: float
    resumed: bool

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.pruned.arrays

    def as_dict(self, floor: float = DEFAULT_FLOOR) -> dict:
        """The keys of ``Point.as_dict`` plus training facts (JSON-ready)."""
        p = self.pruned
        d = {"method": self.method, "scope": p.scope, "target": float(self.target),
             "sparsity": float(p.sparsity), "sparsity_all": float(p.sparsity_all),
             "sparsity_kernels": float(p.sparsity_kernels), "accuracy": self.val.accuracy,
             "loss": self.val.loss,
             "score": float(challenge_score(p.sparsity, self.val.accuracy, floor)),
             "nonzeros": p.nonzeros, "epochs_run": self.epochs_run,
             "seconds": round(self.seconds, 2), "resumed": self.resumed}
        if self.test is not None:
            d["test_accuracy"] = self.test.accuracy
        return d


# --- Keras glue -------------------------------------------------------------------------------

class MaskedModel(keras.Model):
    """Trains ``inner`` with pruned entries pinned at exactly zero.

    ``train_step`` multiplies every gradient by its mask before the optimizer sees it and
    re-applies the mask after the update, so neither Adam's moments, AdamW's weight decay
    nor an L2 regularizer's gradient can move a pruned weight off 0. Masks live in bool
    ``tf.Variable``s, so gradual pruning changes them between steps without retracing.

    Args:
        inner: the model to train (its variables are shared, not copied).
        prunable: per entry of ``inner.weights``, whether it gets a mask.
    """

    def __init__(self, inner: keras.Model, prunable: Sequence[bool]) -> None:
        super().__init__(name=f"masked_{inner.name}")
        self.inner = inner
        self._pins = _Pins(inner.weights, prunable)

    def call(self, x, training=None):
        return self.inner(x, training=training)

    def set_masks(self, masks: Sequence[np.ndarray | None]) -> None:
        """Install keep-masks (``inner.weights`` order) and zero the pruned entries now."""
        self._pins.assign(masks)

    def masks(self) -> list[np.ndarray | None]:
        """The current keep-masks as NumPy bool arrays."""
        return [None if m is None else m.numpy() for m in self._pins.masks]

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                     training=True)
        variables = self.trainable_variables
        grads = tape.gradient(loss, variables)
        grads = [self._pins.mask(v, g) for v, g in zip(variables, grads)]
        self.optimizer.apply_gradients(zip(grads, variables))
        self._pins.pin(variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


class _Pins:
    """Bool mask variables for the prunable weights of a model, found by variable identity."""

    def __init__(self, weights: Sequence, prunable: Sequence[bool]) -> None:
        self.weights = list(weights)
        self.masks = [tf.Variable(np.ones(tuple(v.shape), bool), trainable=False) if p else None
                      for v, p in zip(self.weights, prunable)]
        self._by_id = {id(v): m for v, m in zip(self.weights, self.masks) if m is not None}

    def assign(self, masks: Sequence[np.ndarray | None]) -> None:
        for v, m, new in zip(self.weights, self.masks, masks):
            if m is None:
                if new is not None and not np.all(new):
                    raise RetrainError(f"{v.path}: has no mask slot (outside the pruning scope)")
                continue
            keep = np.ones(m.shape, bool) if new is None else np.asarray(new, bool)
            m.assign(keep)
            v.assign(np.where(keep, v.numpy(), np.zeros((), v.dtype)))

    def mask(self, v, g):
        m = self._by_id.get(id(v))
        return g if m is None or g is None else tf.where(m, g, tf.zeros_like(g))

    def pin(self, variables) -> None:
        for v in variables:
            m = self._by_id.get(id(v))
            if m is not None:
                v.assign(tf.where(m, v, tf.zeros_like(v)))


class _BatchHook(keras.callbacks.Callback):
    """Per-batch progress and the gradual-pruning mask updates (``on_step(step)``)."""

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


# --- one run: phases, checkpoints, history ----------------------------------------------------

@dataclass
class _Phase:
    """One training phase: ``prepare`` (prune/rewind) runs once before its first epoch."""

    name: str
    epochs: int
    prepare: Callable[[], None] | None = None
    frozen: tuple[str, ...] = ()
    on_step: Callable[[int], None] | None = None
    eligible: Callable[[int], bool] | None = None  # may epoch n (1-based) be picked as best?
    after_epoch: Callable[[int], None] | None = None  # runs before the epoch's checkpoint


class _Run:
    """A clone of the model, its masks, and the epoch loop with checkpoint/resume."""

    def __init__(self, method: str, model: keras.Model, data: Dataset, target: float,
                 scope: str, training: Training, options: dict, progress: Progress | None,
                 checkpoint_dir: str | Path | None, teacher: keras.Model | None = None) -> None:
        if data.train is None or len(data.train) == 0:
            raise RetrainError(f"{data.name}: retraining needs a train split (x_train/y_train)")
        check_choice(scope, SCOPES, "scope")
        data = ensure_fitted(data, model)  # inputs as stored -> as the model takes them
        self.t0 = time.time()
        self.method, self.data, self.target, self.scope = method, data, target, scope
        self.training, self.progress = training, progress
        keras.utils.set_random_seed(training.seed)
        tf.config.experimental.enable_op_determinism()
        self.net = clone_model(model)  # dropout seeds drawn from the seed just set
        self.base = Baseline.from_model(self.net)
        if len(self.base.arrays) != len(self.net.weights):
            raise RetrainError("model weights and weight names disagree; unsupported model")
        self.kinds = self.base.kinds
        self.prunable = in_scope(self.kinds, scope)
        self.wrapper = MaskedModel(self.net, self.prunable)
        self._dropouts = _dropout_sources(self.net)
        self.val_eval = Evaluator(self.net, data.val)
        self._targets = None if training.distill == 0 else _soft_targets(
            teacher if teacher is not None else model, data.train, training.distill,
            int(self.net.output_shape[-1]))
        self.rewind: list[np.ndarray] | None = None
        self.history: list[dict] = []
        self.resumed = False
        self._ckpt = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir else None
        self._fingerprint = self._make_fingerprint(options)
        self._done_phases = 0
        self._resume_epoch = 0
        self._best: tuple[float, int, list[np.ndarray]] | None = None
        self._wait = 0
        self._opt_state: list[np.ndarray] | None = None
        self._steps_per_epoch = -(-len(data.train) // training.batch_size)
        self._total = 0
        self._done_before = 0
        self._last_done = 0
        self._restore()

    # checkpointing
    def _make_fingerprint(self, options: dict) -> dict:
        crc = 0
        for a in self.base.arrays:
            crc = zlib.crc32(np.ascontiguousarray(a).tobytes(), crc)
        return {"method": self.method, "target": self.target, "scope": self.scope,
                "training": asdict(self.training), "options": json.loads(json.dumps(options, default=str)),
                "weights_crc32": crc, "shapes": [list(a.shape) for a in self.base.arrays],
                "train": len(self.data.train), "val": len(self.data.val)}

    def _save(self, phase: int, epoch: int, done: bool) -> None:
        if self._ckpt is None:
            return
        arrays: dict[str, np.ndarray] = {}
        for i, v in enumerate(self.net.variables):
            arrays[f"var/{i}"] = np.asarray(v.numpy())
        for i, m in enumerate(self.wrapper.masks()):
            if m is not None:
                arrays[f"mask/{i}"] = m
        if not done and self.wrapper.optimizer is not None:
            for i, v in enumerate(self.wrapper.optimizer.variables):
                arrays[f"opt/{i}"] = np.asarray(v.numpy())
        if self._best is not None and not done:
            for i, a in enumerate(self._best[2]):
                arrays[f"best/{i}"] = a
        for i, a in enumerate(self.rewind or []):
            arrays[f"rewind/{i}"] = a
        meta = {"fingerprint": self._fingerprint, "phase": phase, "epoch": epoch, "done": done,
                "history": self.history, "wait": self._wait,
                "best": None if self._best is None or done else list(self._best[:2]),
                "vars": len(self.net.variables), "rewind": self.rewind is not None}
        arrays["meta"] = np.array(json.dumps(meta))
        self._ckpt.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=self._ckpt.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._ckpt)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _restore(self) -> None:
        if self._ckpt is None or not self._ckpt.exists():
            return
        try:
            with np.load(self._ckpt, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except Exception as e:
            raise RetrainError(f"{self._ckpt}: unreadable checkpoint ({e}); delete it to start over") from None
        if meta["fingerprint"] != self._fingerprint:
            raise RetrainError(f"{self._ckpt}: checkpoint of a different run (method, target, "
                               "settings, start weights or data differ); delete it or pick "
                               "another checkpoint directory")
        for i, v in enumerate(self.net.variables):
            v.assign(arrays[f"var/{i}"])
        self.wrapper.set_masks([arrays.get(f"mask/{i}") for i in range(len(self.net.weights))])
        if meta["rewind"]:
            self.rewind = [arrays[f"rewind/{i}"] for i in range(len(self.base.arrays))]
        self.history = meta["history"]
        self._wait = meta["wait"]
        if meta["done"]:
            self._done_phases, self._resume_epoch = meta["phase"] + 1, 0
        else:
            self._done_phases, self._resume_epoch = meta["phase"], meta["epoch"]
            n_opt = sum(1 for k in arrays if k.startswith("opt/"))
            self._opt_state = [arrays[f"opt/{i}"] for i in range(n_opt)]
            if meta["best"] is not None:
                self._best = (meta["best"][0], meta["best"][1],
                              [arrays[f"best/{i}"] for i in range(len(self.base.arrays))])
        self.resumed = True

    # weights and masks
    def arrays(self) -> list[np.ndarray]:
        return [np.asarray(v.numpy()) for v in self.net.weights]

    def set_arrays(self, arrays: Sequence[np.ndarray]) -> None:
        for v, a in zip(self.net.weights, arrays):
            v.assign(a)

    def masks(self) -> list[np.ndarray | None]:
        return self.wrapper.masks()

    def prune_to(self, sparsity: float, method: str = "global",
                 only: Sequence[bool] | None = None) -> None:
        """Magnitude-prune the current weights (AND the current masks) and install the masks.

        ``only`` restricts the threshold to some in-scope arrays (freeze groups).
        """
        sel = [p and (only is None or o) for p, o in zip(self.prunable, only or self.prunable)]
        arrays = self.arrays()
        kinds = [k if s else "other" for k, s in zip(self.kinds, sel)]
        new = keep_masks(magnitude_index(arrays, kinds, "all"), method, sparsity)
        self.wrapper.set_masks([old if n is None else (n if old is None else old & n)
                                for old, n in zip(self.masks(), new)])

    def sparsity(self) -> float:
        return total_sparsity(self.arrays(), self.kinds, self.scope)

    def adjust_dropout(self) -> None:
        """Han et al.'s dropout rates for the current masks; retraces training when they change."""
        masks, index = self.masks(), {id(v): i for i, v in enumerate(self.net.weights)}
        changed = False
        for layer, rate, source in self._dropouts:
            m = None if source is None else masks[index[id(source)]]
            new = rate * float(np.sqrt(m.mean())) if m is not None else rate
            if new != layer.rate:
                layer.rate, changed = new, True
        if changed:
            self.wrapper.train_function = None  # rates are read at trace time

    def masked_fraction(self) -> float:
        """Fraction of the scope's entries the masks hold at zero (cheap: reads masks only)."""
        sel = [m for m in self.masks() if m is not None]
        return sum(m.size - int(m.sum()) for m in sel) / sum(m.size for m in sel)

    # the loop
    def plan(self, phases: Sequence[_Phase]) -> None:
        self._total = sum(p.epochs for p in phases) * self._steps_per_epoch

    def run(self, phases: Sequence[_Phase]) -> None:
        self.plan(phases)
        for k, phase in enumerate(phases):
            if k < self._done_phases:
                self._done_before += phase.epochs * self._steps_per_epoch
                continue
            start = self._resume_epoch if k == self._done_phases else 0
            if start == 0 and phase.prepare is not None:
                phase.prepare()
            self._train(k, phase, start)
            self._done_before += phase.epochs * self._steps_per_epoch
        if self.progress is not None and self.history and self._last_done < self._total:
            self.progress(self._total, self._total, dict(self.history[-1]))  # stopped early

    def _train(self, k: int, phase: _Phase, start: int) -> None:
        for layer in self.net.layers:
            if layer.weights:
                layer.trainable = layer.name not in phase.frozen
        opt = self.training.make_optimizer(phase.epochs * self._steps_per_epoch)
        self.wrapper.compile(optimizer=opt, loss=training_loss(self.val_eval.output_kind,
                                                               self._targets is not None),
                             steps_per_execution=1 if phase.on_step is not None else STEPS_PER_EXECUTION)
        opt.build(self.wrapper.trainable_variables)
        if start > 0 and self._opt_state is not None:
            if len(self._opt_state) != len(opt.variables):
                raise RetrainError(f"{self._ckpt}: optimizer state does not fit; delete the checkpoint")
            for v, a in zip(opt.variables, self._opt_state):
                v.assign(a)
        else:
            self._best, self._wait = None, 0
        self._opt_state = None
        spe, t = self._steps_per_epoch, self.training
        every = max(1, spe // 20)
        train = self.data.train
        stopped = t.patience is not None and self._wait >= t.patience  # resumed after the stop
        for epoch in range(start, 0 if stopped else phase.epochs):
            base = self._done_before + epoch * spe

            last = [0]  # batches done at the previous call (several steps apart per execution)

            def on_batch(b: int, step: int, loss: float, base=base, epoch=epoch, last=last) -> None:
                crossed = b // every > last[0] // every
                last[0] = b
                if self.progress is not None and crossed and b < spe:  # epoch row follows
                    self.progress(base + b, self._total, {
                        "phase": phase.name, "epoch": epoch + 1, "batch": b, "step": step,
                        "loss": loss, "masked": self.masked_fraction()})

            if t.adjust_dropout:
                self.adjust_dropout()
            perm = np.random.default_rng([t.seed, k, epoch]).permutation(len(train))
            hook = _BatchHook(phase.on_step, on_batch)
            y = train.y[perm] if self._targets is None else self._targets[perm]
            fit = self.wrapper.fit(train.x[perm], y, batch_size=t.batch_size, epochs=1,
                                   shuffle=False, verbose=0, callbacks=[hook])
            val = self.val_eval.evaluate()
            row = {"phase": phase.name, "phase_index": k, "epoch": epoch + 1,
                   "step": int(opt.iterations.numpy()), "loss": float(fit.history["loss"][-1]),
                   "val_accuracy": val.accuracy, "val_loss": val.loss, "accuracy": val.accuracy,
                   "sparsity": self.sparsity(), "masked": self.masked_fraction(),
                   "seconds": round(time.time() - self.t0, 2)}
            if t.adjust_dropout:
                row["dropout"] = [layer.rate for layer, _, _ in self._dropouts]
            self.history.append(row)
            if phase.after_epoch is not None:
                phase.after_epoch(epoch + 1)
            if phase.eligible is None or phase.eligible(epoch + 1):
                if self._best is None or val.accuracy > self._best[0]:
                    self._best, self._wait = (val.accuracy, epoch + 1, self.arrays()), 0
                else:
                    self._wait += 1
            self._save(k, epoch + 1, done=False)
            self._last_done = base + spe
            if self.progress is not None:
                self.progress(base + spe, self._total, dict(row))
            if t.patience is not None and self._wait >= t.patience:
                break
        if self._best is not None:
            self.set_arrays(self._best[2])
            for row in self.history:
                if row.get("phase_index") == k:
                    row["best"] = row["epoch"] == self._best[1]
        self._save(k, phase.epochs, done=True)
        self._best = None

    def result(self, masks: Sequence[np.ndarray | None] | None = None,
               tolerance: float = 0.0) -> RetrainResult:
        """Verify the zeros, evaluate on val and test, wrap everything up."""
        arrays = self.arrays()
        masks = list(self.masks() if masks is None else masks)
        for name, a, m in zip(self.base.names, arrays, masks):
            if m is not None and np.any(a[~m] != 0):
                raise RetrainError(f"{name}: {int(np.count_nonzero(a[~m]))} pruned weights are "
                                   "no longer zero after training")
        pruned = describe(arrays, self.base, self.method, self.scope, self.target)
        if pruned.sparsity < self.target - tolerance - 1e-12:
            raise RetrainError(f"{self.method}: reached {pruned.sparsity:.6f} sparsity, below the "
                               f"target {self.target:.6f} ({self.scope})")
        val = self.val_eval.evaluate(arrays)
        test = (Evaluator(self.net, self.data.test).evaluate(arrays)
                if self.data.test is not None else None)
        return RetrainResult(
            method=self.method, target=self.target, pruned=pruned, val=val, test=test,
            history=tuple(self.history), masks=tuple(masks),
            rewind=None if self.rewind is None else tuple(self.rewind),
            epochs_run=len(self.history), seconds=time.time() - self.t0, resumed=self.resumed)


def _soft_targets(teacher: keras.Model, train, weight: float, classes: int) -> np.ndarray:
    """Distillation targets: labels blended with the teacher's class probabilities, shaped
    for the student's output kind (see ``evaluate.soft_targets``)."""
    ev = Evaluator(teacher, train)
    probs = ev.probabilities()
    if probs.shape != (len(train), max(classes, 2)):
        raise RetrainError(f"the teacher predicts {probs.shape[-1]} classes, the model {classes}")
    return soft_targets(probs, train.y, weight, ev.output_kind)


def _dropout_sources(model: keras.Model) -> list[tuple[keras.layers.Layer, float, object]]:
    """Each Dropout layer, its configured rate, and the kernel of the weighted layer before it
    (None when no weighted layer comes first)."""
    out, kernel = [], None
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            out.append((layer, float(layer.rate), kernel))
        elif getattr(layer, "kernel", None) is not None:
            kernel = layer.kernel
    return out


def _rule_tolerance(run: _Run, groups: int = 1, method: str = "global") -> float:
    """How far the percentile rule may land below a target: < one entry per threshold."""
    sizes = [a.size for a, p in zip(run.base.arrays, run.prunable) if p]
    n = sum(sizes)
    if method == "layerwise":
        return len(sizes) / n
    return groups / n


# --- the four methods ------------------------------------------------------------------------

def default_groups(model: keras.Model) -> list[tuple[str, ...]]:
    """Freeze groups: the largest weighted layer, then every other one but the classifier.

    For the seed's stack: ``[("dense",), ("conv2d", "conv2d_1", "conv2d_2", "conv2d_3")]``.
    """
    weighted = [layer for layer in model.layers if layer.weights]
    if len(weighted) < 2:
        raise RetrainError("freeze needs at least two weighted layers (one to freeze, one to retrain)")
    body = weighted[:-1]
    big = max(body, key=lambda layer: sum(int(np.prod(v.shape)) for v in layer.weights))
    rest = tuple(layer.name for layer in body if layer is not big)
    return [(big.name,)] + ([rest] if rest else [])


def freeze_retrain(model: keras.Model, data: Dataset, sparsity: float,
                   groups: Sequence[Sequence[str]] | None = None,
                   group_sparsity: Sequence[float] | None = None, scope: str = "all",
                   training: Training = Training(), progress: Progress | None = None,
                   checkpoint_dir: str | Path | None = None,
                   teacher: keras.Model | None = None) -> RetrainResult:
    """Seed method 3: prune a layer group by a global threshold, freeze it, retrain the rest.

    Stage k prunes group k (one threshold over the group's arrays), marks its layers
    non-trainable, so their values (and zeros) stay bit-identical, and retrains the layers
    not yet frozen; sparsity steps up stage by stage.

    Args:
        sparsity: overall target (fraction of the ``scope``'s entries).
        groups: layer names per stage (default ``default_groups``: Dense(512), then the convs).
        group_sparsity: per-stage fraction pruned in its group (default: the same fraction
            p for every group, chosen so that the whole model reaches ``sparsity``).

    Raises:
        RetrainError: the groups are too small to reach ``sparsity`` or name unknown layers.
    """
    target = check_sparsity(sparsity)
    groups = [tuple(g) for g in (groups or default_groups(model))]
    names = {layer.name for layer in model.layers}
    unknown = sorted({n for g in groups for n in g} - names)
    if unknown:
        raise RetrainError(f"unknown layers in groups: {unknown}; the model has {sorted(names)}")
    opts = {"groups": groups, "group_sparsity": list(group_sparsity or [])}
    run = _Run("freeze", model, data, target, scope, training, opts, progress, checkpoint_dir, teacher)
    owner = [n.split("/")[0] for n in run.base.names]
    member = [[o in g and p for o, p in zip(owner, run.prunable)] for g in groups]
    sizes = [sum(a.size for a, m in zip(run.base.arrays, mem) if m) for mem in member]
    n_all = sum(a.size for a, p in zip(run.base.arrays, run.prunable) if p)
    if group_sparsity is None:
        p = target * n_all / max(sum(sizes), 1)
        if p > 1:
            raise RetrainError(f"the groups hold {sum(sizes) / n_all:.1%} of the weights, so "
                               f"freeze can reach at most that; target {target:.1%}. Add layers "
                               "to the groups or lower the target")
        fractions = [p] * len(groups)
    else:
        if len(group_sparsity) != len(groups):
            raise RetrainError(f"{len(group_sparsity)} group sparsities for {len(groups)} groups")
        fractions = [check_sparsity(s) for s in group_sparsity]
        target = sum(f * s for f, s in zip(fractions, sizes)) / n_all
        run.target = target

    def stage(k: int) -> Callable[[], None]:
        return lambda: run.prune_to(fractions[k], "global", member[k])

    phases = [_Phase(f"stage {k + 1}", training.epochs, stage(k),
                     frozen=tuple(n for g in groups[:k + 1] for n in g))
              for k in range(len(groups))]
    run.run(phases)
    return run.result(tolerance=_rule_tolerance(run, len(groups)))


def masked_retrain(model: keras.Model, data: Dataset, sparsity: float | None = None,
                   method: str = "global", scope: str = "all", training: Training = Training(),
                   progress: Progress | None = None,
                   checkpoint_dir: str | Path | None = None,
                   teacher: keras.Model | None = None) -> RetrainResult:
    """Seed method 4: retrain every weight while the zeros of a pruned model stay zero.

    Masks are ``w != 0`` of the given (pruned) weights; with ``sparsity`` set, the weights
    are first magnitude-pruned (``method``, one-shot) up to that level, so a dense model
    gives method 1 or 2 followed by masked retraining.
    """
    check_choice(method, METHODS, "method")
    start_zero = None if sparsity is None else check_sparsity(sparsity)
    run = _Run("masked", model, data, 0.0, scope, training, {"sparsity": sparsity, "method": method},
               progress, checkpoint_dir, teacher)

    def prepare() -> None:
        arrays = run.arrays()
        run.wrapper.set_masks([a != 0 if p else None for a, p in zip(arrays, run.prunable)])
        if start_zero is not None:
            run.prune_to(start_zero, method)

    if not run.resumed:
        prepare()
    sel = [m for m in run.masks() if m is not None]
    held = sum(m.size - int(m.sum()) for m in sel) / sum(m.size for m in sel)
    run.target = held if start_zero is None else start_zero
    run.run([_Phase("masked", training.epochs)])
    return run.result(tolerance=max(0.0, run.target - held))


def gradual_prune(model: keras.Model, data: Dataset, sparsity: float, initial: float = 0.0,
                  begin_step: int = 0, end_step: int | None = None, frequency: int | None = None,
                  method: str = "global", scope: str = "all", training: Training = Training(),
                  progress: Progress | None = None,
                  checkpoint_dir: str | Path | None = None,
                  teacher: keras.Model | None = None) -> RetrainResult:
    """Gradual magnitude pruning: masks follow ``PolynomialSchedule`` during training.

    On each pruning step the current weights are magnitude-pruned (``method`` 'global' or
    'layerwise', via ``pruning.masks``) to the schedule's level, never un-pruning; masks
    hold on every update in between. Only epochs that end at the final sparsity compete
    for the best-val checkpoint (and count towards early stopping).

    Args:
        end_step: step reaching ``sparsity`` (default: 2/3 of all training steps).
        frequency: steps between mask updates (default: a quarter epoch).
    """
    check_choice(method, METHODS, "method")
    target = check_sparsity(sparsity)
    spe = -(-len(data.train) // training.batch_size) if data.train is not None else 1
    total = training.epochs * spe
    end = max(begin_step, (2 * total) // 3) if end_step is None else end_step
    sched = PolynomialSchedule(final=target, end_step=end, initial=initial, begin_step=begin_step,
                               frequency=max(1, spe // 4) if frequency is None else frequency)
    if sched.end_step > total:
        raise RetrainError(f"end_step {sched.end_step} is after the last training step {total} "
                           f"({training.epochs} epochs x {spe} steps); the target would never be reached")
    opts = {"schedule": asdict(sched), "method": method}
    run = _Run("gradual", model, data, target, scope, training, opts, progress, checkpoint_dir, teacher)

    def on_step(step: int) -> None:
        if sched.is_pruning_step(step):
            run.prune_to(sched(step), method)

    def eligible(epoch: int) -> bool:
        return int(run.wrapper.optimizer.iterations.numpy()) >= sched.end_step

    run.run([_Phase("gradual", training.epochs, on_step=on_step, eligible=eligible)])
    return run.result(tolerance=_rule_tolerance(run, method=method))


def iterative_prune(model: keras.Model, data: Dataset, sparsity: float, rounds: int = 3,
                    rewind_epoch: int | None = None, final_epochs: int | None = None,
                    method: str = "global", scope: str = "all", training: Training = Training(),
                    progress: Progress | None = None,
                    checkpoint_dir: str | Path | None = None,
                    teacher: keras.Model | None = None) -> RetrainResult:
    """Iterative magnitude pruning with rewinding (lottery tickets).

    Each of ``rounds`` rounds prunes the same fraction p of the remaining weights
    (``1 - (1 - p) ** rounds = sparsity``) by magnitude of the trained weights, rewinds the
    survivors to the rewind point, and retrains with the mask held.

    Args:
        rewind_epoch: None rewinds to the given (dense) weights; an int first trains the
            dense model ``training.epochs`` epochs and rewinds to its weights after that
            many epochs (0 = the given weights, "late rewinding" for > 0).
        final_epochs: epochs of the last retraining (default ``training.epochs``).
    """
    check_choice(method, METHODS, "method")
    target = check_sparsity(sparsity)
    if rounds < 1:
        raise RetrainError(f"rounds must be >= 1, got {rounds}")
    if rewind_epoch is not None and not 0 <= rewind_epoch <= training.epochs:
        raise RetrainError(f"rewind_epoch must be in 0..{training.epochs} (the dense phase), "
                           f"got {rewind_epoch}")
    opts = {"rounds": rounds, "rewind_epoch": rewind_epoch, "final_epochs": final_epochs,
            "method": method}
    run = _Run("imp", model, data, target, scope, training, opts, progress, checkpoint_dir, teacher)
    levels = [1 - (1 - target) ** ((r + 1) / rounds) for r in range(rounds)]
    levels[-1] = target

    def keep_rewind_point() -> None:
        run.rewind = [np.array(a, copy=True) for a in run.arrays()]

    def prune_and_rewind(level: float) -> Callable[[], None]:
        def go() -> None:
            run.prune_to(level, method)
            run.set_arrays([a if m is None else np.where(m, a, np.zeros((), a.dtype))
                            for a, m in zip(run.rewind, run.masks())])
        return go

    phases = []
    if rewind_epoch is None:
        if not run.resumed:
            keep_rewind_point()
    else:
        def snapshot(epoch: int) -> None:
            if epoch == rewind_epoch:
                keep_rewind_point()

        phases.append(_Phase("dense", training.epochs,
                             prepare=keep_rewind_point if rewind_epoch == 0 else None,
                             eligible=lambda epoch: epoch >= rewind_epoch, after_epoch=snapshot))
    for r, level in enumerate(levels):
        epochs = training.epochs if r < rounds - 1 else (
            training.epochs if final_epochs is None else final_epochs)
        phases.append(_Phase(f"round {r + 1}", epochs, prune_and_rewind(level)))
    run.run(phases)
    return run.result(tolerance=_rule_tolerance(run, method=method))


def retrain(model: keras.Model, data: Dataset, method: str, sparsity: float | None,
            training: Training = Training(), scope: str = "all", progress: Progress | None = None,
            checkpoint_dir: str | Path | None = None,
            start: Pruned | Sequence[np.ndarray] | None = None, **options) -> RetrainResult:
    """Run one retraining method by name ('freeze', 'masked', 'gradual', 'imp').

    Args:
        model: architecture and, unless ``start`` is given, the starting weights (a
            Workbench's model holds whatever was evaluated last: pass ``start``).
        sparsity: target fraction; may be None for 'masked' (keep the start's zeros).
        start: starting weights in ``model.weights`` order, e.g. a one-shot ``Pruned``
            (M1/M2 output) or the ``arrays`` of an earlier ``RetrainResult``.
        options: passed to the method (``groups=`` for freeze, ``rounds=`` for imp, ...;
            ``teacher=`` for ``Training.distill``, by default ``model`` with the weights it
            holds when called, i.e. before ``start`` is put in).

    Example:
        >>> res = retrain(wb.model, wb.data, "masked", None, Training(epochs=5),
        ...               start=wb.prune("global", 0.9))  # doctest: +SKIP
    """
    check_choice(method, RETRAIN_METHODS, "retrain method")
    fn = {"freeze": freeze_retrain, "masked": masked_retrain, "gradual": gradual_prune,
          "imp": iterative_prune}[method]
    if sparsity is None and method != "masked":
        raise RetrainError(f"{method} needs a target sparsity")
    if start is not None:
        if options.get("teacher") is None:
            options["teacher"] = model
        arrays = start.arrays if isinstance(start, Pruned) else list(start)
        if len(arrays) != len(model.weights) or any(
                tuple(a.shape) != tuple(v.shape) for a, v in zip(arrays, model.weights)):
            raise RetrainError("start weights do not fit the model (count or shapes differ)")
        model = clone_model(model)
        for v, a in zip(model.weights, arrays):
            v.assign(a)
    return fn(model, data, sparsity, scope=scope, training=training, progress=progress,
              checkpoint_dir=checkpoint_dir, **options)


def retrain_sweep(model: keras.Model, data: Dataset, method: str, grid: Sequence[float],
                  training: Training = Training(), scope: str = "all",
                  floor: float = DEFAULT_FLOOR, progress: Progress | None = None,
                  with_test: bool = False, checkpoint_dir: str | Path | None = None,
                  start: Pruned | Sequence[np.ndarray] | None = None, **options) -> pd.DataFrame:
    """One retraining run per level of ``grid``, each from the same start; one row each.

    Same columns as ``pruning.sweep.sweep``; ``progress(i, n, row)`` after each level;
    ``start`` as in ``retrain`` (default: the model's current weights).
    """
    rows = []
    for i, s in enumerate(grid):
        sub = None if checkpoint_dir is None else Path(checkpoint_dir) / f"level-{s:.6f}"
        res = retrain(model, data, method, s, training, scope, None, sub, start, **options)
        row = {"method": method, "scope": scope, "target": float(s), "sparsity": res.pruned.sparsity,
               "accuracy": res.val.accuracy, "loss": res.val.loss,
               "score": challenge_score(res.pruned.sparsity, res.val.accuracy, floor)}
        if with_test and res.test is not None:
            row["test_accuracy"] = res.test.accuracy
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(grid), row)
    return pd.DataFrame(rows, columns=COLUMNS + (["test_accuracy"] if with_test else []))


def limit(data: Dataset, train: int | None = None, val: int | None = None,
          test: int | None = None) -> Dataset:
    """The dataset cut to its first n train / val / test samples (None keeps a split whole)."""
    return replace(data, train=None if data.train is None else data.train.head(train),
                   val=data.val.head(val), test=None if data.test is None else data.test.head(test))
