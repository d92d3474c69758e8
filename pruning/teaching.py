"""What the teaching views show, as NumPy (no TensorFlow, no Streamlit).

Three views explain a pruned model to a class: the |w| histogram with the threshold
(``magnitude_histogram``), the kept/removed pattern of one layer (``mask_grid``,
``filter_images``) and what breaks first (``per_class_accuracy``, ``confusion_matrix``,
``flipped``). Thresholds and masks come from ``pruning.masks`` (the one home of the
magnitude rule); this module only counts and reshapes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .masks import MagnitudeIndex, keep_masks, thresholds

WHOLE_MODEL = None  # ``array=None``: the histogram over every in-scope array


@dataclass(frozen=True)
class Histogram:
    """|w| counted in log-spaced bins, split into kept and pruned entries.

    ``edges`` has one more entry than ``kept`` / ``pruned``. Exact zeros cannot sit on a
    log axis: they are counted in ``zeros_kept`` / ``zeros_pruned`` instead. ``thresholds``
    holds (array name, threshold) for each array drawn (one pair for global magnitude,
    one per array for layer-wise; empty when the mask did not come from a threshold).
    """

    edges: np.ndarray
    kept: np.ndarray
    pruned: np.ndarray
    zeros_kept: int
    zeros_pruned: int
    thresholds: tuple[tuple[str, float], ...]
    pruned_mass: float = 0.0  # share of the summed |w| that the pruned entries held

    @property
    def total(self) -> int:
        return int(self.kept.sum() + self.pruned.sum() + self.zeros_kept + self.zeros_pruned)

    @property
    def pruned_share(self) -> float:
        """Fraction of the counted entries that are pruned (0 when nothing is counted)."""
        n = self.total
        return float(self.pruned.sum() + self.zeros_pruned) / n if n else 0.0


LOW_QUANTILE = 0.001  # the first edge: smaller |w| (a few near-zeros) are counted in the first bin


def log_edges(values: np.ndarray, bins: int = 60) -> np.ndarray:
    """``bins + 1`` log-spaced edges from the 0.1 % quantile of the positive entries of
    ``values`` to their maximum (so one stray 1e-20 does not stretch the axis)."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    pos = values[values > 0]
    if pos.size == 0:
        return np.geomspace(1e-8, 1.0, bins + 1)  # nothing to place: any span will do
    lo, hi = float(np.quantile(pos, LOW_QUANTILE)), float(pos.max())
    if hi <= lo * (1 + 1e-9):  # one distinct value: a bin around it
        lo, hi = lo / 1.5, hi * 1.5
    edges = np.geomspace(lo, hi, bins + 1)
    edges[0], edges[-1] = lo, hi  # geomspace rounding must not drop the extremes
    return edges


def magnitude_histogram(arrays: Sequence[np.ndarray], keep: Sequence[np.ndarray | None],
                        names: Sequence[str], array: int | None = WHOLE_MODEL,
                        array_thresholds: Sequence[float | None] | None = None,
                        bins: int = 60) -> Histogram:
    """Histogram of |w| of the in-scope arrays (``keep[i]`` not None), or of one array.

    Args:
        arrays: the dense weights (``Baseline.arrays`` order).
        keep: boolean keep-masks shaped like each array; None for arrays outside the scope.
        names: array names, for the threshold labels.
        array: index of one array to show, or None (default) for the whole model.
        array_thresholds: per-array thresholds (``pruning.masks.thresholds``), or None when
            the mask is not a threshold (a retrained model); infinite ones are not drawn.
        bins: number of log-spaced bins (default 60).

    Raises:
        ValueError: ``array`` names an array outside the scope, or the scope has no weights.
    """
    chosen = [i for i, m in enumerate(keep) if m is not None]
    if array is not None:
        if array not in chosen:
            raise ValueError(f"{names[array] if 0 <= array < len(names) else array} is not pruned "
                             "in this scope; pick a layer the scope covers")
        chosen = [array]
    if not chosen:
        raise ValueError("no weights in this scope")
    mags = np.concatenate([np.abs(arrays[i]).ravel() for i in chosen])
    kept = np.concatenate([np.asarray(keep[i]).ravel() for i in chosen])
    edges = log_edges(mags, bins)
    zero = mags == 0
    placed = np.maximum(mags, edges[0])  # below the first edge: counted in the first bin
    kept_counts = np.histogram(placed[kept & ~zero], edges)[0]
    pruned_counts = np.histogram(placed[~kept & ~zero], edges)[0]
    drawn: list[tuple[str, float]] = []
    if array_thresholds is not None:
        for i in chosen:
            t = array_thresholds[i]
            if t is not None and math.isfinite(float(t)):
                drawn.append((names[i], float(t)))
        if len(drawn) > 1 and len({t for _, t in drawn}) == 1:  # global: one line for all
            drawn = [("all in scope", drawn[0][1])]
    total_mass = float(mags.sum(dtype=np.float64))
    mass = float(mags[~kept].sum(dtype=np.float64)) / total_mass if total_mass > 0 else 0.0
    return Histogram(edges, kept_counts, pruned_counts, int(np.sum(zero & kept)),
                     int(np.sum(zero & ~kept)), tuple(drawn), mass)


