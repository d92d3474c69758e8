"""What one pruned point costs on a chosen axis: the x axes of the Frontier's cost view.

Sparsity says how many weights are zero; a deployment cares about what that buys. Each
axis here is measured on the point's own weights: non-zero parameters, the gzip -9 size of
its legacy ``.h5`` (the file the product writes), the multiply-adds that touch a non-zero
weight, or the Keras batch-1 latency (median of 20 runs after warm-up). For all of them
lower is better, so their Pareto frontier keeps the points no cheaper-and-better point beats.
"""

from __future__ import annotations

import gzip
from typing import Sequence

import keras
import numpy as np
import pandas as pd

from .layers import assign_arrays
from .frontier import pareto_mask

COST_AXES = {
    "sparsity": "Sparsity (%)",
    "nonzeros": "Non-zero parameters",
    "gzip_bytes": "File size: .h5, gzip -9 (bytes)",
    "effective_macs": "Multiply-adds per image (non-zero weights)",
    "latency_ms": "Measured latency, batch 1, Keras (ms)",
}


def point_cost(model: keras.Model, arrays: Sequence[np.ndarray], axis: str, runs: int = 20) -> float:
    """The cost of ``arrays`` (``model.weights`` order) on ``axis``; ``model``'s variables are
    overwritten, so pass a model this caller owns.

    Raises:
        ValueError: an unknown axis, or 'sparsity' (a row already holds it).
    """
    if axis not in COST_AXES or axis == "sparsity":
        raise ValueError(f"unknown cost axis {axis!r}; choose one of "
                         f"{', '.join(a for a in COST_AXES if a != 'sparsity')}")
    if axis == "nonzeros":
        return float(sum(int(np.count_nonzero(a)) for a in arrays))
    assign_arrays(model.weights, arrays)
    if axis == "gzip_bytes":
        from .export import export_bytes

        return float(len(gzip.compress(export_bytes(model, "h5"), compresslevel=9, mtime=0)))
    if axis == "effective_macs":
        from .macs import mac_count

        return float(mac_count(model).effective_macs)
    from .latency import keras_call, paired_medians, sample_batch

    x = sample_batch(tuple(int(d) for d in model.input_shape[1:]), 1)
    return paired_medians([keras_call(model, x)], runs=runs, warmup=3)[0]


def cost_frontier(rows: pd.DataFrame, axis: str) -> pd.Series:
    """Which rows are on the accuracy-vs-cost frontier (lower ``axis``, higher accuracy)."""
    if rows.empty:
        return pd.Series([], dtype=bool)
    return pd.Series(pareto_mask(-rows[axis].to_numpy(float), rows["accuracy"].to_numpy(float)),
                     index=rows.index)
