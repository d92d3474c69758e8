"""The seed's CNN, its presets, and weight loading from every format students meet.

Formats: Keras 3 ``.weights.h5``, full ``.keras`` archives (loaded with safe_mode, so
Lambda layers and unknown custom objects are refused, never executed), and the legacy
Keras 2 HDF5 layout written by ``model.save_weights("x.h5")`` in TF 2.x.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402

from .units import format_bytes  # noqa: E402
from .layers import WeightArray, legacy_order, weight_arrays  # noqa: E402,F401  (re-exported)
from .layers import assign_arrays  # noqa: E402

PRESETS: dict[str, tuple[tuple[int, int, int], int]] = {
    "fashion-mnist": ((28, 28, 1), 10),
    "cmu-10605": ((25, 25, 3), 5),
}
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
BUNDLED_WEIGHTS = {"fashion-mnist": "fashion-mnist-dense.h5"}
MAX_MODEL_BYTES = 200 * 2**20  # refuse weight files / archives larger than this
MAX_PARAMS = 50_000_000


class ModelError(ValueError):
    """A model or weights file that cannot be used; the message says why and what to do."""


def build_model(input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10,
                width: float = 1.0) -> keras.Model:
    """The seed's layer stack (4 convs, 2 dense, L2 1e-5 on conv kernels).

    Layer names are fixed (``conv2d``, ``conv2d_1``, … ``dense_1``) as a fresh Keras 2
    session would name them, so exported files load anywhere the seed's do. ``width``
    scales every layer's filter/unit count (used by the scaling benchmark).
    """
    def w(n: int) -> int:
        return max(1, int(round(n * width)))

    reg = keras.regularizers.L2(1e-5)
    L = keras.layers
    return keras.Sequential([
        keras.Input(shape=tuple(input_shape)),
        L.Conv2D(w(32), 3, padding="same", kernel_regularizer=reg, name="conv2d"),
        L.Activation("relu", name="activation"),
        L.Conv2D(w(32), 3, padding="valid", kernel_regularizer=reg, name="conv2d_1"),
        L.Activation("relu", name="activation_1"),
        L.MaxPooling2D(2, name="max_pooling2d"),
        L.Dropout(0.25, name="dropout"),
        L.Conv2D(w(64), 3, padding="same", kernel_regularizer=reg, name="conv2d_2"),
        L.Activation("relu", name="activation_2"),
        L.Conv2D(w(64), 3, padding="valid", kernel_regularizer=reg, name="conv2d_3"),
        L.Activation("relu", name="activation_3"),
        L.MaxPooling2D(2, name="max_pooling2d_1"),
        L.Dropout(0.25, name="dropout_1"),
        L.Flatten(name="flatten"),
        L.Dense(w(512), name="dense"),
        L.Activation("relu", name="activation_4"),
        L.Dropout(0.5, name="dropout_2"),
        L.Dense(num_classes, name="dense_1"),
        L.Activation("softmax", name="activation_5"),
    ], name="seed_cnn")


def build_preset(name: str, width: float = 1.0) -> keras.Model:
    """Build a named preset: 'fashion-mnist' (28x28x1, 10) or 'cmu-10605' (25x25x3, 5)."""
    if name not in PRESETS:
        raise ModelError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
    shape, classes = PRESETS[name]
    return build_model(shape, classes, width)


def _natural_key(name: str) -> tuple[str, int]:
    m = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    assert m is not None
    return (m.group(1), int(m.group(2) or 0))


def _check_hdf5(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"{path.name}: the file is empty")
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"{path.name}: {format_bytes(size)} is over the "
                         f"{format_bytes(MAX_MODEL_BYTES)} limit")
    if not h5py.is_hdf5(path):
        raise ModelError(f"{path.name}: not an HDF5 file (damaged, truncated, or another format); "
                         "expected Keras weights saved with model.save_weights")


def read_weight_file(path: str | Path) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    """Read a legacy Keras 2 .h5 or Keras 3 .weights.h5 as [(layer, [(var, array)])].

    Layers come in the file's order (legacy) or natural name order (Keras 3, which stores
    them alphabetically); only layers that hold weights are listed.
    """
    path = Path(path)
    _check_hdf5(path)
    try:
        with h5py.File(path, "r") as f:
            _refuse_outside_refs(f, path.name)
            g = f["model_weights"] if "model_weights" in f else f
            if "layer_names" in g.attrs:
                return _read_legacy(g)
            if "layers" in g:
                return _read_keras3(g["layers"])
    except ModelError as e:
        raise ModelError(f"{path.name}: {e}") from None
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise ModelError(f"{path.name}: damaged or unreadable weights file ({e})") from None
    raise ModelError(f"{path.name}: HDF5 file but not Keras weights (no 'layer_names' attribute "
                     "and no 'layers' group)")


def _refuse_outside_refs(f: h5py.File, name: str) -> None:
    """Refuse links to other files and datasets stored outside the file (external storage,
    virtual datasets): reading them would turn arbitrary server files into "weights"."""
    problems: list[str] = []

    def visit(where: str, link: object) -> bool | None:  # h5py cannot raise from here; stop instead
        if isinstance(link, h5py.ExternalLink):
            problems.append(f"{where} links to {link.filename!r}, data outside the file; refused")
        elif isinstance(link, h5py.HardLink):
            obj = f.get(where)
            if isinstance(obj, h5py.Dataset) and (obj.external or obj.is_virtual):
                problems.append(f"{where} is stored outside the file (external or virtual "
                                "dataset); refused")
        return True if problems else None
    f.visititems_links(visit)
    if problems:
        raise ModelError(problems[0])


def _text(v: object) -> str:
    return v.decode("utf8") if isinstance(v, bytes) else str(v)


def _array(ds: object, where: str) -> np.ndarray:
    if not isinstance(ds, h5py.Dataset):
        raise ModelError(f"{where}: expected an array, found a group")
    nbytes = ds.size * ds.dtype.itemsize
    if ds.size > MAX_PARAMS or nbytes > MAX_MODEL_BYTES:  # compressed data can unpack to any size
        raise ModelError(f"{where}: a {ds.shape} array ({format_bytes(nbytes)} unpacked) is too large; "
                         f"the limits are {MAX_PARAMS:,} parameters and {format_bytes(MAX_MODEL_BYTES)}")
    a = np.asarray(ds[()])
    if a.dtype.kind != "f":
        raise ModelError(f"{where}: weights must be floating point, got dtype {a.dtype}")
    return a


def _read_legacy(g: h5py.Group) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    out = []
    for lname in (_text(n) for n in g.attrs["layer_names"]):
        lg = g[lname]
        names = [_text(n) for n in lg.attrs.get("weight_names", [])]
        if names:
            out.append((lname, [(n.split("/")[-1].split(":")[0], _array(lg[n], f"{lname}/{n}"))
                                for n in names]))
    return out


def _read_keras3(g: h5py.Group) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    out = []
    for lname in sorted(g.keys(), key=_natural_key):
        vg = g[lname].get("vars")
        if vg is not None and len(vg):
            out.append((lname, [(k, _array(vg[k], f"{lname}/vars/{k}"))
                                for k in sorted(vg.keys(), key=int)]))
    return out


def assign_file_weights(model: keras.Model, layers: list[tuple[str, list[tuple[str, np.ndarray]]]],
                        source: str = "weights file") -> None:
    """Copy file weights into ``model`` (by name when names match, else by order), shape-checked."""
    targets = [layer for layer in model.layers if layer.weights]
    order = {id(t): legacy_order(t) for t in targets}  # the order legacy files list arrays in
    by_name = dict(layers)
    if {t.name for t in targets} == set(by_name):
        pairs = [(t, t.name, by_name[t.name]) for t in targets]
    else:
        if len(layers) != len(targets):
            raise ModelError(
                f"{source}: holds weights for {len(layers)} layers "
                f"({', '.join(n for n, _ in layers) or 'none'}) but the model has {len(targets)} "
                f"({', '.join(t.name for t in targets)}); pick the preset the file was trained with")
        pairs = [(t, n, arrs) for t, (n, arrs) in zip(targets, layers)]
    staged = []
    for layer, fname, arrs in pairs:
        variables = order[id(layer)]
        if len(arrs) != len(variables):
            raise ModelError(f"{source}: layer {fname} has {len(arrs)} arrays, model layer "
                             f"{layer.name} expects {len(variables)}")
        for v, (vname, a) in zip(variables, arrs):
            if tuple(a.shape) != tuple(v.shape):
                raise ModelError(
                    f"{source}: {fname}/{vname} has shape {a.shape} but the model's "
                    f"{layer.name} expects {tuple(v.shape)}; the file fits a different input "
                    "shape or class count (choose the matching preset)")
            if not np.all(np.isfinite(a)):
                raise ModelError(f"{source}: {fname}/{vname} contains NaN or infinite values")
            staged.append((v, a))
    # only touch the model once everything is known to fit
    assign_arrays([v for v, _ in staged], [a for _, a in staged])


def load_weights_into(model: keras.Model, path: str | Path) -> keras.Model:
    """Load a legacy .h5 or Keras 3 .weights.h5 file into ``model`` (checked, all-or-nothing)."""
    assign_file_weights(model, read_weight_file(path), Path(path).name)
    return model


def load_keras_archive(path: str | Path) -> keras.Model:
    """Load a full ``.keras`` model with safe_mode on (no Lambda, no custom code)."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"{path.name}: the file is empty")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path.name}: not a .keras archive (a .keras file is a zip); "
                         "damaged or a different format")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        unpacked = sum(i.file_size for i in z.infolist())
    if "config.json" not in names:
        raise ModelError(f"{path.name}: zip without config.json, so not a Keras model archive")
    unsafe = [n for n in names if n.startswith(("/", "\\")) or ".." in re.split(r"[\\/]", n)]
    if unsafe:
        raise ModelError(f"{path.name}: refused, unsafe member name {unsafe[0][:200]!r} (it would "
                         "unpack outside its folder)")
    if unpacked > MAX_MODEL_BYTES or size > MAX_MODEL_BYTES:
        raise ModelError(f"{path.name}: unpacks to {format_bytes(unpacked)}, over the "
                         f"{format_bytes(MAX_MODEL_BYTES)} limit")
    declared = _declared_params(path)
    if declared is not None and declared > MAX_PARAMS:
        raise ModelError(f"{path.name}: its config declares {declared:,} parameters, over the "
                         f"{MAX_PARAMS:,} limit; refused before building it")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:
        msg = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
        if "Lambda" in str(e) or "safe_mode" in str(e) or "unsafe" in str(e).lower():
            raise ModelError(f"{path.name}: refused, the model contains code (a Lambda layer or "
                             "unsafe deserialization), which is never executed here; rebuild it "
                             "without Lambda layers") from None
        unknown = re.search(r"Could not locate (class|function) '([^']+)'", str(e))
        if unknown:
            raise ModelError(f"{path.name}: cannot be loaded safely: it uses the {unknown[1]} "
                             f"{unknown[2][:100]!r}, which is not part of Keras. Custom layers and "
                             "objects are not supported; use built-in Keras layers") from None
        raise ModelError(f"{path.name}: cannot be loaded safely ({msg}). A .keras file must come "
                         "from model.save() and use built-in Keras layers only") from None
    if not isinstance(model, keras.Model):
        raise ModelError(f"{path.name}: the archive does not hold a Keras model")
    if model.count_params() > MAX_PARAMS:
        raise ModelError(f"{path.name}: {model.count_params():,} parameters is over the {MAX_PARAMS:,} limit")
    for wa in weight_arrays(model):
        if not np.all(np.isfinite(wa.array)):
            raise ModelError(f"{path.name}: {wa.name} contains NaN or infinite values")
    return model


