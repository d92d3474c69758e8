"""What a model's weights say with no data at all: per-array sparsity and sizes.

The same figures as ``python -m pruning inspect`` (``pruning.masks.array_sparsity`` and
``total_sparsity``), shown when weights were uploaded without data they can run on, so
Bring your own never dead-ends on a shape error.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ..masks import array_sparsity, total_sparsity
from ..oneshot import Baseline
from ..units import format_percent


def array_frame(base: Baseline) -> pd.DataFrame:
    """One row per weight array: name, kind, shape, size, zeros, sparsity (%), in model order."""
    rows = [{"array": r.name, "kind": r.kind, "shape": "x".join(map(str, a.shape)) or "scalar",
             "size": r.size, "zeros": r.zeros, "sparsity (%)": round(100 * r.sparsity, 2)}
            for r, a in zip(array_sparsity(base.arrays, base.kinds, base.names), base.arrays)]
    return pd.DataFrame(rows, columns=["array", "kind", "shape", "size", "zeros", "sparsity (%)"])


def show_weights(base: Baseline, title: str) -> None:
    """The per-array table and the totals in both scopes (no data needed)."""
    st.subheader(title)
    params = base.params
    zeros = int(sum(a.size - int((a != 0).sum()) for a in base.arrays))
    st.caption(f"{params:,} parameters, {params - zeros:,} non-zero "
               f"({params * 4 / 2**20:.2f} MiB as float32); sparsity "
               f"{format_percent(total_sparsity(base.arrays, base.kinds, 'all'))} of all parameters, "
               f"{format_percent(total_sparsity(base.arrays, base.kinds, 'kernels'))} of kernels. "
               "What `python -m pruning inspect` reports; no data needed.")
    st.table(array_frame(base).set_index("array"))  # plain HTML: readable on a projector
