"""A corpus of hostile and broken inputs for the ``pruning`` loaders, with expected outcomes.

Nothing binary is committed: ``build(folder)`` writes every case's file(s) into a folder
(the tests use a tmp dir) and ``load(case, folder)`` feeds one case to its loader.
Run as a script to inspect the files: ``python tests/hostile/make_corpus.py OUT_DIR``.

Cases whose payload would run code (pickles calling os.system, a Keras Lambda layer, a
custom layer) create a *marker* file when they run; the tests assert it never appears.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FASHION = (28, 28, 1)


@dataclass(frozen=True)
class Case:
    """One input and what loading it must do.

    kind: which API receives it: 'model' (load_model(path, preset)), 'model_bytes'
    (load_model_bytes(bytes, upload_name, preset)), 'npz' (load_npz), 'npz_model' (load_npz,
    then a Workbench on the preset), 'pickles' (load_pickles on every file of a folder) or
    'unpickle' (safe_unpickle). error: 'ModelError' / 'DataError', or None when the input
    must load. limits: module constants to lower for this case, {"pruning.models.X": n}.
    """

    name: str
    kind: str
    file: str
    error: str | None
    match: str
    preset: str = "fashion-mnist"
    upload_name: str | None = None
    num_classes: int | None = None
    limits: dict[str, int] = field(default_factory=dict)
    marker: str | None = None
    not_in_message: tuple[str, ...] = ()


CASES: list[Case] = []
_BUILDERS: dict[str, Callable[[Path, Case], None]] = {}


def case(name: str, kind: str, error: str | None, match: str, **kw) -> Callable:
    """Register a builder ``fn(folder, case)`` that writes the case's file."""
    ext = {"model": ".h5", "model_bytes": ".bin", "npz": ".npz", "npz_model": ".npz",
           "pickles": "", "unpickle": ".pkl"}[kind]
    c = Case(name, kind, kw.pop("file", name + ext), error, match, **kw)

    def register(fn: Callable[[Path, Case], None]) -> Callable:
        CASES.append(c)
        _BUILDERS[name] = fn
        return fn
    return register


# ---------------------------------------------------------------- weight files (HDF5)

Layers = list[tuple[str, list[tuple[str, np.ndarray]]]]  # [(layer, [(variable, array)])]


def _preset_layers(preset: str = "fashion-mnist", seed: int = 0) -> Layers:
    """[(layer, [(var, array)])] with the preset's names and shapes, small random floats."""
    from pruning.models import build_preset

    rng = np.random.default_rng(seed)
    out = []
    for layer in build_preset(preset).layers:
        if layer.weights:
            out.append((layer.name, [(v.path.split("/")[-1],
                                      rng.normal(0, 0.05, tuple(v.shape)).astype(np.float32))
                                     for v in layer.weights]))
    return out


_LAYERS_CACHE: dict[str, Layers] = {}


def preset_layers(preset: str = "fashion-mnist") -> Layers:
    """A fresh copy of the preset's layers (built once per preset)."""
    if preset not in _LAYERS_CACHE:
        _LAYERS_CACHE[preset] = _preset_layers(preset)
    return [(n, [(v, a.copy()) for v, a in arrs]) for n, arrs in _LAYERS_CACHE[preset]]