def _declared_params(path: Path) -> int | None:
    """Parameters a .keras config would create, counted without allocating them (Keras'
    deferred variable initialisation), so a config asking for 10^10 weights cannot exhaust
    memory; None when this Keras cannot tell (the real load then reports any problem)."""
    try:
        from keras.src.backend.common import global_state
        from keras.src.backend.common.stateless_scope import StatelessScope
    except ImportError:
        return None
    pending = list(global_state.get_global_attribute("uninitialized_variables", []) or [])
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
        with StatelessScope(initialize_variables=False):
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
            return int(sum(int(np.prod(v.shape)) for v in model.weights))
    except Exception:
        return None
    finally:  # drop the never-initialised variables, so nothing allocates them later
        global_state.set_global_attribute("uninitialized_variables", pending)


def bundled_weights(preset: str = "fashion-mnist") -> Path:
    """Path of the bundled uncompressed weights for ``preset`` (only the demo has them)."""
    if preset not in BUNDLED_WEIGHTS:
        raise ModelError(f"no bundled weights for preset {preset!r}; upload your own weights "
                         f"file (bundled: {sorted(BUNDLED_WEIGHTS)})")
    return WEIGHTS_DIR / BUNDLED_WEIGHTS[preset]


def is_keras_archive(path: str | Path) -> bool:
    """Whether ``path`` is a full ``.keras`` model (by suffix, or a zip under another name):
    it brings its own architecture, so no preset is used."""
    path = Path(path)
    return path.suffix == ".keras" or (path.is_file() and path.stat().st_size > 0 and zipfile.is_zipfile(path))


