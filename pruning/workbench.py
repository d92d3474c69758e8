"""A model + data + evaluators bundle: what the CLI and each dashboard session work on.

A Workbench owns its Keras model (never share one across sessions or threads: evaluating
writes pruned weights into its variables); the dense ``Baseline`` it holds is read-only
and may be shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import pandas as pd

from .data import Dataset, load_data
from .evaluate import Evaluator, Score
from .export import Sizes, export_bytes, model_sizes
from .frontier import DEFAULT_FLOOR, challenge_score
from .masks import in_scope
from .inputs import Fit, fit_inputs
from .modelinfo import describe_model, model_classes
from .oneshot import Baseline, OneShotPruner, Pruned
from .models import ModelError, load_model
from .rows import Progress
from .sweep import sweep


@dataclass(frozen=True)
class Point:
    """One pruned model, evaluated: the numbers the dashboard and ``prune`` report."""

    pruned: Pruned
    val: Score
    test: Score | None
    score: float

    def as_dict(self) -> dict:
        p = self.pruned
        d = {"method": p.method, "scope": p.scope, "target": p.target, "sparsity": p.sparsity,
             "sparsity_all": p.sparsity_all, "sparsity_kernels": p.sparsity_kernels,
             "sparsity_model": p.sparsity_model,
             "accuracy": self.val.accuracy, "loss": self.val.loss, "score": self.score,
             "nonzeros": p.nonzeros}
        if self.test is not None:
            d["test_accuracy"] = self.test.accuracy
        return d


class Workbench:
    """Prune, evaluate, sweep and export one model on one dataset.

    Args:
        model: a Keras model holding the dense weights (owned by this workbench).
        data: the dataset; val is used for every decision, test only reported.
        val_limit / test_limit: evaluate on the first n samples only (tests, previews).
        batch_size: forward batch size.
        input_scale: how stored inputs are scaled for the model (``pruning.inputs``; 'auto'
            explains its pick in ``self.fit.reason``).
        prune_embeddings: count Embedding tables as prunable kernels (off by default).
    """

    def __init__(self, model: keras.Model, data: Dataset, val_limit: int | None = None,
                 test_limit: int | None = None, batch_size: int = 1000,
                 baseline: Baseline | None = None, input_scale: str = "auto",
                 prune_embeddings: bool = False) -> None:
        self.info = describe_model(model, prune_embeddings)
        if data.input_scale is not None:  # prepared before (a workbench over a workbench's data)
            self.fit = Fit(data, data.input_scale, "prepared before", data.input_scale)
        else:
            self.fit = fit_inputs(data, self.info, input_scale)
        data = self.fit.data
        classes = self.info.num_classes
        if classes < data.num_classes:
            raise ModelError(f"the model predicts {classes} classes but the labels go up to "
                             f"{data.num_classes - 1}; pick data and model that match")
        self.model = model
        self.data = data
        self.baseline = baseline or Baseline.from_model(model, prune_embeddings)
        self.pruner = OneShotPruner(self.baseline)
        kind = self.info.output_kind
        self.val = Evaluator(model, data.val.head(val_limit), batch_size, output_kind=kind)
        self.test = (Evaluator(model, data.test.head(test_limit), batch_size, output_kind=kind)
                     if data.test is not None else None)
        self._dense: dict[str, Score | None] | None = None
        self._twins: dict[str, Evaluator] = {}

    @classmethod
    def open(cls, model_path: str | Path | None = None, preset: str = "fashion-mnist",
             data: str | Path | Dataset = "fashion-mnist", **kwargs) -> "Workbench":
        """Load a model (bundled demo when ``model_path`` is None) and a dataset by name/path."""
        model = load_model(model_path, preset)
        ds = data if isinstance(data, Dataset) else load_data(data, model_classes(model))
        return cls(model, ds, **kwargs)

    def val_evaluator(self, precision: str = "float32") -> Evaluator:
        """The val evaluator computing in ``precision`` ('float32' is ``self.val``; others are
        built on first use over the same images and kept)."""
        if precision == "float32":
            return self.val
        if precision not in self._twins:
            self._twins[precision] = Evaluator(self.model, self.val.split, self.val.batch_size,
                                               precision, self.info.output_kind)
        return self._twins[precision]

    def dense(self) -> dict[str, Score | None]:
        """Baseline val (and test) scores of the unpruned model (computed once)."""
        if self._dense is None:
            self._dense = {"val": self.val.evaluate(self.baseline.arrays),
                           "test": self.test.evaluate(self.baseline.arrays) if self.test else None}
        return self._dense

    def prune(self, method: str, sparsity: float, scope: str = "all") -> Pruned:
        """Pruned weights for a one-shot method (no evaluation)."""
        return self.pruner.prune(method, sparsity, scope)

    def point(self, method: str, sparsity: float, scope: str = "all", with_test: bool = True,
              floor: float = DEFAULT_FLOOR) -> Point:
        """Prune and evaluate on val (and test) at one level."""
        return self.evaluate(self.prune(method, sparsity, scope), with_test, floor)

    def evaluate(self, pruned: Pruned, with_test: bool = True, floor: float = DEFAULT_FLOOR) -> Point:
        """Evaluate given pruned weights."""
        val = self.val.evaluate(pruned.arrays)
        test = self.test.evaluate(pruned.arrays) if (with_test and self.test) else None
        return Point(pruned, val, test, challenge_score(pruned.sparsity, val.accuracy, floor))

    def sweep(self, method: str, grid: Sequence[float], scope: str = "all",
              floor: float = DEFAULT_FLOOR, progress: Progress | None = None,
              with_test: bool = False) -> pd.DataFrame:
        """One-shot sweep over ``grid`` (fractions); see ``pruning.sweep.sweep``."""
        return sweep(self.val, self.pruner, method, grid, scope, floor, progress,
                     self.test if with_test else None)

    def model_zero_fraction(self, sparsity, scope: str = "all"):
        """Zeros over every array of the model (the saved file's zero fraction) for one-shot
        rows at ``sparsity`` in ``scope``: the scope's zeros plus the untouched arrays' own
        (exact, as one-shot pruning leaves arrays outside the scope as they are)."""
        b = self.baseline
        sel = in_scope(b.kinds, scope)
        n_scope = sum(a.size for a, k in zip(b.arrays, sel) if k)
        outside = sum(int(a.size - np.count_nonzero(a)) for a, k in zip(b.arrays, sel) if not k)
        return (np.asarray(sparsity, float) * n_scope + outside) / b.params

    def load(self, arrays: Sequence[np.ndarray]) -> keras.Model:
        """Put ``arrays`` into this workbench's model and return it (for export)."""
        self.val.set_weights(arrays)
        return self.model

    def export(self, pruned: Pruned, fmt: str = "h5") -> bytes:
        """File bytes of the pruned model in 'h5' (legacy), 'weights.h5' or 'keras'."""
        return export_bytes(self.load(pruned.arrays), fmt)

    def sizes(self, pruned: Pruned) -> Sizes:
        """Params, non-zeros, .h5 and gzip sizes of the pruned model."""
        return model_sizes(self.load(pruned.arrays))
