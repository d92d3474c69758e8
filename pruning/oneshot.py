"""One-shot pruning of a model's dense weights: seed methods 1 and 2, N:M and block patterns."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np

from .masks import (METHODS, SCOPES, ArraySparsity, MagnitudeIndex, apply_masks, array_sparsity,
                    check_choice, keep_masks, magnitude_index, total_sparsity)
from .models import weight_arrays
from .patterns import NM_GROUPS, PATTERN_METHODS, nm_ranks, pattern_masks, patterned

# 'global' (method 1), 'layerwise' (method 2), 'nm' / 'nm8' (N:4, N:8), 'block'
ONE_SHOT = METHODS + PATTERN_METHODS


@dataclass(frozen=True)
class Baseline:
    """A model's dense weights, read-only, shareable across threads and sessions."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    arrays: tuple[np.ndarray, ...]
    layers: tuple[str, ...] = ()  # owning layer of each array ('' when unknown)

    @classmethod
    def from_model(cls, model: keras.Model, prune_embeddings: bool = False) -> "Baseline":
        """The model's weights; Embedding tables count as kernels only with ``prune_embeddings``."""
        was = weight_arrays(model, prune_embeddings)
        arrays = []
        for w in was:
            a = np.array(w.array, copy=True)
            a.setflags(write=False)
            arrays.append(a)
        return cls(tuple(w.name for w in was), tuple(w.kind for w in was), tuple(arrays),
                   tuple(w.layer for w in was))

    @property
    def params(self) -> int:
        return int(sum(a.size for a in self.arrays))

    def layer_of(self, i: int) -> str:
        """The layer owning array ``i`` (from its name when the layer is not recorded)."""
        return self.layers[i] if self.layers else self.names[i].rsplit("/", 1)[0]


@dataclass(frozen=True)
class Pruned:
    """Pruned weights and what they achieved (sparsity as fractions, in both scopes)."""

    method: str
    scope: str
    target: float
    arrays: tuple[np.ndarray, ...]
    sparsity: float  # achieved, counted in ``scope``
    sparsity_all: float
    sparsity_kernels: float
    per_array: tuple[ArraySparsity, ...]
    sparsity_model: float = float("nan")  # zeros over every array of the model, pruned or not

    @property
    def nonzeros(self) -> int:
        return int(sum(np.count_nonzero(a) for a in self.arrays))


@dataclass
class OneShotPruner:
    """Prunes a ``Baseline`` at any level; |w| is sorted once per scope and reused."""

    baseline: Baseline
    _index: dict[str, MagnitudeIndex] = field(default_factory=dict, repr=False)
    _ranks: dict[int, list] = field(default_factory=dict, repr=False)  # N:M group ranks per M

    def index(self, scope: str) -> MagnitudeIndex:
        check_choice(scope, SCOPES, "scope")
        if scope not in self._index:
            self._index[scope] = magnitude_index(self.baseline.arrays, self.baseline.kinds, scope)
        return self._index[scope]

    def prune(self, method: str, sparsity: float, scope: str = "all") -> Pruned:
        """``method`` (see ``ONE_SHOT``) at target ``sparsity`` (fraction 0..1). Pattern
        methods prune kernels only, whatever the scope; ``scope`` is what is counted."""
        check_choice(method, ONE_SHOT, "method")
        if method in PATTERN_METHODS:
            check_choice(scope, SCOPES, "scope")
            b = self.baseline
            ranks = None
            if method in NM_GROUPS:
                m = NM_GROUPS[method]
                if m not in self._ranks:
                    self._ranks[m] = [nm_ranks(a, m) if p else None
                                      for a, p in zip(b.arrays, patterned(b.kinds, b.arrays))]
                ranks = self._ranks[m]
            masks = pattern_masks(b.arrays, b.kinds, method, sparsity, ranks)
        else:
            masks = keep_masks(self.index(scope), method, sparsity)
        return describe(apply_masks(self.baseline.arrays, masks), self.baseline, method, scope,
                        float(sparsity))


def describe(arrays: list[np.ndarray], baseline: Baseline, method: str, scope: str,
             target: float) -> Pruned:
    """Wrap pruned arrays with their achieved sparsity in both scopes and per array."""
    kinds = baseline.kinds
    return Pruned(
        method=method, scope=scope, target=target, arrays=tuple(arrays),
        sparsity=total_sparsity(arrays, kinds, scope),
        sparsity_all=total_sparsity(arrays, kinds, "all"),
        sparsity_kernels=total_sparsity(arrays, kinds, "kernels"),
        per_array=tuple(array_sparsity(arrays, kinds, baseline.names)),
        sparsity_model=model_zero_fraction(arrays),
    )


def model_zero_fraction(arrays) -> float:
    """Zeros / entries over every array (what the saved file holds, normalization included)."""
    size = sum(int(a.size) for a in arrays)
    return sum(int(a.size - np.count_nonzero(a)) for a in arrays) / size if size else 0.0