def load_model(path: str | Path | None = None, preset: str = "fashion-mnist") -> keras.Model:
    """A model with weights: a ``.keras`` archive as is, or ``preset`` filled from a weights file.

    With ``path=None`` the bundled demo weights for ``preset`` are loaded.
    """
    if path is None:
        path = bundled_weights(preset)
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such file")
    if is_keras_archive(path):
        return load_keras_archive(path)
    return load_weights_into(build_preset(preset), path)


def load_model_bytes(data: bytes, filename: str, preset: str = "fashion-mnist") -> keras.Model:
    """``load_model`` for an upload held in memory (the name only picks the format)."""
    base = re.split(r"[\\/]", filename)[-1] or "upload"  # never trust a path in an uploaded name
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(f"{base}: {format_bytes(len(data))} is over the "
                         f"{format_bytes(MAX_MODEL_BYTES)} upload limit")
    suffix = ".keras" if base.endswith(".keras") else ".h5"
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"upload{suffix}"
        p.write_bytes(data)
        try:
            return load_model(p, preset)
        except ModelError as e:
            raise ModelError(str(e).replace(p.name, base, 1)) from None


def clone_model(model: keras.Model) -> keras.Model:
    """A fresh model of the same architecture holding a copy of ``model``'s weights."""
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin
