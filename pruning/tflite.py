"""LiteRT (TFLite) files of a Keras model: conversion, the interpreter, verified exports.

Three variants, all through ``tf.lite.TFLiteConverter``:

- ``tflite``: float32 weights and compute;
- ``tflite-int8``: dynamic-range quantization (int8 weights, float activations);
- ``tflite-int8-full``: full integer quantization (int8 weights, activations, input and
  output), calibrated on a representative sample of the *training* split.

A model whose kernels are at least 10 % zero is also converted with
``tf.lite.Optimize.EXPERIMENTAL_SPARSITY`` (TFLite's sparse format) and the smaller of the
two files is kept: the sparse format pays an index per non-zero, so it wins at high
sparsity and loses at 2:4. The runtime densifies sparse tensors (or runs its builtin
kernels), so speed stays that of the dense model; see ``pruning.latency``. The accuracy of a file is always measured on the
file itself through the LiteRT interpreter (``ai-edge-litert``), after it was written and
read back, never assumed from the Keras model.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import keras
import numpy as np

from .data import Dataset, Split
from .evaluate import Score, score_probabilities

TFLITE_FORMATS = ("tflite", "tflite-int8", "tflite-int8-full")
SPARSE_FROM = 0.10  # kernel zero fraction from which EXPERIMENTAL_SPARSITY is used
CALIBRATION_SAMPLES = 200


class TFLiteError(ValueError):
    """A conversion or a written .tflite file that cannot be used; the message says why."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Mute fds 1 and 2 while the converter runs: MLIR prints pages of notes there (and
    Keras' export prints the traced function through ``sys.stdout``, redirected beside
    this), which would bury messages and corrupt ``--json`` output.
    Python exceptions still carry their messages."""
    try:
        saved = [os.dup(1), os.dup(2)]
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def kernel_zero_fraction(model: keras.Model) -> float:
    """Zeros / entries over the model's kernels (what EXPERIMENTAL_SPARSITY can encode)."""
    from .models import weight_arrays

    ks = [w.array for w in weight_arrays(model) if w.kind == "kernel"]
    size = sum(k.size for k in ks)
    return (size - sum(int(np.count_nonzero(k)) for k in ks)) / size if size else 0.0


def calibration_images(data: Dataset, samples: int = CALIBRATION_SAMPLES, seed: int = 0) -> np.ndarray:
    """A seeded sample of training images for full-int8 calibration.

    Raises:
        TFLiteError: the dataset has no training split (val and test are kept out of
            calibration, so the accuracy measured on them stays honest).
    """
    if data.train is None or len(data.train) == 0:
        raise TFLiteError("full int8 needs training images to calibrate on, and this dataset has "
                          "no training split; add x_train/y_train (or train_*.pkl), or use "
                          "tflite-int8 (dynamic range, no calibration)")
    n = min(samples, len(data.train))
    idx = np.sort(np.random.default_rng(seed).choice(len(data.train), n, replace=False))
    return np.asarray(data.train.x[idx], np.float32)


def convert_chosen(model: keras.Model, fmt: str = "tflite", calibration: np.ndarray | None = None,
                   sparse: bool | None = None) -> tuple[bytes, bool]:
    """The ``.tflite`` bytes of ``model`` in format ``fmt`` and whether the sparse format is used.

    Args:
        model: the Keras model (read only).
        fmt: 'tflite', 'tflite-int8' or 'tflite-int8-full'.
        calibration: images for 'tflite-int8-full' (``calibration_images``); required there.
        sparse: use EXPERIMENTAL_SPARSITY (True), never (False), or (None, default) convert
            both ways when kernels are >= 10 % zero and keep the smaller file: the sparse
            format stores an index per non-zero, so at moderate sparsity (2:4, int8) it is
            larger than the dense layout.

    Raises:
        TFLiteError: unknown format, missing calibration images, or a failed conversion.
    """
    if fmt not in TFLITE_FORMATS:
        raise TFLiteError(f"unknown LiteRT format {fmt!r}; choose one of {', '.join(TFLITE_FORMATS)}")
    if sparse is not None:
        return _convert(model, fmt, calibration, sparse), sparse
    dense = _convert(model, fmt, calibration, False)
    if kernel_zero_fraction(model) < SPARSE_FROM:
        return dense, False
    packed = _convert(model, fmt, calibration, True)
    return (packed, True) if len(packed) < len(dense) else (dense, False)


