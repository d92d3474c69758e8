"""The tiny synthetic task shared by tests (importable by name: conftest.py is ambiguous)."""

from __future__ import annotations

import numpy as np

TINY_SHAPE = (12, 12, 1)
TINY_CLASSES = 3


def make_tiny_arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class k = a bright blob in region k of a noisy 12x12 image (uint8 pixels)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, TINY_CLASSES, size=n)
    x = rng.integers(0, 60, size=(n, 12, 12, 1)).astype(np.uint8)
    for i, k in enumerate(y):
        r, c = [(1, 1), (1, 7), (7, 4)][k]
        x[i, r:r + 4, c:c + 4, 0] = rng.integers(180, 256, size=(4, 4))
    return x, y


# the sizes and seeds of conftest's ``tiny_data`` splits
TINY_SPLITS = {"train": (600, 1), "val": (200, 2), "test": (200, 3)}


def tiny_npz_arrays(parts: tuple[str, ...] = ("train", "val", "test")) -> dict[str, np.ndarray]:
    """``tiny_data`` as the raw uint8 arrays of an .npz (x_train, y_train, x_val, ...)."""
    arrays = {}
    for part in parts:
        n, seed = TINY_SPLITS[part]
        arrays[f"x_{part}"], arrays[f"y_{part}"] = make_tiny_arrays(n, seed)
    return arrays
