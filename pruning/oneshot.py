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
    # what is derived from the arrays alone (sorted |w|, N:M ranks), computed once for every
    # session and thread that prunes this baseline; never pickled (workers derive their own)
    _derived: dict = field(default_factory=dict, init=False, compare=False, repr=False)

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

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_derived": {}}

    @property
    def params(self) -> int:
        return int(sum(a.size for a in self.arrays))

    def magnitude_index(self, scope: str) -> MagnitudeIndex:
        """|w| of the scope's arrays sorted once, shared by every pruner of this baseline
        (the sort is most of a new session's first prune; its arrays are read-only)."""
        key = ("index", scope)
        if key not in self._derived:
            index = magnitude_index(self.arrays, self.kinds, scope)
            for a in (*index.abs_arrays, index.sorted_global, *index.sorted_each):
                if a is not None:
                    a.setflags(write=False)
            self._derived[key] = index
        return self._derived[key]

    def nm_ranks(self, m: int) -> list:
        """N:M group ranks of each patterned kernel for group size ``m`` (None elsewhere), once."""
        key = ("nm", m)
        if key not in self._derived:
            ranks = [nm_ranks(a, m) if p else None
                     for a, p in zip(self.arrays, patterned(self.kinds, self.arrays))]
            for r in ranks:
                if r is not None:
                    r.setflags(write=False)
            self._derived[key] = ranks
        return self._derived[key]

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
    """Prunes a ``Baseline`` at any level; |w| is sorted once per scope (by the baseline,
    for every pruner of it) and reused."""

    baseline: Baseline

    def index(self, scope: str) -> MagnitudeIndex:
        check_choice(scope, SCOPES, "scope")
        return self.baseline.magnitude_index(scope)

    def prune(self, method: str, sparsity: float, scope: str = "all") -> Pruned:
        """``method`` (see ``ONE_SHOT``) at target ``sparsity`` (fraction 0..1). Pattern
        methods prune kernels only, whatever the scope; ``scope`` is what is counted."""
        check_choice(method, ONE_SHOT, "method")
        if method in PATTERN_METHODS:
            check_choice(scope, SCOPES, "scope")
            b = self.baseline
            ranks = b.nm_ranks(NM_GROUPS[method]) if method in NM_GROUPS else None
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
