"""Jobs that run on any executor (``pruning.executors``): one retraining run, one layer's
sensitivity scan. Each is a plain function of (shared, job) that rebuilds the model from
its JSON config (Keras safe mode: no code in it runs) and weights, and returns arrays and
metadata; it never writes the result store (the driver does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .data import Dataset


@dataclass(frozen=True)
class ModelSpec:
    """What a worker needs to rebuild a model: its architecture as JSON and its weights."""

    config_json: str
    weights: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, model, weights: Sequence[np.ndarray] | None = None) -> "ModelSpec":
        """The spec of ``model`` holding ``weights`` (default: the ones it holds now)."""
        arrays = model.get_weights() if weights is None else weights
        return cls(model.to_json(), tuple(np.asarray(a) for a in arrays))

    def build(self):
        """A fresh Keras model with these weights."""
        import keras

        model = keras.models.model_from_json(self.config_json)
        model.set_weights(list(self.weights))
        return model


@dataclass(frozen=True)
class RetrainShared:
    """What every retraining run of a batch shares: start model, data, distillation teacher,
    and the checkpoint folder its runs checkpoint under (``runs.checkpoint_subdir``)."""

    model: ModelSpec
    data: Dataset
    teacher: tuple[np.ndarray, ...] | None = None  # teacher weights (same architecture)
    checkpoint_dir: str | None = None
    per_seed: bool = False


def train_job(shared: RetrainShared, request) -> dict:
    """Train one ``pruning.runs.RunRequest`` with ``pruning.runs.train`` on the rebuilt model;
    returns ``{"arrays": [...], "meta": runs.run_meta(...)}`` (what the driver stores)."""
    from . import runs

    model = shared.model.build()
    teacher = None if shared.teacher is None else ModelSpec(shared.model.config_json, shared.teacher).build()
    res = runs.train(request, model, shared.data, teacher=teacher,
                     checkpoint_dir=runs.checkpoint_subdir(shared.checkpoint_dir, request, shared.per_seed))
    return {"arrays": [np.asarray(a) for a in res.arrays], "meta": runs.run_meta(request, res, shared.data)}


@dataclass(frozen=True)
class SensitivityShared:
    """What every layer of a sensitivity scan shares: the dense model, val data, levels, scope."""

    model: ModelSpec
    data: Dataset
    levels: tuple[float, ...]
    scope: str = "all"
    prune_embeddings: bool = False


def sensitivity_job(shared: SensitivityShared, layer: str) -> list[dict]:
    """One layer pruned alone at every level: its rows of ``layer_sensitivity``."""
    from .sensitivity import layer_sensitivity
    from .workbench import Workbench

    wb = Workbench(shared.model.build(), shared.data, prune_embeddings=shared.prune_embeddings)
    return layer_sensitivity(wb, list(shared.levels), shared.scope, layers=[layer]).to_dict("records")
