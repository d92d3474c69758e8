"""Magnitude pruning for Keras models: masks, sweeps, frontiers and exports.

The public API used by the CLI (``python -m pruning``), the dashboard and the tests.
Names load lazily (module ``__getattr__``): ``import pruning.masks`` (or ``frontier``,
``plots``, ``schedule``) does not import TensorFlow; the first name that needs it imports
TensorFlow quietly. ``pruning.retrain`` and ``pruning.sweep`` are the modules (their
functions are ``pruning.retrain.retrain`` and ``pruning.sweep.sweep``): a lazily loaded
package cannot give one name to both.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

# public name -> the submodule that defines it
_EXPORTS: dict[str, str] = {}
for _module, _names in {
    "data": "DataError Dataset Split load_data load_fashion_mnist load_npz load_pickles",
    "evaluate": "Evaluator Score",
    "export": "FORMATS Sizes export_bytes file_name model_sizes write_weights",
    "frontier": "DEFAULT_FLOOR add_scores best_row challenge_score pareto_frontier",
    "masks": "METHODS SCOPES keep_masks magnitude_index prune_arrays total_sparsity",
    "oneshot": "Baseline OneShotPruner Pruned",
    "models": "PRESETS ModelError build_model build_preset bundled_weights load_model "
              "load_model_bytes load_weights_into read_weight_file",
    "retrain": "RETRAIN_METHODS RetrainError RetrainResult Training freeze_retrain gradual_prune "
               "iterative_prune masked_retrain retrain_sweep",
    "schedule": "PolynomialSchedule",
    "units": "parse_grid",
    "adaptive": "adaptive_sweep interpolate_curve",
    "estimate": "Estimate estimate_accuracy",
    "sensitivity": "layer_sensitivity",
    "workbench": "Point Workbench",
    "structured": "StructureError StructuredResult prune_structured",
    "structured.pipeline": "run_structured",
}.items():
    _EXPORTS.update(dict.fromkeys(_names.split(), _module))
del _module, _names

# submodules that import neither TensorFlow nor Keras
_WITHOUT_TF = frozenset({"frontier", "masks", "plots", "schedule", "units", "rows", "labels",
                         "atomic"})

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    """A public name (imported from its submodule on first use) or a submodule."""
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _EXPORTS.get(name, name)
    if module not in _WITHOUT_TF:
        from ._tf import import_tensorflow_quietly

        import_tensorflow_quietly()
    try:
        mod = importlib.import_module(f".{module}", __name__)
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{module}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    if name not in _EXPORTS:
        return mod
    value = getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