def write_legacy(path: Path | io.BytesIO, layers: Layers, **ds_kw) -> None:
    """Keras 2 ``save_weights('x.h5')`` layout from plain arrays."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n, _ in layers])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        for lname, arrs in layers:
            g = f.create_group(lname)
            names = [f"{lname}/{v}:0" for v, _ in arrs]
            for n, (_, a) in zip(names, arrs):
                g.create_dataset(n, data=a, **ds_kw)
            g.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S")


def good_h5_bytes() -> bytes:
    buf = io.BytesIO()
    write_legacy(buf, preset_layers())
    return buf.getvalue()


@case("good-legacy-h5", "model", None, "")
def _(d: Path, c: Case) -> None:
    write_legacy(d / c.file, preset_layers())


@case("empty-h5", "model", "ModelError", "the file is empty")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(b"")


@case("truncated-h5", "model", "ModelError", "damaged or unreadable weights file")
def _(d: Path, c: Case) -> None:
    data = good_h5_bytes()
    (d / c.file).write_bytes(data[: len(data) // 2])


@case("truncated-h5-header", "model", "ModelError", "not an HDF5 file")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(good_h5_bytes()[:6])


@case("bitflip-h5-signature", "model", "ModelError", "not an HDF5 file")
def _(d: Path, c: Case) -> None:
    data = bytearray(good_h5_bytes())
    data[1] ^= 0x04  # "\x89HDF" -> "\x89LDF"
    (d / c.file).write_bytes(bytes(data))


@case("bitflip-h5-superblock", "model", "ModelError", "damaged or unreadable weights file")
def _(d: Path, c: Case) -> None:
    data = bytearray(good_h5_bytes())
    data[8] ^= 0x40  # superblock version 0 -> 64
    (d / c.file).write_bytes(bytes(data))


@case("bitflip-h5-nan-weight", "model", "ModelError", "contains NaN or infinite values")
def _(d: Path, c: Case) -> None:
    # a flipped exponent byte in stored float data turns a weight into NaN
    layers = preset_layers()
    layers[0][1][0][1].reshape(-1)[0] = 1.0
    buf = io.BytesIO()
    write_legacy(buf, layers)
    data = bytearray(buf.getvalue())
    at = data.find(struct.pack("<f", 1.0))
    data[at + 3] |= 0x7F
    data[at + 2] |= 0x80
    (d / c.file).write_bytes(bytes(data))


@case("folder-named-h5", "model", "ModelError", "not an HDF5 file")
def _(d: Path, c: Case) -> None:
    (d / c.file).mkdir()
    (d / c.file / "model_weights").write_bytes(b"x")


@case("random-bytes-h5", "model", "ModelError", "not an HDF5 file")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(np.random.default_rng(0).bytes(4096))


@case("hdf5-not-keras", "model", "ModelError", "HDF5 file but not Keras weights")
def _(d: Path, c: Case) -> None:
    with h5py.File(d / c.file, "w") as f:
        f.create_dataset("measurements", data=np.arange(10.0))
        f.attrs["instrument"] = "spectrometer"


@case("hdf5-missing-layer-group", "model", "ModelError", "damaged or unreadable weights file")
def _(d: Path, c: Case) -> None:
    with h5py.File(d / c.file, "w") as f:
        f.attrs["layer_names"] = np.array([b"conv2d", b"dense"])


@case("wrong-layer-count", "model", "ModelError", "holds weights for 3 layers")
def _(d: Path, c: Case) -> None:
    write_legacy(d / c.file, [(f"extra_{i}", arrs) for i, (_, arrs) in enumerate(preset_layers()[:3])])


@case("wrong-shape", "model", "ModelError", "expects (3, 3, 1, 32)")
def _(d: Path, c: Case) -> None:
    layers = preset_layers()
    layers[0] = ("conv2d", [("kernel", np.zeros((3, 3, 1, 16), np.float32)),
                            ("bias", np.zeros(16, np.float32))])
    write_legacy(d / c.file, layers)


@case("other-preset-weights", "model", "ModelError", "choose the matching preset")
def _(d: Path, c: Case) -> None:
    write_legacy(d / c.file, preset_layers("cmu-10605"))


@case("int-weights", "model", "ModelError", "weights must be floating point, got dtype int32")
def _(d: Path, c: Case) -> None:
    layers = preset_layers()
    layers[2] = (layers[2][0], [(v, (a * 100).astype(np.int32)) for v, a in layers[2][1]])
    write_legacy(d / c.file, layers)


@case("string-weights", "model", "ModelError", "weights must be floating point")
def _(d: Path, c: Case) -> None:
    layers = preset_layers()
    layers[-1] = (layers[-1][0], [(v, np.full(a.shape, b"x", dtype="S1")) for v, a in layers[-1][1]])
    write_legacy(d / c.file, layers)


@case("nan-weights", "model", "ModelError", "dense/kernel contains NaN or infinite values")
def _(d: Path, c: Case) -> None:
    layers = preset_layers()
    layers[4][1][0][1][3, 7] = np.nan
    write_legacy(d / c.file, layers)


@case("inf-weights", "model", "ModelError", "conv2d_1/bias contains NaN or infinite values")
def _(d: Path, c: Case) -> None:
    layers = preset_layers()
    layers[1][1][1][1][0] = -np.inf
    write_legacy(d / c.file, layers)


@case("weights-as-group", "model", "ModelError", "expected an array, found a group")
def _(d: Path, c: Case) -> None:
    with h5py.File(d / c.file, "w") as f:
        vars_ = f.create_group("layers/conv2d/vars")
        vars_.create_group("0")


@case("h5-external-storage", "model", "ModelError", "outside the file")
def _(d: Path, c: Case) -> None:
    # a dataset whose bytes live in another file of the server (here the corpus' own
    # secret.txt; in an attack /etc/shadow): reading it would leak that file as weights
    secret = d / "secret.txt"
    secret.write_bytes(b"s3cret!!" * 16)
    layers = preset_layers()
    write_legacy(d / c.file, layers)
    with h5py.File(d / c.file, "a") as f:
        g = f["dense_1"]
        del g["dense_1/bias:0"]
        g.create_dataset("dense_1/bias:0", shape=(10,), dtype="<f4", external=[(str(secret), 0, 40)])


@case("h5-external-link", "model", "ModelError", "outside the file")
def _(d: Path, c: Case) -> None:
    other = d / "elsewhere.h5"
    write_legacy(other, preset_layers())
    write_legacy(d / c.file, preset_layers())
    with h5py.File(d / c.file, "a") as f:
        del f["dense_1"]
        f["dense_1"] = h5py.ExternalLink(str(other), "/dense_1")


@case("h5-compression-bomb", "model", "ModelError", "too large")
def _(d: Path, c: Case) -> None:
    # a 20 kB file whose one dataset inflates to 4 GiB if read
    layers = preset_layers()
    write_legacy(d / c.file, layers)
    with h5py.File(d / c.file, "a") as f:
        g = f["dense"]
        del g["dense/kernel:0"]
        g.create_dataset("dense/kernel:0", shape=(2**15, 2**15), dtype="<f4", chunks=(1024, 1024),
                         compression="gzip", fillvalue=0.0)


# ---------------------------------------------------------------- .keras archives

def _save_keras(model, path: Path) -> None:
    model.save(path)


def tiny_keras_model(extra=None):
    import keras

    layers = [keras.Input(shape=(4,)), keras.layers.Dense(3, name="d0")]
    if extra is not None:
        layers.append(extra)
    layers.append(keras.layers.Dense(2, name="d1"))
    return keras.Sequential(layers)


def _lambda_marker(marker: str):
    # the path is a constant inside the lambda's code, which is what Keras serialises
    return eval(f"lambda x: (open({marker!r}, 'w').close(), x)[1]")  # noqa: S307


@case("good-keras", "model", None, "", file="good-keras.keras")
def _(d: Path, c: Case) -> None:
    _save_keras(tiny_keras_model(), d / c.file)


@case("keras-lambda-layer", "model", "ModelError", "refused, the model contains code",
      file="keras-lambda-layer.keras", marker="lambda-ran")
def _(d: Path, c: Case) -> None:
    import keras

    marker = d / c.marker
    model = tiny_keras_model(keras.layers.Lambda(_lambda_marker(str(marker)), name="payload"))
    _save_keras(model, d / c.file)
    marker.unlink(missing_ok=True)  # building the model ran it once; loading must not


def backdoor_layer(marker: str):
    """A registered custom layer class whose constructor creates ``marker``."""
    import keras

    @keras.saving.register_keras_serializable(package="hostile")
    class Backdoor(keras.layers.Layer):
        def __init__(self, marker: str = marker, **kw):
            super().__init__(**kw)
            self.marker = marker
            open(marker, "w").close()

        def call(self, x):
            return x

        def get_config(self):
            return {**super().get_config(), "marker": self.marker}
    return Backdoor


@case("keras-custom-object", "model", "ModelError", "uses the class 'Backdoor', which is not part of Keras",
      file="keras-custom-object.keras", marker="custom-ran")
def _(d: Path, c: Case) -> None:
    import keras

    marker = d / c.marker
    cls = backdoor_layer(str(marker))
    _save_keras(tiny_keras_model(cls(name="backdoor")), d / c.file)
    keras.saving.get_custom_objects().pop("hostile>Backdoor", None)  # the loader never knows it
    marker.unlink(missing_ok=True)


def _rewrite_zip(src: Path, dst: Path, edit: Callable[[str, bytes], tuple[str, bytes] | None],
                 extra: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            got = edit(info.filename, zin.read(info))
            if got is not None:
                zout.writestr(got[0], got[1])
        for n, b in (extra or {}).items():
            zout.writestr(n, b)


@case("keras-config-calls-builtins", "model", "ModelError", "uses the class 'system', which is not part",
      file="keras-config-calls-builtins.keras", marker="config-ran")
def _(d: Path, c: Case) -> None:
    good = d / "_good-for-config.keras"
    _save_keras(tiny_keras_model(), good)

    def edit(name: str, data: bytes):
        if name == "config.json":
            cfg = json.loads(data)
            cfg["config"]["layers"][1] = {
                "module": "os", "class_name": "system", "registered_name": None,
                "config": {"command": f"touch {d / c.marker}"}}
            data = json.dumps(cfg).encode()
        return name, data
    _rewrite_zip(good, d / c.file, edit)
    good.unlink()


@case("keras-missing-weights", "model", "ModelError", "cannot be loaded safely",
      file="keras-missing-weights.keras")
def _(d: Path, c: Case) -> None:
    good = d / "_good-for-missing.keras"
    _save_keras(tiny_keras_model(), good)
    _rewrite_zip(good, d / c.file, lambda n, b: None if n == "model.weights.h5" else (n, b))
    good.unlink()


@case("keras-config-not-json", "model", "ModelError", "cannot be loaded safely",
      file="keras-config-not-json.keras")
def _(d: Path, c: Case) -> None:
    with zipfile.ZipFile(d / c.file, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.0"}))
        z.writestr("config.json", b"{not json")
        z.writestr("model.weights.h5", b"")


@case("zip-without-config", "model", "ModelError", "zip without config.json", file="zip-without-config.keras")
def _(d: Path, c: Case) -> None:
    with zipfile.ZipFile(d / c.file, "w") as z:
        z.writestr("readme.txt", "hello")


@case("truncated-keras", "model", "ModelError", "not a .keras archive", file="truncated-keras.keras")
def _(d: Path, c: Case) -> None:
    _save_keras(tiny_keras_model(), d / c.file)
    data = (d / c.file).read_bytes()
    (d / c.file).write_bytes(data[: len(data) * 2 // 3])


@case("h5-named-keras", "model", "ModelError", "not a .keras archive", file="h5-named-keras.keras")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(good_h5_bytes())


@case("keras-nan-weights", "model", "ModelError", "d1/kernel contains NaN", file="keras-nan-weights.keras")
def _(d: Path, c: Case) -> None:
    model = tiny_keras_model()
    k = model.get_layer("d1").kernel
    k.assign(np.where(np.eye(3, 2) > 0, np.inf, k.numpy()).astype("float32"))
    _save_keras(model, d / c.file)


@case("keras-zip-bomb", "model", "ModelError", "over the", file="keras-zip-bomb.keras",
      limits={"pruning.models.MAX_MODEL_BYTES": 2**20})
def _(d: Path, c: Case) -> None:
    # 24 kB on disk, 24 MiB unpacked; the test lowers the limit to 1 MiB (the real
    # limit's bomb would be the same shape, 200x bigger)
    good = d / "_good-for-bomb.keras"
    _save_keras(tiny_keras_model(), good)
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(d / c.file, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            z.writestr(info.filename, zin.read(info))
        with z.open("assets/zeros.bin", "w", force_zip64=True) as w:
            chunk = bytes(2**20)
            for _ in range(24):
                w.write(chunk)
    good.unlink()


@case("keras-too-many-params", "model", "ModelError", "declares 23 parameters, over the 20 limit",
      file="keras-too-many-params.keras", limits={"pruning.models.MAX_PARAMS": 20})
def _(d: Path, c: Case) -> None:
    _save_keras(tiny_keras_model(), d / c.file)


@case("keras-huge-config", "model", "ModelError",
      "its config declares 64,024,002 parameters, over the 50,000,000 limit", file="keras-huge-config.keras")
def _(d: Path, c: Case) -> None:
    # a few kB asking for an 8000x8000 Dense layer: counted from the config, never allocated
    good = d / "_good-for-huge.keras"
    _save_keras(tiny_keras_model(), good)

    def edit(name: str, data: bytes):
        if name == "config.json":
            text = data.decode()
            for old, new in (('"batch_shape": [null, 4]', '"batch_shape": [null, 8000]'),
                             ('"units": 3', '"units": 8000'),
                             ('"input_shape": [null, 4]', '"input_shape": [null, 8000]'),
                             ('"input_shape": [null, 3]', '"input_shape": [null, 8000]')):
                text = text.replace(old, new)
            data = text.encode()
        return name, data
    _rewrite_zip(good, d / c.file, edit)
    good.unlink()


@case("keras-member-path-traversal", "model", "ModelError", "unsafe member name",
      file="keras-member-path-traversal.keras", marker="escaped.txt")
def _(d: Path, c: Case) -> None:
    # a member that would land outside the extraction folder (zip slip)
    good = d / "_good-for-slip.keras"
    _save_keras(tiny_keras_model(), good)
    depth = "../" * 40
    _rewrite_zip(good, d / c.file, lambda n, b: (n, b),
                 extra={f"assets/{depth}{str(d / c.marker).lstrip('/')}": b"escaped",
                        str(d / c.marker): b"escaped"})
    good.unlink()


# ---------------------------------------------------------------- uploads (bytes + file name)

@case("upload-oversize", "model_bytes", "ModelError", "over the 1 KiB upload limit",
      upload_name="big.h5", limits={"pruning.models.MAX_MODEL_BYTES": 1024})
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(good_h5_bytes()[:4096])


@case("upload-path-traversal-name", "model_bytes", "ModelError", "passwd.h5: not an HDF5 file",
      upload_name="../../etc/passwd.h5", not_in_message=("..", "/etc"))
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")


@case("upload-windows-path-name", "model_bytes", "ModelError", "evil.keras: not a .keras archive",
      upload_name="..\\..\\Windows\\evil.keras", not_in_message=("..", "\\"))
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(b"MZ\x90\x00 not a zip")


@case("upload-traversal-name-valid", "model_bytes", None, "", upload_name="../../pwned.h5",
      marker="pwned.h5")  # the tests load uploads from the corpus' cwd/deep folder
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(good_h5_bytes())


@case("upload-empty", "model_bytes", "ModelError", "weights.h5: the file is empty", upload_name="weights.h5")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(b"")


# ---------------------------------------------------------------- .npz data

def _images(n: int = 8, shape: tuple[int, ...] = FASHION, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def _labels(n: int = 8, k: int = 10) -> np.ndarray:
    return np.arange(n) % k


def _npz(path: Path, **arrays) -> None:
    np.savez(path, **arrays)


@case("good-npz", "npz", None, "", num_classes=10)
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=_labels(), x_test=_images(4), y_test=_labels(4))


@case("empty-npz", "npz", "DataError", "not an .npz")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(b"")


@case("random-bytes-npz", "npz", "DataError", "not an .npz")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(np.random.default_rng(1).bytes(1000))


@case("npy-named-npz", "npz", "DataError", "not an .npz")
def _(d: Path, c: Case) -> None:
    with open(d / c.file, "wb") as f:
        np.save(f, _images())


@case("truncated-npz", "npz", "DataError", "not a readable .npz file")
def _(d: Path, c: Case) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, x_val=_images(), y_val=_labels())
    (d / c.file).write_bytes(buf.getvalue()[:-30])


@case("npz-object-array", "npz", "DataError", "holds object arrays")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=np.array([_images(1)[0], "x"], dtype=object), y_val=_labels(2))


@case("npz-unknown-keys", "npz", "DataError", "unknown keys ['arr_0']")
def _(d: Path, c: Case) -> None:
    np.savez(d / c.file, _images(), y_val=_labels())


@case("npz-missing-labels", "npz", "DataError", "(missing y_val)")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images())


@case("npz-no-val", "npz", "DataError", "no validation data")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_test=_images(), y_test=_labels())


@case("npz-zip-bomb", "npz", "DataError", "unpacks to", limits={"pruning.data.MAX_DATA_BYTES": 2**20})
def _(d: Path, c: Case) -> None:
    with zipfile.ZipFile(d / c.file, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("y_val.npy", _npy_bytes(_labels()))
        with z.open("x_val.npy", "w", force_zip64=True) as w:
            w.write(_npy_header((24 * 2**20,), "|u1"))
            chunk = bytes(2**20)
            for _ in range(24):
                w.write(chunk)


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _npy_header(shape: tuple[int, ...], descr: str) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


@case("npz-lying-header", "npz", "DataError", "declares")
def _(d: Path, c: Case) -> None:
    # a 100-byte member whose header claims 8 TB: np.load would try to allocate it
    with zipfile.ZipFile(d / c.file, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x_val.npy", _npy_header((10**12, 28, 28), "<f8") + bytes(100))
        z.writestr("y_val.npy", _npy_bytes(_labels()))


@case("npz-oversize", "npz", "DataError", "over the 1 KiB limit",
      limits={"pruning.data.MAX_DATA_BYTES": 1024})
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=_labels())


@case("images-rank-2", "npz_model", "ModelError", "takes images of shape (28, 28, 1)")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images().reshape(8, -1), y_val=_labels())


@case("images-rank-5", "npz_model", "ModelError", "takes images of shape (28, 28, 1)")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images()[:, None], y_val=_labels())


@case("images-channels-first", "npz", "DataError", "looks channels-first")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images().transpose(0, 3, 1, 2), y_val=_labels())


@case("images-no-samples", "npz", "DataError", "val inputs: no samples")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(0), y_val=_labels(0))


@case("images-shapes-differ", "npz", "DataError", "sample shapes differ between splits")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=_labels(), x_test=_images(8, (32, 32, 1)), y_test=_labels())


@case("images-nan", "npz", "DataError", "NaN or infinite values")
def _(d: Path, c: Case) -> None:
    x = _images().astype(np.float32) / 255
    x[3, 4, 5, 0] = np.nan
    _npz(d / c.file, x_val=x, y_val=_labels())


@case("images-infinite", "npz", "DataError", "NaN or infinite values")
def _(d: Path, c: Case) -> None:  # negative values are legal now (inputs as stored); inf is not
    x = _images().astype(np.float32) / 127.5 - 1
    x[0, 0, 0] = -np.inf
    _npz(d / c.file, x_val=x, y_val=_labels())


@case("images-strings", "npz", "DataError", "expected numbers")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=np.full((8, 28, 28), "ab"), y_val=_labels())


@case("images-wrong-size-for-model", "npz_model", "ModelError", "takes images of shape (28, 28, 1)")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(8, (32, 32, 1)), y_val=_labels())


@case("images-wrong-channels-for-model", "npz_model", "ModelError", "but the data has (28, 28, 3)")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(8, (28, 28, 3)), y_val=_labels())


@case("labels-out-of-range", "npz", "DataError", "label 10 is out of range for 10 classes", num_classes=10)
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=_labels() + 3)


@case("labels-out-of-range-for-model", "npz_model", "ModelError", "labels go up to 11")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=_labels(8, 12) + 4)


@case("labels-negative", "npz", "DataError", "negative label -1")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=_labels() - 1)


@case("labels-huge-unsigned", "npz", "DataError", "out of range", num_classes=10)
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=np.full(8, 2**64 - 1, dtype=np.uint64))


@case("labels-fractions", "npz", "DataError", "found fractions or NaN")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=_labels() + 0.5)


@case("labels-nan", "npz", "DataError", "found fractions or NaN")
def _(d: Path, c: Case) -> None:
    y = _labels().astype(np.float64)
    y[2] = np.nan
    _npz(d / c.file, x_val=_images(), y_val=y)


@case("labels-length-mismatch", "npz", "DataError", "7 labels for 8 samples")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=_labels(7))


@case("labels-not-one-hot", "npz", "DataError", "2-D labels must be one-hot rows")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=np.full((8, 10), 0.1))


@case("labels-strings", "npz", "DataError", "expected integer labels")
def _(d: Path, c: Case) -> None:
    _npz(d / c.file, x_val=_images(), y_val=np.array(["cat"] * 8))


# ---------------------------------------------------------------- pickles

class _Reduce:
    """Pickles as ``fn(*args)``: what an attacker's pickle calls on load."""

    def __init__(self, fn, *args) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def code_payloads(marker: str) -> dict[str, bytes]:
    """Pickles that create ``marker`` when loaded by a plain ``pickle.loads``."""
    import builtins

    return {
        "os-system": pickle.dumps(_Reduce(os.system, f"touch '{marker}'")),
        "builtins-exec": pickle.dumps(_Reduce(builtins.exec, f"open({marker!r}, 'w').close()")),
        "subprocess-run": pickle.dumps(_Reduce(subprocess.run, ["touch", marker])),
        "protocol0-eval": (b"c__builtin__\neval\n(V__import__('os').system('touch " +
                           marker.encode() + b"')\ntR."),
        "inside-object-array": pickle.dumps(np.array([1, _Reduce(os.system, f"touch '{marker}'")],
                                                     dtype=object)),
    }


