"""What a retraining run is asked for and what it gives back: ``Training`` (how each phase
trains), ``RetrainResult``, ``RetrainError``, and what the model is trained to minimize
(``loss_for``, ``soft_targets``: the one place that knows the model's output kind)."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from ..evaluate import Evaluator, Score, training_loss
from ..evaluate import soft_targets as blend_targets
from ..frontier import DEFAULT_FLOOR, challenge_score
from ..masks import check_choice
from ..modelinfo import detect_output
from ..oneshot import Pruned

OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("constant", "cosine")


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


def loss_for(model: keras.Model, soft: bool = False) -> keras.losses.Loss:
    """The training loss every retraining phase compiles (the one place that chooses it): the
    loss that matches the model's output kind (softmax, logits, one sigmoid unit), on integer
    labels or on ``soft`` (distillation) targets."""
    return training_loss(detect_output(model)[0], soft)


def soft_targets(teacher: keras.Model, train, weight: float, classes: int) -> np.ndarray:
    """Distillation targets: labels blended with the teacher's class probabilities, shaped
    for the student's output kind (see ``evaluate.soft_targets``)."""
    ev = Evaluator(teacher, train)
    probs = ev.probabilities()
    if probs.shape != (len(train), max(classes, 2)):
        raise RetrainError(f"the teacher predicts {probs.shape[-1]} classes, the model {classes}")
    return blend_targets(probs, train.y, weight, ev.output_kind)


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
