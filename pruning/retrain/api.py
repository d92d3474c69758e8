"""Retraining by method name: ``retrain`` (one run), ``retrain_sweep`` (one run per level), ``limit``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import pandas as pd

from ..data import Dataset
from ..frontier import DEFAULT_FLOOR
from ..layers import assign_arrays
from ..masks import check_choice
from ..oneshot import Pruned
from ..models import clone_model
from .loop import Progress
from .options import RetrainError, RetrainResult, Training
from .plans import freeze_retrain, gradual_prune, iterative_prune, masked_retrain

PLANS = {"freeze": freeze_retrain, "masked": masked_retrain, "gradual": gradual_prune,
         "imp": iterative_prune}


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
    check_choice(method, tuple(PLANS), "retrain method")
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
        assign_arrays(model.weights, arrays)
    return PLANS[method](model, data, sparsity, scope=scope, training=training, progress=progress,
                         checkpoint_dir=checkpoint_dir, **options)


def retrain_sweep(model: keras.Model, data: Dataset, method: str, grid: Sequence[float],
                  training: Training = Training(), scope: str = "all",
                  floor: float = DEFAULT_FLOOR, progress: Progress | None = None,
                  with_test: bool = False, checkpoint_dir: str | Path | None = None,
                  start: Pruned | Sequence[np.ndarray] | None = None, **options) -> pd.DataFrame:
    """One retraining run per level of ``grid``, each from the same start; one row each.

    Same columns as ``pruning.sweep.sweep``; ``progress(i, n, row)`` after each level;
    ``start`` as in ``retrain`` (default: the model's current weights). This is
    ``pruning.runs.sweep`` without a result store.
    """
    from .. import runs

    teacher = options.pop("teacher", None)
    arrays = None if start is None else (start.arrays if isinstance(start, Pruned) else list(start))
    request = runs.RunRequest(method, grid[0] if len(grid) else None, scope, training, options)
    return runs.sweep(request, grid, model, data, start=arrays, teacher=teacher, progress=progress,
                      checkpoint_dir=checkpoint_dir, floor=floor, with_test=with_test)


def limit(data: Dataset, train: int | None = None, val: int | None = None,
          test: int | None = None) -> Dataset:
    """The dataset cut to its first n train / val / test samples (None keeps a split whole)."""
    return replace(data, train=None if data.train is None else data.train.head(train),
                   val=data.val.head(val), test=None if data.test is None else data.test.head(test))
