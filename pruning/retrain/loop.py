"""The training loop: runs a plan of phases over a ``TrainState`` with its components.

Each phase compiles a fresh optimizer, trains epoch by epoch (each epoch's shuffle comes
from (seed, phase, epoch), so a resumed run sees the same batches), evaluates on val after
every epoch, keeps the best eligible epoch, stops early, checkpoints, and reports progress.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from ..data import Dataset
from ..layers import assign_arrays
from ..inputs import ensure_fitted
from ..evaluate import Evaluator
from ..masks import SCOPES, check_choice
from ..oneshot import describe
from . import checkpoint
from .components import BatchProgress, BestEpoch, CheckpointWriter, DropoutAdjuster, EarlyStop, Resume
from .options import RetrainError, RetrainResult, Training, loss_for, soft_targets
from .state import TrainState

# Train steps per compiled call in phases without per-step mask updates: the same numbers
# (bit-identical with op determinism on), a few percent less per-step overhead; callbacks,
# progress rows and Cancel then come every few steps. Gradual pruning keeps 1 (its masks
# follow the schedule step by step).
STEPS_PER_EXECUTION = 8
Progress = Callable[[int, int, dict], None]


@dataclass
class Phase:
    """One training phase: ``prepare`` (prune/rewind) runs once before its first epoch."""

    name: str
    epochs: int
    prepare: Callable[[], None] | None = None
    frozen: tuple[str, ...] = ()
    on_step: Callable[[int], None] | None = None  # after every update (per-step schedules)
    eligible: Callable[[int], bool] | None = None  # may epoch n (1-based) be picked as best?
    after_epoch: Callable[[int], None] | None = None  # runs before the epoch's checkpoint


@dataclass(frozen=True)
class Request:
    """What one run trains: the method's name, target and options (for the checkpoint's
    fingerprint), the scope and the training settings."""

    method: str
    target: float
    scope: str
    training: Training
    options: dict


class Loop:
    """Seeds, clones the model into a ``TrainState``, restores a checkpoint, runs phases.

    Args:
        request: the run (see ``Request``).
        model: architecture and start weights (never modified).
        data: needs a train split; val selects, test is reported.
        progress: ``progress(done, total, row)``, see ``pruning.retrain``.
        checkpoint_dir: where to checkpoint after every epoch (None: no checkpoints).
        teacher: the distillation teacher (default ``model``).
    """

    def __init__(self, request: Request, model: keras.Model, data: Dataset,
                 progress: Progress | None = None, checkpoint_dir: str | Path | None = None,
                 teacher: keras.Model | None = None) -> None:
        if data.train is None or len(data.train) == 0:
            raise RetrainError(f"{data.name}: retraining needs a train split (x_train/y_train)")
        check_choice(request.scope, SCOPES, "scope")
        data = ensure_fitted(data, model)  # inputs as stored -> as the model takes them
        self.t0 = time.time()
        self.request, self.data, self.progress = request, data, progress
        training = request.training
        keras.utils.set_random_seed(training.seed)
        tf.config.experimental.enable_op_determinism()
        self.state = TrainState(model, request.scope)  # dropout seeds drawn from the seed just set
        self.history: list[dict] = []
        self.keeper = BestEpoch(self.state, self.history)
        self.early = EarlyStop(training.patience)
        self.dropout = DropoutAdjuster(self.state) if training.adjust_dropout else None
        self.val_eval = Evaluator(self.state.net, data.val)
        self.targets = None if training.distill == 0 else soft_targets(
            teacher if teacher is not None else model, data.train, training.distill,
            int(self.state.net.output_shape[-1]))
        self.steps_per_epoch = -(-len(data.train) // training.batch_size)
        self.writer = None
        self.resume: Resume | None = None
        if checkpoint_dir:
            base = self.state.base
            self.writer = CheckpointWriter(checkpoint_dir, checkpoint.fingerprint(
                request.method, request.target, request.scope, training, request.options,
                base.arrays, len(data.train), len(data.val)), self.state, self.history,
                self.keeper, self.early)
            self.resume = self.writer.restore()

    @property
    def resumed(self) -> bool:
        return self.resume is not None

    def run(self, phases: Sequence[Phase]) -> None:
        """Train every phase not finished yet (a resumed run skips the finished ones)."""
        spe = self.steps_per_epoch
        total = sum(p.epochs for p in phases) * spe
        done_phases, resume_epoch = (0, 0) if self.resume is None else (
            self.resume.phases_done, self.resume.epoch)
        opt_state = None if self.resume is None else self.resume.optimizer
        before, last_done = 0, 0
        for k, phase in enumerate(phases):
            if k < done_phases:
                before += phase.epochs * spe
                continue
            start = resume_epoch if k == done_phases else 0
            if start == 0 and phase.prepare is not None:
                phase.prepare()
            last_done = self._train(k, phase, start, before, total, opt_state) or last_done
            opt_state = None
            before += phase.epochs * spe
        if self.progress is not None and self.history and last_done < total:
            self.progress(total, total, dict(self.history[-1]))  # stopped early

    def _train(self, k: int, phase: Phase, start: int, before: int, total: int,
               opt_state: list[np.ndarray] | None) -> int:
        """One phase from epoch ``start``; returns the progress count reached (0 if no epoch ran)."""
        st, t, spe = self.state, self.request.training, self.steps_per_epoch
        for layer in st.net.layers:
            if layer.weights:
                layer.trainable = layer.name not in phase.frozen
        opt = t.make_optimizer(phase.epochs * spe)
        st.wrapper.compile(optimizer=opt, loss=loss_for(st.net, soft=self.targets is not None),
                           steps_per_execution=1 if phase.on_step is not None else STEPS_PER_EXECUTION)
        opt.build(st.wrapper.trainable_variables)
        if start > 0 and opt_state is not None:
            try:
                assign_arrays(opt.variables, opt_state)
            except ValueError as e:  # another count or shape of optimizer arrays
                raise RetrainError(f"{self.writer.path}: optimizer state does not fit ({e}); "
                                   "delete the checkpoint") from None
        else:
            self.keeper.on_train_begin()
            self.early.on_train_begin()
        every = max(1, spe // 20)
        train = self.data.train
        reached = 0
        for epoch in range(start, 0 if self.early.stopped else phase.epochs):
            base = before + epoch * spe
            last = [0]  # batches done at the previous call (several steps apart per execution)

            def on_batch(b: int, step: int, loss: float, base=base, epoch=epoch, last=last) -> None:
                crossed = b // every > last[0] // every
                last[0] = b
                if self.progress is not None and crossed and b < spe:  # epoch row follows
                    self.progress(base + b, total, {
                        "phase": phase.name, "epoch": epoch + 1, "batch": b, "step": step,
                        "loss": loss, "masked": st.masked_fraction()})

            if self.dropout is not None:
                self.dropout.on_epoch_begin(epoch)
            perm = np.random.default_rng([t.seed, k, epoch]).permutation(len(train))
            y = train.y[perm] if self.targets is None else self.targets[perm]
            fit = st.wrapper.fit(train.x[perm], y, batch_size=t.batch_size, epochs=1, shuffle=False,
                                 verbose=0, callbacks=[BatchProgress(phase.on_step, on_batch)])
            val = self.val_eval.evaluate()
            row = {"phase": phase.name, "phase_index": k, "epoch": epoch + 1,
                   "step": int(opt.iterations.numpy()), "loss": float(fit.history["loss"][-1]),
                   "val_accuracy": val.accuracy, "val_loss": val.loss, "accuracy": val.accuracy,
                   "sparsity": st.sparsity(), "masked": st.masked_fraction(),
                   "seconds": round(time.time() - self.t0, 2)}
            if self.dropout is not None:
                self.dropout.on_epoch_end(epoch, row)
            self.history.append(row)
            if phase.after_epoch is not None:
                phase.after_epoch(epoch + 1)
            logs = {"val_accuracy": val.accuracy,
                    "eligible": phase.eligible is None or phase.eligible(epoch + 1)}
            self.keeper.on_epoch_end(epoch, logs)
            self.early.on_epoch_end(epoch, logs)
            if self.writer is not None:
                self.writer.on_epoch_end(epoch, {"phase": k, "optimizer": opt})
            reached = base + spe
            if self.progress is not None:
                self.progress(reached, total, dict(row))
            if self.early.stopped:
                break
        self.keeper.end_phase(k)
        if self.writer is not None:
            self.writer.end_phase(k, phase.epochs)
        return reached

    def result(self, target: float, tolerance: float = 0.0) -> RetrainResult:
        """Verify the zeros, evaluate on val and test, wrap everything up."""
        st, method, scope = self.state, self.request.method, self.request.scope
        arrays, masks = st.arrays(), st.masks()
        for name, a, m in zip(st.base.names, arrays, masks):
            if m is not None and np.any(a[~m] != 0):
                raise RetrainError(f"{name}: {int(np.count_nonzero(a[~m]))} pruned weights are "
                                   "no longer zero after training")
        pruned = describe(arrays, st.base, method, scope, target)
        if pruned.sparsity < target - tolerance - 1e-12:
            raise RetrainError(f"{method}: reached {pruned.sparsity:.6f} sparsity, below the "
                               f"target {target:.6f} ({scope})")
        val = self.val_eval.evaluate(arrays)
        test = (Evaluator(st.net, self.data.test).evaluate(arrays)
                if self.data.test is not None else None)
        return RetrainResult(
            method=method, target=target, pruned=pruned, val=val, test=test,
            history=tuple(self.history), masks=tuple(masks),
            rewind=None if st.rewind is None else tuple(st.rewind),
            epochs_run=len(self.history), seconds=time.time() - self.t0, resumed=self.resumed)