for _name in ("os-system", "builtins-exec", "subprocess-run", "protocol0-eval", "inside-object-array"):
    @case(f"pickle-code-{_name}", "unpickle", "DataError", "unsafe or unsupported pickle",
          marker=f"pickle-{_name}-ran")
    def _(d: Path, c: Case, _name: str = _name) -> None:
        (d / c.file).write_bytes(code_payloads(str(d / c.marker))[_name])


@case("pickle-code-in-val-images", "pickles", "DataError", "val_images.pkl: unsafe or unsupported pickle",
      marker="pickles-ran")
def _(d: Path, c: Case) -> None:
    (d / c.file).mkdir()
    (d / c.file / "val_images.pkl").write_bytes(code_payloads(str(d / c.marker))["os-system"])
    (d / c.file / "val_labels.pkl").write_bytes(pickle.dumps(_labels()))


@case("pickle-persistent-id", "unpickle", "DataError", "unsafe or unsupported pickle")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(b"\x80\x04Pfile:/etc/passwd\n.")


@case("pickle-dict", "unpickle", "DataError", "holds a dict")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(pickle.dumps({"x": _images()}))


@case("pickle-str", "unpickle", "DataError", "holds a str")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(pickle.dumps("val_images"))


@case("pickle-object-array", "unpickle", "DataError", "holds an object array")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(pickle.dumps(np.array([1, "two", 3.0], dtype=object)))


