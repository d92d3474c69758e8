"""Units at the edges: percent (UI, CLI) <-> fractions 0..1 (the API), grids, byte counts.

NumPy-only. The API takes and returns fractions; percent exists only where a person types
or reads a number.
"""

from __future__ import annotations

import math

import numpy as np

from .masks import check_sparsity


def fraction(percent: float) -> float:
    """Percent -> fraction, rounded so equal inputs (sliders, grids) give equal cache keys."""
    return round(float(percent) / 100.0, 6)


def parse_percent(text: str) -> float:
    """A sparsity percent as typed ('90', '99.5') -> its fraction; ValueError if not in 0..100."""
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"expected a percent like 90, got {text!r}") from None
    if not 0 <= v <= 100 or math.isnan(v):
        raise ValueError(f"sparsity is a percent in 0..100, got {text}")
    return v / 100


def whole_percent(value: float, what: str) -> int:
    """A sparsity fraction that must be a whole percent (0.99 -> 99); ValueError otherwise."""
    p = 100 * check_sparsity(value)
    if abs(p - round(p)) > 1e-9:
        raise ValueError(f"{what} must be a whole percent (like 0.99), got {value}")
    return int(round(p))


def parse_grid(spec: str) -> list[float]:
    """Percent grid 'START:STOP:STEP' (STOP included) or 'A,B,C' -> fractions 0..1."""
    text = spec.strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            start, stop, step = parts
            if step <= 0:
                raise ValueError
            count = int(np.floor((stop - start) / step + 1e-9)) + 1  # STOP included only if on the grid
            values = [start + i * step for i in range(max(count, 0))]
        else:
            values = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ValueError(f"bad sparsity grid {spec!r}: use percent 'START:STOP:STEP' "
                         "like 0:95:5, or a list like 50,80,90") from None
    if not values:
        raise ValueError(f"bad sparsity grid {spec!r}: no levels")
    grid = []
    for v in values:
        if not 0 <= v <= 100:
            raise ValueError(f"sparsity grid values are percent in 0..100, got {v:g}")
        grid.append(float(round(v, 6)) / 100)
    return grid


def sweep_grid(step_pct: float, top_pct: float) -> list[float]:
    """Fractions 0, step, 2*step, ... up to ``top_pct`` (percent), ``top_pct`` itself included."""
    n = int(top_pct / step_pct + 1e-9)
    levels = {round(k * step_pct, 6) for k in range(n + 1)} | {round(top_pct, 6)}
    return [fraction(v) for v in sorted(levels)]


def format_percent(x: float | None, digits: int = 2) -> str:
    """0.8734 -> '87.34 %' ('—' for None/NaN)."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    return f"{100 * x:.{digits}f} %"


def format_bytes(n: int) -> str:
    """A byte count for people: '512 B', '1 KiB', '24.3 KiB', '1.5 GiB'."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} B"