def one_shot_histogram(index: MagnitudeIndex, arrays: Sequence[np.ndarray], names: Sequence[str],
                       method: str, sparsity: float, array: int | None = WHOLE_MODEL,
                       bins: int = 60) -> Histogram:
    """``magnitude_histogram`` of a one-shot method: masks and thresholds from ``pruning.masks``."""
    return magnitude_histogram(arrays, keep_masks(index, method, sparsity), names, array,
                               thresholds(index, method, sparsity), bins)


def kept_masks(dense: Sequence[np.ndarray], pruned: Sequence[np.ndarray],
               selected: Sequence[bool]) -> list[np.ndarray | None]:
    """Keep-masks read off pruned weights (non-zero = kept), None outside the scope.

    For results whose mask is no threshold of the dense |w| (retraining). A dense weight that
    was already exactly zero reads as pruned; that is what the file holds."""
    if not (len(dense) == len(pruned) == len(selected)):
        raise ValueError(f"{len(dense)} dense arrays, {len(pruned)} pruned, {len(selected)} flags")
    return [np.asarray(p) != 0 if s else None for p, s in zip(pruned, selected)]


# ---------------------------------------------------------------- masks of one layer

@dataclass(frozen=True)
class MaskGrid:
    """Fraction kept per cell of one layer (rows = filters or units, columns = inputs); each
    cell covers ``row_step`` x ``col_step`` weights' rows/columns (1 x 1 unless averaged)."""

    kept: np.ndarray
    row_step: int
    col_step: int
    rows: int  # filters / units before averaging
    cols: int  # inputs before averaging

    @property
    def averaged(self) -> bool:
        return self.row_step > 1 or self.col_step > 1


def mask_grid(keep: np.ndarray, max_rows: int = 128, max_cols: int = 256) -> MaskGrid:
    """Fraction kept per (output, input) cell of one array's mask, at most max_rows x max_cols.

    Dense kernels (in, out) become out x in; conv kernels (..window.., in, out) become
    filters x inputs, averaged over the kernel window; a 1-D array (bias) is one row.
    Bigger grids are averaged over equal blocks so a browser can draw them.
    """
    m = np.asarray(keep, dtype=np.float64)
    if m.ndim == 0:
        m = m.reshape(1, 1)
    elif m.ndim == 1:
        m = m.reshape(1, -1)
    else:
        if m.ndim > 2:
            m = m.reshape(-1, m.shape[-2], m.shape[-1]).mean(axis=0)
        m = m.T
    rows, cols = m.shape
    fr, fc = _steps(rows, max_rows), _steps(cols, max_cols)
    return MaskGrid(block_mean(m, max_rows, max_cols), fr, fc, rows, cols)