@case("pickle-empty", "unpickle", "DataError", "not a readable pickle")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(b"")


@case("pickle-truncated", "unpickle", "DataError", "not a readable pickle")
def _(d: Path, c: Case) -> None:
    (d / c.file).write_bytes(pickle.dumps(_images())[:-50])


@case("pickle-huge-array", "unpickle", "DataError", "buffer size does not match array size")
def _(d: Path, c: Case) -> None:
    # an ndarray whose state claims 10**12 float64s but carries 8 bytes
    (d / c.file).write_bytes(_huge_array_pickle())


def _huge_array_pickle() -> bytes:
    class Huge:
        def __reduce__(self):
            fn, args, (ver, _shape, dtype, fortran, raw) = np.zeros(1).__reduce__()
            return fn, args, (ver, (10**12,), dtype, fortran, raw)
    return pickle.dumps(Huge())


@case("pickle-ragged-images", "pickles", "DataError", "val inputs")
def _(d: Path, c: Case) -> None:
    (d / c.file).mkdir()
    (d / c.file / "val_images.pkl").write_bytes(pickle.dumps([[[1, 2], [3, 4]], [[1, 2, 3]]]))
    (d / c.file / "val_labels.pkl").write_bytes(pickle.dumps([0, 1]))


@case("pickle-unexpected-file", "pickles", "DataError", "evil.pkl: unexpected file")
def _(d: Path, c: Case) -> None:
    (d / c.file).mkdir()
    (d / c.file / "evil.pkl").write_bytes(pickle.dumps(_images()))


