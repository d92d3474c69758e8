"""What a retraining run trains: a clone of the model, its masks, and the rewind point.

``TrainState`` is the one object the method plans act on (prune, rewind, read weights);
the training loop and its components read it, and nothing reaches into its fields.
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np

from ..layers import assign_arrays
from ..masks import in_scope, keep_masks, magnitude_index, total_sparsity
from ..oneshot import Baseline
from ..models import clone_model
from .masked_model import MaskedModel
from .options import RetrainError


def fill_ties(arrays: Sequence[np.ndarray], keep: Sequence[np.ndarray | None],
              groups: Sequence[Sequence[int]], sparsity: float) -> list[np.ndarray | None]:
    """Keep-masks that prune at least the percentile rule's count in every group.

    The rule zeroes every |w| below the threshold; over n distinct magnitudes that is
    ``ceil((n - 1) s)`` entries, within one entry of the target. When magnitudes tie at
    the threshold (duplicated values, or a float32 threshold that rounds onto a weight),
    the tied entries all survive and the group falls short; this prunes the missing ones
    among the smallest surviving magnitudes, first in array order, so a run reaches its
    target within one weight however the magnitudes tie. Without ties nothing changes.
    """
    out = list(keep)
    if sparsity >= 1.0:
        return out
    for group in groups:
        n = sum(arrays[i].size for i in group)
        want = math.ceil((n - 1) * (float(100 * sparsity) / 100))  # the rule's h, rounded up
        short = want - sum(int(out[i].size - np.count_nonzero(out[i])) for i in group)
        while short > 0:
            low = min(float(np.min(np.abs(arrays[i])[out[i]])) for i in group if out[i].any())
            for i in group:
                hit = np.flatnonzero(out[i] & (np.abs(arrays[i]) == low))[:short]
                if hit.size:
                    k = out[i].copy()
                    k.reshape(-1)[hit] = False
                    out[i], short = k, short - hit.size
                if short == 0:
                    break
    return out


class TrainState:
    """A clone of ``model`` wrapped in a ``MaskedModel`` over the ``scope``'s arrays.

    Build it after seeding: the clone draws its dropout seeds from the global seed.
    """

    def __init__(self, model: keras.Model, scope: str) -> None:
        self.net = clone_model(model)
        self.base = Baseline.from_model(self.net)
        if len(self.base.arrays) != len(self.net.weights):
            raise RetrainError("model weights and weight names disagree; unsupported model")
        self.kinds = self.base.kinds
        self.scope = scope
        self.prunable = in_scope(self.kinds, scope)
        self.wrapper = MaskedModel(self.net, self.prunable)
        self.rewind: list[np.ndarray] | None = None  # imp: the values survivors go back to

    # weights and masks
    def arrays(self) -> list[np.ndarray]:
        return [np.asarray(v.numpy()) for v in self.net.weights]

    def set_arrays(self, arrays: Sequence[np.ndarray]) -> None:
        assign_arrays(self.net.weights, arrays)

    def masks(self) -> list[np.ndarray | None]:
        return self.wrapper.masks()

    def set_masks(self, masks: Sequence[np.ndarray | None]) -> None:
        self.wrapper.set_masks(masks)

    def in_scope_sizes(self) -> list[int]:
        return [a.size for a, p in zip(self.base.arrays, self.prunable) if p]

    def prune_to(self, sparsity: float, method: str = "global",
                 only: Sequence[bool] | None = None) -> None:
        """Magnitude-prune the current weights (AND the current masks) and install the masks.

        ``only`` restricts the threshold to some in-scope arrays (freeze groups).
        """
        sel = [p and (only is None or o) for p, o in zip(self.prunable, only or self.prunable)]
        arrays = self.arrays()
        kinds = [k if s else "other" for k, s in zip(self.kinds, sel)]
        new = keep_masks(magnitude_index(arrays, kinds, "all"), method, sparsity)
        masks = [old if n is None else (n if old is None else old & n)
                 for old, n in zip(self.masks(), new)]
        chosen = [i for i, s in enumerate(sel) if s]
        groups = [chosen] if method == "global" else [[i] for i in chosen]
        self.wrapper.set_masks(fill_ties(arrays, masks, groups, sparsity))

    def masked_fraction(self) -> float:
        """Fraction of the scope's entries the masks hold at zero (cheap: reads masks only)."""
        sel = [m for m in self.masks() if m is not None]
        return sum(m.size - int(m.sum()) for m in sel) / sum(m.size for m in sel)

    def sparsity(self) -> float:
        """Zero fraction of the scope's entries in the current weights."""
        return total_sparsity(self.arrays(), self.kinds, self.scope)

    # rewinding (imp)
    def keep_rewind_point(self) -> None:
        self.rewind = [np.array(a, copy=True) for a in self.arrays()]

    def rewind_survivors(self) -> None:
        """Set every weight the masks keep back to its rewind-point value."""
        self.set_arrays([a if m is None else np.where(m, a, np.zeros((), a.dtype))
                         for a, m in zip(self.rewind, self.masks())])

    def rule_tolerance(self, groups: int = 1, method: str = "global") -> float:
        """How far the percentile rule may land below a target: < one entry per threshold."""
        sizes = self.in_scope_sizes()
        n = sum(sizes)
        if method == "layerwise":
            return len(sizes) / n
        return groups / n
