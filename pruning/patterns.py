"""Semi-structured sparsity masks (NumPy only): N:M patterns and block sparsity.

**N:M** (NVIDIA ASP's ``m4n2_1d``, TF-MOT's ``sparsity_m_by_n``): in every group of M
consecutive weights along the *input-channel* axis at most N are non-zero; the N largest
|w| of each group survive (ties: the lower index, like ``tf.math.top_k``). The axis is the
last one of TFLite's kernel layout (Dense ``[out, in]``, Conv2D ``[out, h, w, in]``), i.e.
Keras' axis -2 (Dense ``(in, out)``, Conv ``(h, w, in, out)``). A last group shorter than
M (fewer input channels than a multiple of M) is padded, as both peers do, so a layer with
fewer than M input channels keeps min(N, channels) of them.

**Block**: the same 2-D view (rows = every output position, columns = input channels) is
cut into blocks of ``BLOCK`` (rows x columns); a block's score is its mean |w| (TF-MOT's
default 'AVG' pooling) over the entries it really holds, and each kernel is pruned by the
seed's rule applied to its block scores (threshold = the s-th percentile, blocks scoring
below it are zeroed; 1.0 zeroes everything).

Both act on kernels only (arrays of kind 'kernel' with 2 or more dimensions); biases stay.
As one-shot methods the pattern follows the sparsity level: method ``nm`` (groups of 4)
at level s keeps N = M - round(s M) per group (50 % -> 2:4), ``nm8`` the same in groups of
8 (50 % -> 4:8).
"""

from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np

NM_GROUPS = {"nm": 4, "nm8": 8}  # method -> group size M
BLOCK = (1, 4)  # block rows (output positions) x columns (input channels)
PATTERN_METHODS = (*NM_GROUPS, "block")


def _check_sparsity(sparsity: float) -> float:
    s = float(sparsity)
    if not (0.0 <= s <= 1.0) or math.isnan(s):
        raise ValueError(f"sparsity must be a fraction in [0, 1], got {sparsity}")
    return s


def parse_pattern(text: str) -> tuple[int, int]:
    """'2:4' -> (2, 4): at most N non-zeros in every M; M is 4 or 8, 0 <= N <= M.

    Raises:
        ValueError: not 'N:M', or N/M out of range.
    """
    m = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", str(text))
    if not m:
        raise ValueError(f"bad N:M pattern {text!r}: write it as N:M, e.g. 2:4 or 4:8")
    n, size = int(m.group(1)), int(m.group(2))
    if size not in NM_GROUPS.values():
        raise ValueError(f"bad N:M pattern {text!r}: groups of M = "
                         f"{' or '.join(map(str, NM_GROUPS.values()))} are supported, got M = {size}")
    if n > size:
        raise ValueError(f"bad N:M pattern {text!r}: N (non-zeros kept) cannot exceed M = {size}")
    return n, size


def pattern_method(n: int, m: int) -> tuple[str, float]:
    """(one-shot method, sparsity level) that prunes to the N:M pattern: (2, 4) -> ('nm', 0.5)."""
    method = next((k for k, v in NM_GROUPS.items() if v == m), None)
    if method is None or not 0 <= n <= m:
        raise ValueError(f"no method for the pattern {n}:{m}")
    return method, 1.0 - n / m


def nm_of(method: str, sparsity: float) -> tuple[int, int]:
    """The N:M pattern an 'nm'/'nm8' method uses at ``sparsity``: N = M - round(s M)."""
    m = NM_GROUPS[method]
    return m - int(math.floor(_check_sparsity(sparsity) * m + 0.5)), m


def _view(a: np.ndarray) -> np.ndarray:
    """2-D view: one row per output position, input channels along the columns."""
    return np.moveaxis(a, -2, -1).reshape(-1, a.shape[-2])


