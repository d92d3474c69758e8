"""Magnitude pruning for Keras models: masks, sweeps, frontiers and exports.

The public API used by the CLI (``python -m pruning``), the dashboard and the tests.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ chatter off stderr

from .data import DataError, Dataset, Split, load_data, load_fashion_mnist, load_npz, load_pickles
from .evaluate import Evaluator, Score
from .export import FORMATS, Sizes, export_bytes, file_name, model_sizes, write_weights
from .frontier import DEFAULT_FLOOR, add_scores, best_row, challenge_score, pareto_frontier
from .masks import METHODS, SCOPES, keep_masks, magnitude_index, prune_arrays, total_sparsity
from .methods import Baseline, OneShotPruner, Pruned
from .models import (PRESETS, ModelError, build_model, build_preset, bundled_weights, load_model,
                     load_model_bytes, load_weights_into, read_weight_file)
from .sweep import parse_grid, sweep
from .workbench import Point, Workbench

__all__ = [
    "DataError", "Dataset", "Split", "load_data", "load_fashion_mnist", "load_npz", "load_pickles",
    "Evaluator", "Score", "FORMATS", "Sizes", "export_bytes", "file_name", "model_sizes",
    "write_weights", "DEFAULT_FLOOR", "add_scores", "best_row", "challenge_score",
    "pareto_frontier", "METHODS", "SCOPES", "keep_masks", "magnitude_index", "prune_arrays",
    "total_sparsity", "Baseline", "OneShotPruner", "Pruned", "PRESETS", "ModelError",
    "build_model", "build_preset", "bundled_weights", "load_model", "load_model_bytes",
    "load_weights_into", "read_weight_file", "parse_grid", "sweep", "Point", "Workbench",
]
__version__ = "0.1.0"
