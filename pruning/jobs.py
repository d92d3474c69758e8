"""Jobs that run on any executor (``pruning.executors``): one retraining run, one layer's
sensitivity scan. Each is a plain function of (shared, job) that rebuilds the model from
its JSON config (Keras safe mode: no code in it runs) and weights, and returns arrays and
metadata; it never writes the result store (the driver does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .data import Dataset
from .frontier import DEFAULT_FLOOR


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
    """What every retraining job of a batch shares: start model, data, distillation teacher."""

    model: ModelSpec
    data: Dataset
    teacher: tuple[np.ndarray, ...] | None = None  # teacher weights (same architecture)


@dataclass(frozen=True)
class RetrainJob:
    """One retraining run: a method at a target with training settings (``training.seed``)."""

    method: str
    sparsity: float | None
    training: object  # pruning.retrain.Training (kept untyped: no TF import at module load)
    scope: str = "all"
    options: dict = field(default_factory=dict)
    checkpoint_dir: str | None = None
    floor: float = DEFAULT_FLOOR


def train_job(shared: RetrainShared, job: RetrainJob) -> dict:
    """Train one request; returns ``{"arrays": [...], "info": {...}}`` (info: ``RetrainResult.
    as_dict`` plus ``history``, ``seed`` and ``threads``, the intra-op threads it ran with)."""
    from .executors import thread_count
    from .retrain import retrain

    model = shared.model.build()
    options = dict(job.options)
    if shared.teacher is not None:
        options["teacher"] = ModelSpec(shared.model.config_json, shared.teacher).build()
    res = retrain(model, shared.data, job.method, job.sparsity, job.training, job.scope, None,
                  job.checkpoint_dir, **options)
    info = {**res.as_dict(job.floor), "history": list(res.history),
            "seed": int(job.training.seed), "threads": thread_count()}
    return {"arrays": [np.asarray(a) for a in res.arrays], "info": info}


@dataclass(frozen=True)
class SensitivityShared:
    """What every layer of a sensitivity scan shares: the dense model, val data, levels, scope."""

    model: ModelSpec
    data: Dataset
    levels: tuple[float, ...]
    scope: str = "all"


def sensitivity_job(shared: SensitivityShared, layer: str) -> list[dict]:
    """One layer pruned alone at every level: its rows of ``layer_sensitivity``."""
    from .sensitivity import layer_sensitivity
    from .workbench import Workbench

    wb = Workbench(shared.model.build(), shared.data)
    return layer_sensitivity(wb, list(shared.levels), shared.scope, layers=[layer]).to_dict("records")
