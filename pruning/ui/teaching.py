"""Glue of the "Why it works" page: the weights its views show and their cached results.

The page follows Explore's selection (method, sparsity, scope); the one-shot masks and
thresholds come from the session's ``OneShotPruner`` index (``pruning.masks``), a retraining
method shows its finished run's weights. Val predictions and histograms go through
``st.cache_data`` keyed by the bench key and the weights' identity; the session's model
is only ever used under its own lock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from .. import teaching as T
from ..masks import in_scope, keep_masks, thresholds
from ..oneshot import Pruned
from ..labels import run_label
from .caches import EVAL
from ..patterns import PATTERN_METHODS
from .retrain import nearest_retrained, retrain_methods
from .session import Bench


@dataclass(frozen=True)
class ShownWeights:
    """Pruned weights a teaching view shows, their keep-masks and (one-shot) thresholds."""

    pruned: Pruned
    keep: tuple[np.ndarray | None, ...]  # None for arrays outside the scope
    thresholds: tuple[float | None, ...] | None  # None: the mask is no threshold (retraining)
    id: tuple  # identity of these weights within a bench, for cache keys
    label: str

    def in_scope(self) -> list[int]:
        """Indices of the arrays this scope prunes."""
        return [i for i, k in enumerate(self.keep) if k is not None]


def shown_weights(b: Bench, method: str, sparsity: float, scope: str) -> ShownWeights | None:
    """What the views show for Explore's selection; None for a retraining method without a
    finished run near ``sparsity``."""
    base = b.wb.baseline
    if method in retrain_methods():
        e = nearest_retrained(b, method, scope, sparsity)
        if e is None:
            return None
        keep = T.kept_masks(base.arrays, e.pruned.arrays, in_scope(base.kinds, scope))
        return ShownWeights(e.pruned, tuple(keep), None, ("retrain", e.uid), run_label(method, e.recipe))
    if method in PATTERN_METHODS:  # N:M / block: no threshold; the masks are the pattern's
        pruned = b.prune(method, sparsity, scope)
        keep = T.kept_masks(base.arrays, pruned.arrays, in_scope(base.kinds, scope))
        return ShownWeights(pruned, tuple(keep), None, (method, scope, round(sparsity, 6)),
                            run_label(method))
    with b.lock:
        index = b.wb.pruner.index(scope)
    pruned = b.prune(method, sparsity, scope)
    return ShownWeights(pruned, tuple(keep_masks(index, method, sparsity)),
                        tuple(thresholds(index, method, sparsity)), (method, scope, round(sparsity, 6)),
                        run_label(method))


@st.cache_data(show_spinner=False, max_entries=256)
def magnitude_histogram(key: tuple, weights_id: tuple, array: int | None,
                        _shown: ShownWeights, _bench: Bench) -> T.Histogram:
    """The |w| histogram of the dense weights under ``_shown``'s masks (cached per level)."""
    base = _bench.wb.baseline
    return T.magnitude_histogram(base.arrays, _shown.keep, base.names, array, _shown.thresholds)


@st.cache_data(show_spinner=False, max_entries=512)
def val_predictions(key: tuple, weights_id: tuple, _arrays: tuple, _bench: Bench) -> np.ndarray:
    """Predicted class per validation sample with the given weights (cached per weights)."""
    with _bench.lock, EVAL:
        _bench.wb.val.set_weights(_arrays)
        probs = _bench.wb.val.probabilities()
    return T.predicted_classes(probs).astype(np.int32)


def dense_predictions(b: Bench) -> np.ndarray:
    """``val_predictions`` of the dense model."""
    return val_predictions(b.key, ("dense",), b.wb.baseline.arrays, _bench=b)


def class_count(b: Bench) -> int:
    """Classes the confusion matrix spans: the labels' and the model's outputs (2 for one
    sigmoid unit)."""
    outputs = int(b.wb.model.output_shape[-1])
    return max(int(b.wb.data.num_classes), 2 if outputs == 1 else outputs)


@st.cache_data(show_spinner=False, max_entries=512)
def what_breaks(key: tuple, weights_id: tuple, _shown: ShownWeights, _bench: Bench) -> T.Breakage:
    """Per-class accuracy, confusion matrices and flipped samples of ``_shown`` vs the dense
    model on the validation split (cached per weights)."""
    b = _bench
    dense = val_predictions(b.key, ("dense",), b.wb.baseline.arrays, _bench=b)
    pred = val_predictions(b.key, weights_id, _shown.pruned.arrays, _bench=b)
    return T.what_breaks(b.wb.val.split.y, dense, pred, b.wb.data.class_names, class_count(b))


def layer_mask(shown: ShownWeights, array: int) -> T.MaskGrid:
    """``pruning.teaching.mask_grid`` of one array's keep-mask."""
    return T.mask_grid(shown.keep[array])


def default_mask_layer(b: Bench, shown: ShownWeights, options: list[str]) -> str:
    """The layer the mask view opens on: the biggest one drawn cell for cell (the first option
    when every one is averaged)."""
    names = list(b.wb.baseline.names)
    grids = {n: T.mask_grid(shown.keep[names.index(n)]) for n in options}
    exact = [n for n in options if not grids[n].averaged]
    return max(exact, key=lambda n: grids[n].kept.size) if exact else options[0]


def first_filters(b: Bench, shown: ShownWeights) -> T.Filters | None:
    """The first layer's filters as images, dense and pruned (None for non-image models)."""
    base = b.wb.baseline
    return T.filter_images(base.names, base.kinds, base.arrays, shown.pruned.arrays,
                           b.wb.data.input_shape)


def flipped_images(b: Bench, indices: np.ndarray) -> np.ndarray | None:
    """Validation inputs at ``indices`` scaled for drawing, or None when they are not images."""
    x = b.wb.val.split.x
    return T.display_images(x[indices]) if T.is_image_batch(x) else None


def keep_choice(key: str, options: list, default) -> None:
    """Reset a page's selectbox to ``default`` when its kept value is no longer an option
    (another model was selected)."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default