def _unview(v: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    moved = (*shape[:-2], shape[-1], shape[-2])
    return np.moveaxis(v.reshape(moved), -1, -2)


def _pad_cols(v: np.ndarray, m: int, fill: float) -> np.ndarray:
    extra = (-v.shape[1]) % m
    return v if not extra else np.pad(v, ((0, 0), (0, extra)), constant_values=fill)


def nm_ranks(kernel: np.ndarray, m: int) -> np.ndarray:
    """Rank of each entry's |w| within its group of ``m`` input channels (0 = largest).

    ``nm_ranks(k, m) < n`` is the N:M keep-mask; computed once, it serves every N.
    """
    k = np.asarray(kernel)
    if k.ndim < 2:
        raise ValueError(f"N:M needs a kernel with an input-channel axis, got shape {k.shape}")
    v = _pad_cols(np.abs(_view(k)).astype(np.float64), m, -1.0)  # padding ranks last
    groups = v.reshape(v.shape[0], -1, m)
    order = np.argsort(-groups, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(m)[None, None, :], axis=-1)
    ranks = ranks.reshape(v.shape)[:, :k.shape[-2]]
    return _unview(ranks, k.shape)


def nm_mask(kernel: np.ndarray, n: int, m: int) -> np.ndarray:
    """Keep-mask (True = survives) with at most ``n`` of every ``m`` input channels kept."""
    if not 0 <= n <= m:
        raise ValueError(f"N must be in 0..{m}, got {n}")
    return nm_ranks(kernel, m) < n


def nm_violations(kernel: np.ndarray, n: int, m: int) -> int:
    """Groups of ``m`` input channels holding more than ``n`` non-zeros (0 = pattern holds)."""
    v = _pad_cols(_view(np.asarray(kernel)) != 0, m, False)
    return int(np.sum(v.reshape(v.shape[0], -1, m).sum(axis=-1) > n))


def block_mask(kernel: np.ndarray, sparsity: float, block: tuple[int, int] = BLOCK) -> np.ndarray:
    """Keep-mask zeroing whole ``block``s of ``kernel`` by their mean |w| (see module doc)."""
    s = _check_sparsity(sparsity)
    k = np.asarray(kernel)
    if k.ndim < 2:
        raise ValueError(f"block sparsity needs a kernel with an input-channel axis, got shape {k.shape}")
    bh, bw = block
    v = np.abs(_view(k)).astype(np.float64)
    rows, cols = v.shape
    pr, pc = (-rows) % bh, (-cols) % bw
    padded = np.pad(v, ((0, pr), (0, pc)))
    real = np.pad(np.ones_like(v), ((0, pr), (0, pc)))
    shape4 = (padded.shape[0] // bh, bh, padded.shape[1] // bw, bw)
    score = padded.reshape(shape4).sum(axis=(1, 3)) / real.reshape(shape4).sum(axis=(1, 3))
    if s >= 1.0:
        keep_blocks = np.zeros(score.shape, bool)
    else:
        keep_blocks = ~(score < np.percentile(score, 100 * s))
    keep = np.repeat(np.repeat(keep_blocks, bh, axis=0), bw, axis=1)[:rows, :cols]
    return _unview(keep, k.shape)


def patterned(kinds: Sequence[str], arrays: Sequence[np.ndarray]) -> list[bool]:
    """Which arrays a pattern method prunes: kernels with an input-channel axis."""
    return [k == "kernel" and np.ndim(a) >= 2 for k, a in zip(kinds, arrays)]


def pattern_masks(arrays: Sequence[np.ndarray], kinds: Sequence[str], method: str,
                  sparsity: float, ranks: Sequence[np.ndarray | None] | None = None
                  ) -> list[np.ndarray | None]:
    """Keep-masks of a pattern method at ``sparsity`` (None for arrays it leaves alone).

    Args:
        ranks: ``nm_ranks`` of each array for the method's M (a cache; computed if None).

    Raises:
        ValueError: unknown method or sparsity outside [0, 1].
    """
    if method not in PATTERN_METHODS:
        raise ValueError(f"unknown pattern method {method!r}; choose one of {', '.join(PATTERN_METHODS)}")
    s = _check_sparsity(sparsity)
    sel = patterned(kinds, arrays)
    if method == "block":
        return [block_mask(a, s) if p else None for a, p in zip(arrays, sel)]
    n, m = nm_of(method, s)
    if ranks is None:
        ranks = [nm_ranks(a, m) if p else None for a, p in zip(arrays, sel)]
    return [r < n if p else None for r, p in zip(ranks, sel)]
