"""Writers for pruned weights and honest size figures.

Three formats: legacy Keras 2 HDF5 weights (what the seed's ``model.load_weights``
reads), Keras 3 ``.weights.h5`` and a full ``.keras`` model. Files are written to a
temporary name, fsynced and renamed, so a half-written file is never visible.
"""

from __future__ import annotations

import gzip
import tempfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

import keras

from .atomic import atomic_write
from .layers import legacy_order, relative_name

FORMATS = ("h5", "weights.h5", "keras")
SUFFIX = {"h5": ".h5", "weights.h5": ".weights.h5", "keras": ".keras"}


def _atomic(path: Path, write) -> Path:
    """``atomic_write`` with the temporary suffix Keras needs for the format ``path`` names."""
    path = Path(path)
    suffix = SUFFIX["keras"] if path.suffix == ".keras" else (
        ".weights.h5" if path.name.endswith(".weights.h5") else ".h5")
    # mkstemp creates 0600; a written model is an ordinary file
    return atomic_write(path, write, suffix=suffix, mode=0o644)


def write_legacy_h5(model: keras.Model, path: str | Path) -> Path:
    """Keras 2 ``save_weights('x.h5')`` layout: layer_names / weight_names attributes."""
    def write(p: Path) -> None:
        with h5py.File(p, "w") as f:
            f.attrs["layer_names"] = np.array([layer.name.encode() for layer in model.layers])
            f.attrs["backend"] = b"tensorflow"
            f.attrs["keras_version"] = b"2.15.0"
            for layer in model.layers:
                g = f.create_group(layer.name)
                names = []
                for v in legacy_order(layer):  # what Keras' legacy h5 loader assigns in
                    names.append(f"{layer.name}/{relative_name(v, layer)}:0".encode())
                    g.create_dataset(names[-1].decode(), data=np.asarray(v.numpy()))
                g.attrs["weight_names"] = np.array(names, dtype="S") if names else np.array([], dtype="S1")
    return _atomic(Path(path), write)


def write_weights(model: keras.Model, path: str | Path, fmt: str = "h5") -> Path:
    """Write ``model``'s weights as 'h5' (legacy), 'weights.h5' (Keras 3) or 'keras' (full model)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    if fmt == "h5":
        return write_legacy_h5(model, path)
    if fmt == "weights.h5":
        if not str(path).endswith(".weights.h5"):
            raise ValueError(f"{path}: Keras 3 weights files must end in .weights.h5")
        return _atomic(Path(path), lambda p: model.save_weights(p))
    if not str(path).endswith(".keras"):
        raise ValueError(f"{path}: full models must end in .keras")
    return _atomic(Path(path), lambda p: model.save(p))


def export_bytes(model: keras.Model, fmt: str = "h5") -> bytes:
    """The file ``write_weights`` would write, as bytes (for downloads)."""
    with tempfile.TemporaryDirectory() as d:
        p = write_weights(model, Path(d) / f"model{SUFFIX[fmt]}", fmt)
        return p.read_bytes()


class ExportError(ValueError):
    """An exported file that does not reload to exactly the weights it was written from."""


def _zeros(arrays) -> int:
    return int(sum(a.size - np.count_nonzero(a) for a in arrays))


def check_export(path: str | Path, like: keras.Model, expected) -> None:
    """Reload ``path`` into a fresh model (``reload_check``) and require ``expected`` bit for bit.

    Raises:
        ExportError: the file does not reload, holds other arrays (count, dtype, shape or
            any bit differs) or another number of zeros (sparsity) than ``expected``.
    """
    name = Path(path).name
    expected = [np.asarray(a) for a in expected]
    try:
        got = [np.asarray(a) for a in reload_check(path, like).get_weights()]
    except Exception as e:  # any failure to read back is a failed export
        raise ExportError(f"{name}: the written file does not load back ({type(e).__name__}: {e}); "
                          "nothing was offered") from None
    if len(got) != len(expected):
        raise ExportError(f"{name}: reloads {len(got)} arrays, expected {len(expected)}")
    for i, (a, b) in enumerate(zip(expected, got)):
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            raise ExportError(f"{name}: array {i} {b.dtype}{b.shape} reloads different from the "
                              f"weights written ({a.dtype}{a.shape}); the export is corrupt")
    if _zeros(got) != _zeros(expected):  # implied by the bytes; kept as the stated contract
        raise ExportError(f"{name}: reloaded sparsity differs from the weights written")


def verified_export_bytes(model: keras.Model, fmt: str = "h5", expected=None) -> bytes:
    """``export_bytes``, checked before anyone gets it: the bytes reload into a fresh model
    with exactly ``expected``'s arrays (default ``model.get_weights()``), bit for bit.

    Raises:
        ExportError: see ``check_export``.

    Example:
        >>> data = verified_export_bytes(model, "h5", pruned.arrays)  # doctest: +SKIP
    """
    expected = model.get_weights() if expected is None else list(expected)
    with tempfile.TemporaryDirectory() as d:
        p = write_weights(model, Path(d) / f"model{SUFFIX[fmt]}", fmt)
        data = p.read_bytes()
        check_export(p, model, expected)
    return data


def write_verified(model: keras.Model, path: str | Path, fmt: str = "h5", expected=None) -> Path:
    """Write ``verified_export_bytes`` to ``path`` atomically (temp file, fsync, rename)."""
    data = verified_export_bytes(model, fmt, expected)
    return _atomic(Path(path), lambda p: p.write_bytes(data))


def file_name(method: str, sparsity: float, fmt: str = "h5", stem: str = "pruned") -> str:
    """Download name that says method and achieved sparsity, e.g. pruned-global-90.0pct.h5."""
    return f"{stem}-{method}-{100 * sparsity:.1f}pct{SUFFIX[fmt]}"


@dataclass(frozen=True)
class Sizes:
    """Size of a pruned model: counts and bytes of its legacy .h5 file, raw and gzipped."""

    params: int
    nonzeros: int
    h5_bytes: int
    gzip_bytes: int


def model_sizes(model: keras.Model) -> Sizes:
    """Parameter count, non-zeros, legacy .h5 size and its gzip -9 size."""
    arrays = model.get_weights()
    raw = export_bytes(model, "h5")
    return Sizes(
        params=int(sum(a.size for a in arrays)),
        nonzeros=int(sum(np.count_nonzero(a) for a in arrays)),
        h5_bytes=len(raw),
        gzip_bytes=len(gzip.compress(raw, compresslevel=9, mtime=0)),
    )


def reload_check(path: str | Path, like: keras.Model) -> keras.Model:
    """Load an exported file into a fresh copy of ``like``'s architecture (for verification)."""
    path = Path(path)
    if path.suffix == ".keras":
        from .models import load_keras_archive

        return load_keras_archive(path)
    twin = keras.models.clone_model(like)
    twin.load_weights(path)  # plain Keras reads it back (legacy .h5 by layer order, or Keras 3)
    return twin
