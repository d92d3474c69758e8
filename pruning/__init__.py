"""Magnitude pruning for Keras models: masks, sweeps, frontiers and exports.

The public API used by the CLI (``python -m pruning``), the dashboard and the tests.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with fd 2 muted: its C++ start-up lines ("Could not find cuda
    drivers", oneDNN notes) are printed before any log setting applies and would bury
    the CLI's own messages. Python errors still surface as exceptions."""
    if "tensorflow" in sys.modules:
        return
    try:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_tensorflow_quietly()

from .data import DataError, Dataset, Split, load_data, load_fashion_mnist, load_npz, load_pickles
from .evaluate import Evaluator, Score
from .export import FORMATS, Sizes, export_bytes, file_name, model_sizes, write_weights
from .frontier import DEFAULT_FLOOR, add_scores, best_row, challenge_score, pareto_frontier
from .masks import METHODS, SCOPES, keep_masks, magnitude_index, prune_arrays, total_sparsity
from .methods import Baseline, OneShotPruner, Pruned
from .models import (PRESETS, ModelError, build_model, build_preset, bundled_weights, load_model,
                     load_model_bytes, load_weights_into, read_weight_file)
from .retrain import (RETRAIN_METHODS, RetrainError, RetrainResult, Training, freeze_retrain,
                      gradual_prune, iterative_prune, masked_retrain, retrain_sweep)
from .schedule import PolynomialSchedule
from .sweep import parse_grid, sweep
from .adaptive import adaptive_sweep, interpolate_curve
from .estimate import Estimate, estimate_accuracy
from .sensitivity import layer_sensitivity
from .workbench import Point, Workbench

__all__ = [
    "DataError", "Dataset", "Split", "load_data", "load_fashion_mnist", "load_npz", "load_pickles",
    "Evaluator", "Score", "FORMATS", "Sizes", "export_bytes", "file_name", "model_sizes",
    "write_weights", "DEFAULT_FLOOR", "add_scores", "best_row", "challenge_score",
    "pareto_frontier", "METHODS", "SCOPES", "keep_masks", "magnitude_index", "prune_arrays",
    "total_sparsity", "Baseline", "OneShotPruner", "Pruned", "PRESETS", "ModelError",
    "build_model", "build_preset", "bundled_weights", "load_model", "load_model_bytes",
    "load_weights_into", "read_weight_file", "parse_grid", "sweep", "Point", "Workbench",
    "adaptive_sweep", "interpolate_curve", "Estimate", "estimate_accuracy", "layer_sensitivity",
]
# ``pruning.retrain`` stays the module (its dispatcher is ``pruning.retrain.retrain``)
__all__ += ["RETRAIN_METHODS", "RetrainError", "RetrainResult", "Training", "freeze_retrain",
            "gradual_prune", "iterative_prune", "masked_retrain", "retrain_sweep",
            "PolynomialSchedule"]
__version__ = "0.1.0"
