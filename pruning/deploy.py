"""What a model costs to deploy: parameters, multiply-adds, file sizes and measured latency.

``deployment_report`` composes ``pruning.macs`` (multiply-adds), ``pruning.export`` (.h5,
.keras), ``pruning.tflite`` (LiteRT files) and ``pruning.latency`` (timing), always
against the dense model measured in the same call, so every ratio compares like with like.
"""

from __future__ import annotations

import gzip
import os

import keras
import numpy as np

from .data import Dataset
from .export import export_bytes
from .latency import MIN_RUNS, keras_call, litert_call, paired_medians, sample_batch
from .macs import count_macs, mac_count
from .quantize import keras_int8
from .tflite import TFLITE_FORMATS, LiteRTModel, TFLiteError, calibration_images, convert

BATCHES = (1, 256)
RUNTIMES = ("keras", "litert")

__all__ = ["BATCHES", "RUNTIMES", "count_macs", "deployment_report", "file_sizes"]


def _gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def file_sizes(model: keras.Model, data: Dataset | None = None) -> tuple[dict[str, int], dict[str, bytes], list[str]]:
    """Bytes of every file the product can write for ``model``.

    Returns:
        (sizes, tflite_bytes, notes): ``sizes`` has 'h5' (legacy Keras 2 weights), 'keras'
        (full model), 'gzip' (the .h5 gzipped, -9), 'keras-int8' (``model.quantize("int8")``
        saved as .keras), one entry per ``.tflite`` variant and
        '<variant>.gz' for each; ``tflite_bytes`` the converted files by variant; ``notes``
        why a variant is missing (full int8 needs a training split to calibrate on).
    """
    h5 = export_bytes(model, "h5")
    sizes = {"h5": len(h5), "keras": len(export_bytes(model, "keras")), "gzip": _gz(h5)}
    notes: list[str] = []
    try:
        sizes["keras-int8"] = len(export_bytes(keras_int8(model).model, "keras"))
    except ValueError as e:
        notes.append(f"keras-int8: {e}")
    files: dict[str, bytes] = {}
    for fmt in TFLITE_FORMATS:
        try:
            calib = calibration_images(data) if fmt == "tflite-int8-full" and data is not None else None
            if fmt == "tflite-int8-full" and calib is None:
                notes.append("tflite-int8-full: no data given to calibrate on; size not measured")
                continue
            files[fmt] = convert(model, fmt, calib)  # the smaller of sparse / dense format
        except TFLiteError as e:
            notes.append(f"{fmt}: {e}")
            continue
        sizes[fmt] = len(files[fmt])
        sizes[f"{fmt}.gz"] = _gz(files[fmt])
    return sizes, files, notes


def _by_batch(values: dict[tuple[str, int], float]) -> dict[str, dict[str, float]]:
    return {rt: {str(b): values[(rt, b)] for b in sorted({b for r, b in values if r == rt})}
            for rt in RUNTIMES if any(r == rt for r, _ in values)}


def deployment_report(model: keras.Model, dense_model: keras.Model, data: Dataset | None = None,
                      runs: int = MIN_RUNS, batches: tuple[int, ...] = BATCHES, warmup: int = 3,
                      num_threads: int | None = None) -> dict:
    """Deployment figures of ``model`` beside ``dense_model``, measured in this one call.

    Args:
        model: the pruned / smaller / quantized-to-be model (read only).
        dense_model: the dense reference (read only).
        data: calibration images for the full-int8 file come from ``data.train``; without
            it that variant is left out (see ``notes``).
        runs: timed runs per figure (median; reports use >= 20). warmup: untimed runs first.
        batches: batch sizes timed (default 1 and 256).
        num_threads: LiteRT interpreter threads (default all CPUs; Keras uses TensorFlow's
            default thread pools).

    Returns:
        A dict: ``params``, ``nonzeros``, ``macs`` (dense multiply-adds per sample),
        ``effective_macs`` (non-zero kernel entries only), the same with a ``dense_``
        prefix, ``sizes`` and ``dense_sizes`` (bytes; see ``file_sizes``), ``latency_ms``
        and ``dense_latency_ms`` as ``{"keras": {"1": ms, "256": ms}, "litert": {...}}``
        (LiteRT runs each model's float32 ``.tflite``), ``speedup`` (dense / model, same
        shape), ``runs``, ``warmup``, ``threads``, ``litert_delegate``, ``macs_skipped``
        (weighted layers not counted) and ``notes``.

    Example:
        >>> r = deployment_report(pruned_model, dense_model, data, runs=20)  # doctest: +SKIP
        >>> r["speedup"]["keras"]["1"], r["sizes"]["tflite-int8"]            # doctest: +SKIP
    """
    if tuple(model.input_shape[1:]) != tuple(dense_model.input_shape[1:]):
        raise ValueError(f"the model takes {tuple(model.input_shape[1:])} but the dense model "
                         f"{tuple(dense_model.input_shape[1:])}; compare models of one task")
    mc, dmc = mac_count(model), mac_count(dense_model)
    arrays, dense_arrays = model.get_weights(), dense_model.get_weights()
    sizes, files, notes = file_sizes(model, data)
    dense_sizes, dense_files, dense_notes = file_sizes(dense_model, data)
    notes += [f"dense {n}" for n in dense_notes]
    threads = num_threads or os.cpu_count() or 1
    runners, delegates = {}, {}
    for who, fs in (("model", files), ("dense", dense_files)):
        if "tflite" in fs:
            runners[who] = LiteRTModel(fs["tflite"], num_threads=threads)
            delegates[who] = runners[who].delegate
    lat: dict[str, dict[tuple[str, int], float]] = {"model": {}, "dense": {}}
    shape = tuple(int(d) for d in model.input_shape[1:])
    for b in batches:
        x = sample_batch(shape, b)
        ms = paired_medians([keras_call(model, x), keras_call(dense_model, x)], runs, warmup)
        lat["model"][("keras", b)], lat["dense"][("keras", b)] = ms
        if len(runners) == 2:
            ms = paired_medians([litert_call(runners["model"], x), litert_call(runners["dense"], x)],
                                runs, warmup)
            lat["model"][("litert", b)], lat["dense"][("litert", b)] = ms
    if len(runners) < 2:
        notes.append("LiteRT latency not measured: a float32 .tflite did not convert")
    latency, dense_latency = _by_batch(lat["model"]), _by_batch(lat["dense"])
    speedup = {rt: {b: dense_latency[rt][b] / v for b, v in per.items()} for rt, per in latency.items()}
    return {
        "params": int(sum(a.size for a in arrays)),
        "nonzeros": int(sum(np.count_nonzero(a) for a in arrays)),
        "dense_params": int(sum(a.size for a in dense_arrays)),
        "dense_nonzeros": int(sum(np.count_nonzero(a) for a in dense_arrays)),
        "macs": mc.macs, "effective_macs": mc.effective_macs,
        "dense_macs": dmc.macs, "dense_effective_macs": dmc.effective_macs,
        "macs_skipped": list(mc.skipped),
        "sizes": sizes, "dense_sizes": dense_sizes,
        "latency_ms": latency, "dense_latency_ms": dense_latency, "speedup": speedup,
        "runs": runs, "warmup": warmup, "batches": list(batches),
        "threads": {"litert": threads, "keras": "TensorFlow default"},
        "litert_delegate": delegates, "notes": notes,
    }