@case("pickles-oversize", "pickles", "DataError", "over the 1 KiB limit",
      limits={"pruning.data.MAX_DATA_BYTES": 1024})
def _(d: Path, c: Case) -> None:
    (d / c.file).mkdir()
    (d / c.file / "val_images.pkl").write_bytes(pickle.dumps(_images()))
    (d / c.file / "val_labels.pkl").write_bytes(pickle.dumps(_labels()))


@case("good-pickles", "pickles", None, "")
def _(d: Path, c: Case) -> None:
    (d / c.file).mkdir()
    (d / c.file / "val_images.pkl").write_bytes(pickle.dumps(_images()))
    (d / c.file / "val_labels.pkl").write_bytes(pickle.dumps(list(_labels())))


# ---------------------------------------------------------------- build / load

def build(folder: str | Path, names: list[str] | None = None) -> Path:
    """Write every case (or only ``names``) into ``folder``, plus manifest.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [c for c in CASES if names is None or c.name in names]
    for c in chosen:
        target = folder / c.file
        if target.is_dir():
            shutil.rmtree(target)
        _BUILDERS[c.name](folder, c)
    manifest = [{k: v for k, v in c.__dict__.items()} for c in chosen]
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return folder


def load(c: Case, folder: str | Path):
    """Feed one case to the loader its ``kind`` names; returns what the loader returns."""
    from pruning import data, models

    folder = Path(folder)
    path = folder / c.file
    if c.kind == "model":
        return models.load_model(path, c.preset)
    if c.kind == "model_bytes":
        return models.load_model_bytes(path.read_bytes(), c.upload_name or c.file, c.preset)
    if c.kind == "npz":
        return data.load_npz(path, c.num_classes)
    if c.kind == "npz_model":
        from pruning.workbench import Workbench

        return Workbench(models.build_preset(c.preset), data.load_npz(path, c.num_classes))
    if c.kind == "pickles":
        return data.load_pickles({p.name: p.read_bytes() for p in sorted(path.iterdir())}, c.num_classes)
    if c.kind == "unpickle":
        return data.safe_unpickle(path.read_bytes(), c.file)
    raise ValueError(f"unknown case kind {c.kind!r}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/hostile/make_corpus.py OUT_DIR")
    out = build(sys.argv[1])
    print(f"wrote {len(CASES)} cases to {out}")