def convert(model: keras.Model, fmt: str = "tflite", calibration: np.ndarray | None = None,
            sparse: bool | None = None) -> bytes:
    """``convert_chosen``'s bytes only."""
    return convert_chosen(model, fmt, calibration, sparse)[0]


def _convert(model: keras.Model, fmt: str, calibration: np.ndarray | None, sparse: bool) -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    opts = [] if fmt == "tflite" else [tf.lite.Optimize.DEFAULT]
    conv.optimizations = opts + ([tf.lite.Optimize.EXPERIMENTAL_SPARSITY] if sparse else [])
    if fmt == "tflite-int8-full":
        if calibration is None or len(calibration) == 0:
            raise TFLiteError("tflite-int8-full needs calibration images from the training split")
        images = np.asarray(calibration, np.float32)

        def representative():
            for i in range(len(images)):
                yield [images[i:i + 1]]

        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    try:
        with _quiet(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "statistics for quantized inputs": we set them
            return bytes(conv.convert())
    except Exception as e:  # the converter raises many types; all mean "this model did not convert"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TFLiteError(f"LiteRT conversion to {fmt} failed: {first}") from None


class LiteRTModel:
    """A ``.tflite`` model in the LiteRT interpreter, predicting float outputs for float images.

    Quantized inputs and outputs (full int8) are (de)quantized with the file's own scales.
    XNNPack is used when it accepts the model; otherwise the builtin kernels run and
    ``delegate`` says so. One instance per thread (the interpreter is not thread-safe).

    Args:
        content: the file's bytes, or ``path`` to read it from.
        num_threads: interpreter threads (default: all CPUs, like TensorFlow).
    """

    def __init__(self, content: bytes | None = None, path: str | Path | None = None,
                 num_threads: int | None = None) -> None:
        self.num_threads = num_threads or os.cpu_count() or 1
        self._src = {"model_path": str(path)} if path is not None else {"model_content": content}
        self.delegate = "XNNPack"
        try:
            self._load(xnnpack=True)
        except (RuntimeError, ValueError) as e:
            if "delegate" not in str(e).lower():
                raise TFLiteError(f"LiteRT cannot load this file: {str(e).splitlines()[0]}") from None
            self._load(xnnpack=False)
        inp, out = self._it.get_input_details(), self._it.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise TFLiteError(f"expected one input and one output, the file has {len(inp)} and {len(out)}")
        self.input_shape = tuple(int(d) for d in self._in["shape_signature"][1:])
        self.num_outputs = int(self._out["shape_signature"][-1])

    def _load(self, xnnpack: bool, batch: int | None = None) -> None:
        """(Re)build the interpreter; without XNNPack when it refuses the file (it cannot
        prepare some sparse hybrid int8 layers), which ``delegate`` then says."""
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        kind = {} if xnnpack else {
            "experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
        self._it = Interpreter(**self._src, num_threads=self.num_threads, **kind)
        if batch is not None:
            shape = self._it.get_input_details()[0]["shape_signature"]
            self._it.resize_tensor_input(self._it.get_input_details()[0]["index"],
                                         [batch, *[int(d) for d in shape[1:]]])
        self._it.allocate_tensors()
        if not xnnpack:
            self.delegate = "builtin kernels (XNNPack refused this file)"
        self._in, self._out = self._it.get_input_details()[0], self._it.get_output_details()[0]
        self._batch = int(self._in["shape"][0])

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            try:
                self._load(self.delegate == "XNNPack", batch)
            except RuntimeError as e:
                if "delegate" not in str(e).lower():
                    raise
                self._load(False, batch)

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        dtype = self._in["dtype"]
        if dtype == np.float32:
            return np.asarray(x, np.float32)
        scale, zero = self._in["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, y: np.ndarray) -> np.ndarray:
        if self._out["dtype"] == np.float32:
            return y
        scale, zero = self._out["quantization"]
        return (y.astype(np.float32) - zero) * scale

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """Outputs for one batch ``x`` (the interpreter is resized to its length)."""
        self._resize(len(x))
        self._it.set_tensor(self._in["index"], self._quantize(x))
        try:
            self._it.invoke()
        except RuntimeError as e:  # XNNPack may refuse a layer only when it first runs
            if "delegate" not in str(e).lower() or self.delegate != "XNNPack":
                raise
            self._load(False, len(x))
            self._it.set_tensor(self._in["index"], self._quantize(x))
            self._it.invoke()
        return self._dequantize(self._it.get_tensor(self._out["index"]).copy())

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Outputs for all of ``x``, ``batch_size`` at a time (the last batch padded)."""
        outs = []
        for i in range(0, len(x), batch_size):
            chunk = np.asarray(x[i:i + batch_size], np.float32)
            n = len(chunk)
            if n < batch_size and len(x) > batch_size:
                chunk = np.concatenate([chunk, np.zeros((batch_size - n, *chunk.shape[1:]), np.float32)])
            outs.append(self.invoke(chunk)[:n])
        return np.concatenate(outs) if outs else np.zeros((0, self.num_outputs), np.float32)

    def evaluate(self, split: Split, batch_size: int = 256) -> Score:
        """Accuracy and loss of the file on ``split`` (probabilities clipped like Keras)."""
        return score_probabilities(self.predict(split.x, batch_size), split.y)


@dataclass(frozen=True)
class TFLiteFile:
    """A written, reloaded and evaluated ``.tflite`` file."""

    fmt: str
    data: bytes
    val: Score
    test: Score | None
    sparse: bool
    delegate: str

    def as_dict(self) -> dict:
        return {"format": self.fmt, "bytes": len(self.data), "accuracy": self.val.accuracy,
                "loss": self.val.loss, "test_accuracy": self.test.accuracy if self.test else None,
                "sparse_format": self.sparse, "delegate": self.delegate}


def check_tflite(path: str | Path, model: keras.Model, data: Dataset | None = None,
                 val_limit: int | None = None, test_limit: int | None = None
                 ) -> tuple[Score | None, Score | None, str]:
    """Reload a written ``.tflite`` file and evaluate it on val (and test).

    Raises:
        TFLiteError: the file does not load, or its input/output shapes differ from ``model``'s.
    """
    try:
        lite = LiteRTModel(path=path)
    except TFLiteError:
        raise
    except Exception as e:  # any failure to read back is a failed export
        raise TFLiteError(f"{Path(path).name}: the written file does not load back "
                          f"({type(e).__name__}: {e}); nothing was offered") from None
    want_in, want_out = tuple(model.input_shape[1:]), int(model.output_shape[-1])
    if lite.input_shape != want_in or lite.num_outputs != want_out:
        raise TFLiteError(f"{Path(path).name}: reloads with input {lite.input_shape} and "
                          f"{lite.num_outputs} outputs, expected {want_in} and {want_out}")
    if data is None:
        return None, None, lite.delegate
    val = lite.evaluate(data.val.head(val_limit))
    test = lite.evaluate(data.test.head(test_limit)) if data.test is not None else None
    if not np.isfinite(val.loss):
        raise TFLiteError(f"{Path(path).name}: the reloaded file predicts NaN or infinity")
    return val, test, lite.delegate


def verified_tflite(model: keras.Model, fmt: str, data: Dataset, val_limit: int | None = None,
                    test_limit: int | None = None, sparse: bool | None = None,
                    seed: int = 0) -> TFLiteFile:
    """Convert, write to a temporary file, reload it and measure its own val/test accuracy.

    Example:
        >>> f = verified_tflite(model, "tflite-int8", data)  # doctest: +SKIP
        >>> f.val.accuracy, len(f.data)                       # doctest: +SKIP
    """
    calib = calibration_images(data, seed=seed) if fmt == "tflite-int8-full" else None
    content, sparse = convert_chosen(model, fmt, calib, sparse)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"model-{fmt}.tflite"
        p.write_bytes(content)
        data_back = p.read_bytes()
        val, test, delegate = check_tflite(p, model, data, val_limit, test_limit)
    assert val is not None
    return TFLiteFile(fmt, data_back, val, test, sparse, delegate)


def write_tflite(file: TFLiteFile, path: str | Path) -> Path:
    """Write a verified file atomically and check the bytes on disk are the ones verified.

    Raises:
        TFLiteError: the name does not end in .tflite, or the file on disk differs.
    """
    from .atomic import atomic_write

    path = Path(path)
    if path.suffix != ".tflite":
        raise TFLiteError(f"{path.name}: LiteRT files must end in .tflite")
    atomic_write(path, lambda p: p.write_bytes(file.data), mode=0o644)
    if path.read_bytes() != file.data:
        path.unlink(missing_ok=True)
        raise TFLiteError(f"{path}: the file on disk differs from the one verified; removed")
    return path
