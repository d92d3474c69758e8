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
1/n of s (one entry per threshold for layer-wise and freeze groups). Where magnitudes tie
at the threshold the rule alone would zero fewer; retraining then also prunes the missing
entries among the smallest survivors (``state.fill_ties``), so a run always reaches it.

Progress rows: ``done``/``total`` count training steps over all phases. About 20 times an
epoch a batch row ``{phase, epoch, batch, step, loss, masked}`` (``masked``: fraction of
the scope the masks hold at zero); after each epoch the history row ``{phase,
phase_index, epoch, step, loss, val_accuracy, val_loss, accuracy (= val_accuracy),
sparsity, masked, seconds}`` (plus ``dropout``, the epoch's rates, with
``Training.adjust_dropout``); when early stopping ends a run short, a last call with
``done == total``.

Modules: ``options`` (Training, RetrainResult, the loss), ``masked_model``, ``state`` (the
clone and its masks), ``components`` (best epoch, early stop, checkpoint writer, batch
progress, dropout), ``checkpoint`` (I/O and ``checkpoint_info``), ``loop`` (phases),
``plans`` (the four methods over ``pruning.schedule``), ``api`` (``retrain`` by name).

Example:
    >>> res = retrain(model, data, "masked", 0.9, Training(epochs=5))  # doctest: +SKIP
    >>> res.pruned.sparsity, res.val.accuracy, res.test.accuracy  # doctest: +SKIP
"""

from __future__ import annotations

import logging

import tensorflow as tf

from .api import limit, retrain, retrain_sweep
from .checkpoint import CHECKPOINT, CheckpointInfo, checkpoint_history, checkpoint_info
from .components import BatchProgress
from .loop import STEPS_PER_EXECUTION, Phase
from .masked_model import MaskedModel
from .options import (LR_SCHEDULES, OPTIMIZERS, RetrainError, RetrainResult, Training, loss_for,
                      soft_targets)
from .plans import default_groups, freeze_retrain, gradual_prune, iterative_prune, masked_retrain

RETRAIN_METHODS = ("freeze", "masked", "gradual", "imp")

__all__ = ["RETRAIN_METHODS", "OPTIMIZERS", "LR_SCHEDULES", "CHECKPOINT", "STEPS_PER_EXECUTION",
           "RetrainError", "RetrainResult", "Training", "MaskedModel", "BatchProgress", "Phase",
           "CheckpointInfo", "checkpoint_info", "checkpoint_history", "loss_for", "soft_targets",
           "default_groups", "freeze_retrain", "masked_retrain", "gradual_prune", "iterative_prune",
           "retrain", "retrain_sweep", "limit"]


class _NoRetraceWarning(logging.Filter):
    """Every run clones the model and traces fresh functions on purpose; TF calls that retracing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_NoRetraceWarning())
