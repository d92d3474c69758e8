"""Stored inputs -> what the model takes: a visible, overridable scaling and a strict check.

Scalings: 'none' (fed as stored), '1/255' (8-bit pixels to 0..1), '1/127.5-1' (8-bit pixels
to -1..1, the keras.applications MobileNet convention). 'auto' picks '1/255' for 8-bit
pixel values (whole numbers in 0..255, some above 1) when the model has no Rescaling or
Normalization layer of its own, and 'none' otherwise (token ids, values already scaled, or a
model that scales its inputs itself). The choice and its reason are kept with the prepared
data so every result can say what was applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .data import DataError, Dataset, Split
from .modelinfo import ModelInfo
from .models import ModelError

INPUT_SCALES = ("auto", "none", "1/255", "1/127.5-1")
SCALE_LABELS = {"none": "none (inputs fed as stored)", "1/255": "x / 255 (0..255 -> 0..1)",
                "1/127.5-1": "x / 127.5 - 1 (0..255 -> -1..1)"}


@dataclass(frozen=True)
class Fit:
    """A dataset prepared for one model: the scaling applied and why."""

    data: Dataset = field(repr=False)
    scale: str  # one of INPUT_SCALES but 'auto'
    reason: str
    requested: str = "auto"

    def as_dict(self) -> dict:
        return {"input_scale": self.scale, "input_scale_requested": self.requested,
                "input_scale_reason": self.reason}


def check_scale(scale: str) -> str:
    if scale not in INPUT_SCALES:
        raise ValueError(f"unknown input scale {scale!r}; choose one of {', '.join(INPUT_SCALES)}")
    return scale


def _splits(data: Dataset) -> list[tuple[str, Split]]:
    return [(n, s) for n, s in (("train", data.train), ("val", data.val), ("test", data.test))
            if s is not None]


def _stats(data: Dataset) -> tuple[float, float, bool]:
    """(min, max, every value a whole number) over every split's inputs."""
    lo, hi, whole = np.inf, -np.inf, True
    for _, s in _splits(data):
        lo, hi = min(lo, float(s.x.min())), max(hi, float(s.x.max()))
        if whole and s.x.dtype.kind == "f":
            whole = bool(np.all(s.x == np.round(s.x)))
    return lo, hi, whole


def auto_scale(data: Dataset, info: ModelInfo) -> tuple[str, str]:
    """(scale, reason) that 'auto' resolves to for this data and model."""
    if info.input_kind == "tokens":
        return "none", "integer token ids are fed as stored"
    if info.own_scaling:
        return "none", f"the model scales its inputs itself ({', '.join(info.own_scaling)})"
    lo, hi, whole = _stats(data)
    if whole and lo >= 0 and 1 < hi <= 255:
        return "1/255", (f"8-bit pixel values {lo:g}..{hi:g} and no Rescaling layer in the model; "
                         "choose 'none' if the model was trained on unscaled values")
    return "none", f"values already in [{lo:g}, {hi:g}]"


def _shape_text(shape: tuple) -> str:
    return "(N, " + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _fit_shape(x: np.ndarray, info: ModelInfo, what: str) -> np.ndarray:
    want = info.input_shape
    got = x.shape[1:]
    if len(got) + 1 == len(want) and want[-1] == 1:
        x, got = x[..., None], (*got, 1)  # (N, H, W) images for a one-channel model
    if len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
        hint = ""
        if len(got) == len(want) == 3 and got[0] == want[-1] and got[1:] == want[:2]:
            hint = " (channels-first data: transpose it to NHWC)"
        raise ModelError(f"the model takes {info.input_kind} of shape {tuple(want)}, arrays "
                         f"{_shape_text(want)}, but the data has {tuple(got)} ({what}){hint}; "
                         "pick data and model that match")
    return x


def _check_range(x: np.ndarray, info: ModelInfo, scale: str, what: str) -> None:
    lo, hi = float(x.min()), float(x.max())
    if info.input_kind == "tokens":
        if x.dtype.kind == "f" and not np.all(x == np.round(x)):
            raise DataError(f"{what}: the model embeds integer token ids but the inputs hold fractions")
        if lo < 0 or hi >= (info.vocab_size or np.inf):
            raise DataError(f"{what}: token ids {lo:g}..{hi:g} fall outside the model's vocabulary "
                            f"0..{(info.vocab_size or 0) - 1}")
    elif scale in ("1/255", "1/127.5-1") and (lo < 0 or hi > 255):
        raise DataError(f"{what}: scaling {scale} expects 8-bit pixel values in 0..255, got "
                        f"{lo:g}..{hi:g}; choose input scale 'none' for data already scaled")


def _prepare(x: np.ndarray, info: ModelInfo, scale: str, what: str) -> np.ndarray:
    x = _fit_shape(x, info, what)
    _check_range(x, info, scale, what)
    if info.input_dtype.startswith(("int", "uint")):
        return np.ascontiguousarray(x, dtype=info.input_dtype)
    if scale == "1/255":
        return np.ascontiguousarray(x, dtype=np.float32) / np.float32(255)
    if scale == "1/127.5-1":
        return np.ascontiguousarray(x, dtype=np.float32) / np.float32(127.5) - np.float32(1)
    return np.ascontiguousarray(x, dtype=np.float32)


def fit_inputs(data: Dataset, info: ModelInfo, scale: str = "auto") -> Fit:
    """``data`` prepared for the model ``info`` describes (cached on ``data`` per shape,
    dtype and scaling, so sessions sharing a dataset share its prepared copy too)."""
    check_scale(scale)
    if data.input_scale is not None:
        raise ValueError(f"{data.name}: already prepared for a model (scaling {data.input_scale})")
    if scale == "auto":
        chosen, reason = auto_scale(data, info)
    else:
        chosen, reason = scale, "chosen by the user"
        if info.input_kind == "tokens" and chosen != "none":
            raise DataError(f"input scale {chosen} does not apply to token ids; use 'none'")
    key = (info.input_shape, info.input_dtype, info.input_kind, info.vocab_size, chosen)
    if key not in data.prepared:
        parts = {n: Split(_prepare(s.x, info, chosen, f"{n} inputs"), s.y) for n, s in _splits(data)}
        for part in parts.values():  # shared by every session that fits the same data: read-only
            part.x.setflags(write=False)
        data.prepared[key] = replace(data, val=parts["val"], train=parts.get("train"),
                                     test=parts.get("test"), input_scale=chosen)
    return Fit(data.prepared[key], chosen, reason, scale)


def ensure_fitted(data: Dataset, model, scale: str = "auto") -> Dataset:
    """``data`` prepared for ``model`` unless it already is (retraining, training entry points)."""
    if data.input_scale is not None:
        return data
    from .modelinfo import describe_model

    return fit_inputs(data, describe_model(model), scale).data