def _steps(n: int, most: int) -> int:
    return max(1, -(-n // most))


def block_mean(grid: np.ndarray, max_rows: int, max_cols: int) -> np.ndarray:
    """``grid`` averaged over blocks of ceil(rows / max_rows) x ceil(cols / max_cols) cells
    (blocks at the far edges may be smaller; each cell is the mean of the cells it covers)."""
    rows, cols = grid.shape
    fr, fc = _steps(rows, max_rows), _steps(cols, max_cols)
    if fr == fc == 1:
        return grid.astype(np.float64)
    r_starts, c_starts = np.arange(0, rows, fr), np.arange(0, cols, fc)
    sums = np.add.reduceat(np.add.reduceat(grid.astype(np.float64), r_starts, axis=0), c_starts, axis=1)
    counts = np.outer(np.diff(np.append(r_starts, rows)), np.diff(np.append(c_starts, cols)))
    return sums / counts


@dataclass(frozen=True)
class Filters:
    """First-layer filters as small images (n, h, w), dense and pruned, and what they are."""

    dense: np.ndarray
    pruned: np.ndarray
    removed: np.ndarray  # bool (n, h, w): every input channel's weight at that pixel removed
    what: str  # e.g. 'conv2d/kernel: 3x3 filters' or 'dense/kernel: weights over the 28x28 input'


def filter_images(names: Sequence[str], kinds: Sequence[str], dense: Sequence[np.ndarray],
                  pruned: Sequence[np.ndarray], input_shape: Sequence[int],
                  limit: int = 32) -> Filters | None:
    """The first kernel's filters as images, or None when they are not images.

    A 2-D conv kernel (kh, kw, in, out) gives ``out`` kh x kw images (averaged over input
    channels when there are several); a Dense kernel fed straight from an image input
    (in = H*W*C) gives one H x W image per unit. Anything else (text, tabular, 1-D conv)
    is not a picture: None. At most ``limit`` filters.
    """
    first = next((i for i, k in enumerate(kinds) if k == "kernel"), None)
    if first is None:
        return None
    d, p = np.asarray(dense[first]), np.asarray(pruned[first])
    shape = tuple(int(s) for s in input_shape)
    gone = (p == 0) & (d != 0)
    if d.ndim == 4 and len(shape) == 3:
        pick = lambda a: np.moveaxis(a.mean(axis=2), -1, 0)[:limit]  # noqa: E731  (out, kh, kw)
        removed = np.moveaxis(gone.all(axis=2), -1, 0)[:limit]
        what = (f"{names[first]}: {d.shape[0]}x{d.shape[1]} filters"
                + (f", averaged over {d.shape[2]} input channels" if d.shape[2] > 1 else ""))
    elif d.ndim == 2 and len(shape) == 3 and d.shape[0] == math.prod(shape):
        h, w, c = shape
        pick = lambda a: np.moveaxis(a.reshape(h, w, c, -1).mean(axis=2), -1, 0)[:limit]  # noqa: E731
        removed = np.moveaxis(gone.reshape(h, w, c, -1).all(axis=2), -1, 0)[:limit]
        what = f"{names[first]}: each unit's weights over the {h}x{w} input"
    else:
        return None
    return Filters(pick(d), pick(p), removed, what)


def mosaic(images: np.ndarray, cols: int = 16) -> np.ndarray:
    """Images (n, h, w) tiled into one (rows*(h+1)-1, cols*(w+1)-1) array, NaN between tiles."""
    n, h, w = images.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        out[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = images[k]
    return out


# ---------------------------------------------------------------- what breaks first

def predicted_classes(probabilities: np.ndarray) -> np.ndarray:
    """Class per row: argmax, or p > 0.5 for a single sigmoid output."""
    p = np.asarray(probabilities)
    if p.ndim == 2 and p.shape[1] == 1:
        return (p[:, 0] > 0.5).astype(np.int64)
    return p.argmax(axis=-1).astype(np.int64)


def confusion_matrix(y: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class."""
    y, pred = np.asarray(y, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    if y.shape != pred.shape:
        raise ValueError(f"{y.shape[0]} labels but {pred.shape[0]} predictions")
    if y.size and (min(y.min(), pred.min()) < 0 or max(y.max(), pred.max()) >= num_classes):
        raise ValueError(f"labels and predictions must lie in 0..{num_classes - 1}")
    return np.bincount(y * num_classes + pred, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_accuracy(y: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Accuracy per true class (NaN for a class with no validation samples)."""
    cm = confusion_matrix(y, pred, num_classes)
    n = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.diag(cm) / np.maximum(n, 1), np.nan)


def flipped(y: np.ndarray, dense_pred: np.ndarray, pruned_pred: np.ndarray,
            limit: int | None = 12) -> np.ndarray:
    """Indices of samples the dense model gets right and the pruned one wrong (first ``limit``)."""
    y = np.asarray(y)
    idx = np.flatnonzero((np.asarray(dense_pred) == y) & (np.asarray(pruned_pred) != y))
    return idx if limit is None else idx[:limit]


def class_names(names: Sequence[str], num_classes: int) -> list[str]:
    """The dataset's class names, then 'class k' for classes it does not name."""
    return [str(names[k]) if k < len(names) else f"class {k}" for k in range(num_classes)]


def is_image_batch(x: np.ndarray) -> bool:
    """True for NHWC images with 1 or 3 channels (what the strip can draw)."""
    return x.ndim == 4 and x.shape[-1] in (1, 3)


def display_images(x: np.ndarray) -> np.ndarray:
    """Images as floats in [0, 1] for drawing: 0..255 integers divided by 255, anything else
    outside [0, 1] (standardised inputs) stretched per image from its min to its max."""
    x = np.asarray(x)
    if x.dtype.kind in "iub" and x.size and x.min() >= 0 and x.max() <= 255:
        return x.astype(np.float64) / 255.0
    out = x.astype(np.float64)
    for k in range(len(out)):
        lo, hi = out[k].min(), out[k].max()
        if lo < 0 or hi > 1:
            out[k] = (out[k] - lo) / (hi - lo) if hi > lo else 0.0
    return out


def worst_classes(dense_acc: np.ndarray, pruned_acc: np.ndarray, limit: int) -> np.ndarray:
    """Indices of at most ``limit`` classes, those that lost the most accuracy first, in
    class order (all classes when there are no more than ``limit``)."""
    n = len(dense_acc)
    if n <= limit:
        return np.arange(n)
    drop = np.nan_to_num(np.asarray(dense_acc) - np.asarray(pruned_acc), nan=-np.inf)
    return np.sort(np.argsort(-drop, kind="stable")[:limit])


def biggest_new_confusion(dense_cm: np.ndarray, pruned_cm: np.ndarray) -> tuple[int, int, int] | None:
    """(true, predicted, increase) of the off-diagonal cell that grew most, or None if none grew."""
    grew = (np.asarray(pruned_cm) - np.asarray(dense_cm)).astype(np.int64)
    np.fill_diagonal(grew, 0)
    i, j = np.unravel_index(int(np.argmax(grew)), grew.shape)
    return (int(i), int(j), int(grew[i, j])) if grew[i, j] > 0 else None


@dataclass(frozen=True)
class Breakage:
    """What pruning broke on the validation set, dense beside pruned.

    ``shown``: the classes the figures show (all, or the ``limit`` that lost most), in class order.
    """

    classes: tuple[str, ...]
    n: int
    dense_accuracy: float
    accuracy: float
    dense_per_class: np.ndarray
    per_class: np.ndarray
    dense_confusion: np.ndarray
    confusion: np.ndarray
    turned_wrong: np.ndarray  # sample indices, right before and wrong now
    turned_right: np.ndarray
    shown: np.ndarray
    predicted: np.ndarray

    @property
    def worst(self) -> int | None:
        """The class whose accuracy fell most (None without any labelled class)."""
        drop = self.dense_per_class - self.per_class
        return None if np.all(np.isnan(drop)) else int(np.nanargmax(drop))

    @property
    def biggest_new_confusion(self) -> tuple[int, int, int] | None:
        return biggest_new_confusion(self.dense_confusion, self.confusion)


def what_breaks(y: np.ndarray, dense_pred: np.ndarray, pred: np.ndarray, names: Sequence[str],
                num_classes: int, limit: int = 30) -> Breakage:
    """Per-class accuracy, confusion matrices and flipped samples of a pruned model vs dense."""
    y = np.asarray(y)
    dense_pc, pc = per_class_accuracy(y, dense_pred, num_classes), per_class_accuracy(y, pred, num_classes)
    return Breakage(tuple(class_names(names, num_classes)), int(y.size),
                    float(np.mean(dense_pred == y)) if y.size else float("nan"),
                    float(np.mean(pred == y)) if y.size else float("nan"), dense_pc, pc,
                    confusion_matrix(y, dense_pred, num_classes), confusion_matrix(y, pred, num_classes),
                    flipped(y, dense_pred, pred, None), flipped(y, pred, dense_pred, None),
                    worst_classes(dense_pc, pc, limit), np.asarray(pred))
