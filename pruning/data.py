"""Datasets: the bundled Fashion-MNIST, user .npz files and the seed's pickles.

Every loader returns the inputs as the file stores them (dtype and values kept: uint8
pixels stay uint8) and int64 labels, validated up front so that a bad file fails here with
a message that says what to fix. Scaling and reshaping for a model happen visibly in
``pruning.inputs``, where the model's own expectations are known.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .units import format_bytes

ROOT = Path(__file__).resolve().parent.parent
FASHION_MNIST_DIR = ROOT / "data" / "fashion-mnist"
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
TRAIN_SIZE = 55_000  # first 55k of the training file; the last 5k are validation
NPZ_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
PICKLE_FILES = {
    "x_train": "train_images.pkl", "y_train": "train_labels.pkl",
    "x_val": "val_images.pkl", "y_val": "val_labels.pkl",
    "x_test": "test_images.pkl", "y_test": "test_labels.pkl",
}
MAX_ITEMS = 2_000_000  # refuse absurd sample counts before allocating
MAX_DATA_BYTES = 1 * 2**30  # refuse uploads (and .npz contents once unpacked) larger than this


class DataError(ValueError):
    """A data file or array that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Split:
    """Inputs (N, ...) and labels (N,) int64; as stored, or prepared for a model."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def head(self, n: int | None) -> "Split":
        """The first n samples (all when n is None)."""
        return self if n is None else Split(self.x[:n], self.y[:n])


@dataclass(frozen=True)
class Dataset:
    """Named train / val / test splits; val selects, test is only reported."""

    name: str
    num_classes: int
    val: Split
    train: Split | None = None
    test: Split | None = None
    class_names: tuple[str, ...] = field(default=())
    input_scale: str | None = None  # None: inputs as stored; else the scaling applied for a model
    prepared: dict = field(default_factory=dict, init=False, compare=False, repr=False)  # fits

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.val.x.shape[1:])


def _read_idx(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the official MNIST container)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise DataError(f"{path.name}: too short to be an IDX file")
    _zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if dtype_code != 0x08:
        raise DataError(f"{path.name}: expected unsigned-byte IDX data, got type 0x{dtype_code:02x}")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path.name}: header says {dims} but holds {data.size} bytes")
    return data.reshape(dims)


def load_fashion_mnist(root: Path | str = FASHION_MNIST_DIR) -> Dataset:
    """The bundled Fashion-MNIST: train 55k, val = last 5k of train file, test 10k."""
    root = Path(root)
    try:
        x_all = _read_idx(root / "train-images-idx3-ubyte.gz")
        y_all = _read_idx(root / "train-labels-idx1-ubyte.gz")
        x_test = _read_idx(root / "t10k-images-idx3-ubyte.gz")
        y_test = _read_idx(root / "t10k-labels-idx1-ubyte.gz")
    except FileNotFoundError as e:
        raise DataError(
            f"Fashion-MNIST file missing: {e.filename}. The repository ships the four .gz files "
            f"under {root}; restore them with `git checkout -- data/`."
        ) from None
    train = to_split(x_all[:TRAIN_SIZE], y_all[:TRAIN_SIZE], "train", num_classes=10)
    val = to_split(x_all[TRAIN_SIZE:], y_all[TRAIN_SIZE:], "val", num_classes=10)
    test = to_split(x_test, y_test, "test", num_classes=10)
    return Dataset("fashion-mnist", 10, val=val, train=train, test=test,
                   class_names=FASHION_MNIST_CLASSES)


def to_inputs(x: object, what: str = "inputs") -> np.ndarray:
    """Validate model inputs as the user stores them (no scaling, no reshaping).

    Accepts numeric arrays with a sample axis first: (N, D) vectors, (N, T) token ids or
    (N, T, F) sequences, (N, H, W) or (N, H, W, C) images. NaN and infinities are refused;
    ranges are checked against the scaling and model they meet (``pruning.inputs``).
    """
    if isinstance(x, list):
        try:
            x = np.asarray(x)
        except ValueError as e:
            raise DataError(f"{what}: ragged list, samples must all have one shape ({e})") from None
    if not isinstance(x, np.ndarray):
        raise DataError(f"{what}: expected a NumPy array, got {type(x).__name__}")
    if x.dtype == object or x.dtype.kind not in "uifb":
        raise DataError(f"{what}: expected numbers, got dtype {x.dtype}")
    if x.ndim < 2:
        raise DataError(f"{what}: expected a sample axis and at least one more, e.g. (N, D) vectors "
                        f"or (N, H, W, C) images, got shape {x.shape}")
    if x.ndim > 5:
        raise DataError(f"{what}: {x.ndim} axes is more than any supported input; got {x.shape}")
    if x.shape[0] == 0:
        raise DataError(f"{what}: no samples")
    if x.shape[0] > MAX_ITEMS:
        raise DataError(f"{what}: {x.shape[0]} samples is more than the limit of {MAX_ITEMS}")
    if x.ndim == 4 and x.shape[3] not in (1, 3, 4) and x.shape[1] in (1, 3, 4):
        raise DataError(f"{what}: shape {x.shape} looks channels-first (NCHW); transpose to NHWC")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise DataError(f"{what}: contains NaN or infinite values")
    if x.dtype.kind == "b":
        x = x.astype(np.uint8)
    return x


def to_labels(y: object, n: int, num_classes: int | None, what: str = "labels") -> np.ndarray:
    """Validate integer class labels: shape (N,) or one-hot (N, K), values in range."""
    if isinstance(y, list):
        y = np.asarray(y)
    if not isinstance(y, np.ndarray):
        raise DataError(f"{what}: expected a NumPy array or list, got {type(y).__name__}")
    if y.ndim == 2 and y.shape[1] > 1:
        if not np.all((y == 0) | (y == 1)) or not np.all(y.sum(axis=1) == 1):
            raise DataError(f"{what}: 2-D labels must be one-hot rows")
        y = y.argmax(axis=1)
    elif y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{what}: expected shape (N,), got {y.shape}")
    if y.dtype.kind == "u" and y.size and int(y.max()) > np.iinfo(np.int64).max:
        raise DataError(f"{what}: label {int(y.max())} is out of range; labels are class indices 0..K-1")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError(f"{what}: labels must be whole class numbers, found fractions or NaN")
    elif y.dtype.kind not in "iu":
        raise DataError(f"{what}: expected integer labels, got dtype {y.dtype}")
    if y.shape[0] != n:
        raise DataError(f"{what}: {y.shape[0]} labels for {n} samples; the counts must match")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise DataError(f"{what}: negative label {int(y.min())}; labels are class indices 0..K-1")
    if num_classes is not None and y.size and y.max() >= num_classes:
        raise DataError(
            f"{what}: label {int(y.max())} is out of range for {num_classes} classes (0..{num_classes - 1})"
        )
    return y


def to_split(x: object, y: object, name: str, num_classes: int | None = None) -> Split:
    """Validate one (inputs, labels) pair."""
    xs = to_inputs(x, f"{name} inputs")
    return Split(xs, to_labels(y, xs.shape[0], num_classes, f"{name} labels"))


def _assemble(name: str, arrays: dict[str, object], num_classes: int | None) -> Dataset:
    """Build a Dataset from x_*/y_* arrays; val is required (train/test optional)."""
    for part in ("train", "val", "test"):
        if (f"x_{part}" in arrays) != (f"y_{part}" in arrays):
            missing = f"y_{part}" if f"x_{part}" in arrays else f"x_{part}"
            raise DataError(f"{name}: has {part} inputs or labels but not both (missing {missing})")
    if "x_val" not in arrays:
        raise DataError(f"{name}: no validation data; provide x_val and y_val")
    splits = {
        part: to_split(arrays[f"x_{part}"], arrays[f"y_{part}"], part, num_classes)
        for part in ("train", "val", "test") if f"x_{part}" in arrays
    }
    shapes = {p: s.x.shape[1:] for p, s in splits.items()}
    if len(set(shapes.values())) > 1:
        raise DataError(f"{name}: sample shapes differ between splits: {shapes}")
    if num_classes is None:
        num_classes = int(max(int(s.y.max()) for s in splits.values()) + 1)
    return Dataset(name, num_classes, val=splits["val"], train=splits.get("train"),
                   test=splits.get("test"))


def _check_npz_container(source: str | Path | BinaryIO, label: str) -> None:
    """Refuse before np.load reads anything: non-zip files, oversize files, and members that
    unpack (or whose .npy headers claim) more than MAX_DATA_BYTES (np.load allocates what a
    header claims before reading)."""
    if isinstance(source, (str, Path)):
        size = Path(source).stat().st_size
        with open(source, "rb") as f:
            magic = f.read(6)
    else:
        start = source.tell()
        size = source.seek(0, io.SEEK_END) - start
        source.seek(start)
        magic = source.read(6)
        source.seek(start)
    if size > MAX_DATA_BYTES:
        raise DataError(f"{label}: {format_bytes(size)} is over the {format_bytes(MAX_DATA_BYTES)} limit")
    if magic.startswith(b"\x93NUMPY"):
        raise DataError(f"{label}: a single .npy array, not an .npz; save the splits together with "
                        "np.savez(path, x_val=..., y_val=..., ...)")
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise DataError(f"{label}: not an .npz file (an .npz is a zip of arrays written by np.savez); "
                        "the file is empty, damaged or in another format")
    try:
        with zipfile.ZipFile(source) as z:
            infos = z.infolist()
            unpacked = sum(i.file_size for i in infos)
            if unpacked > MAX_DATA_BYTES:
                raise DataError(f"{label}: unpacks to {format_bytes(unpacked)}, over the "
                                f"{format_bytes(MAX_DATA_BYTES)} limit")
            for info in infos:
                if not info.filename.endswith(".npy"):
                    continue
                with z.open(info) as m:
                    version = np.lib.format.read_magic(m)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    shape, _fortran, dtype = read(m)
                claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if not dtype.hasobject and claimed > info.file_size:
                    raise DataError(f"{label}: {info.filename} declares a {shape} {dtype} array "
                                    f"({format_bytes(claimed)}) but holds {format_bytes(info.file_size)}; "
                                    "the file is damaged or crafted")
    except DataError:
        raise
    except Exception as e:  # BadZipFile, a bad .npy header, ...
        raise DataError(f"{label}: not a readable .npz file ({type(e).__name__}: {e})") from None
    finally:
        if not isinstance(source, (str, Path)):
            source.seek(start)


def load_npz(source: str | Path | BinaryIO, num_classes: int | None = None,
             name: str | None = None) -> Dataset:
    """Load x_train/y_train/x_val/y_val/x_test/y_test from an .npz (no pickles allowed)."""
    label = name or (Path(source).name if isinstance(source, (str, Path)) else "upload.npz")
    _check_npz_container(source, label)
    try:
        with np.load(source, allow_pickle=False) as z:
            unknown = sorted(set(z.files) - set(NPZ_KEYS))
            if unknown:
                raise DataError(f"{label}: unknown keys {unknown}; expected some of {list(NPZ_KEYS)}")
            arrays = {k: z[k] for k in z.files}
    except DataError:
        raise
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise DataError(f"{label}: holds object arrays (pickled Python objects), which are "
                            "refused; save plain numeric arrays with np.savez") from None
        raise DataError(f"{label}: not a readable .npz file ({e})") from None
    except (OSError, EOFError, KeyError) as e:
        raise DataError(f"{label}: not a readable .npz file ({e})") from None
    except Exception as e:  # zipfile.BadZipFile and friends
        raise DataError(f"{label}: not a readable .npz file ({type(e).__name__}: {e})") from None
    return _assemble(label, arrays, num_classes)


class _SafeUnpickler(pickle.Unpickler):
    """Admits NumPy arrays and plain containers only; any other global is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    }

    FROMBUFFER = {("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer")}

    def find_class(self, module: str, name: str):  # noqa: D102
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        if (module, name) in self.FROMBUFFER:  # protocol 5 arrays (NumPy's default since 1.16)
            return _checked_frombuffer
        raise _Refused(f"refused to load {module}.{name}")

    def persistent_load(self, pid: object) -> object:  # noqa: D102
        raise _Refused(f"refused persistent id {str(pid)[:100]!r}")


class _Refused(pickle.UnpicklingError):
    """A pickle asked for something outside the allow-list."""


def _checked_frombuffer(buf: object, dtype: object, shape: object, order: object,
                        axis_order: object = None) -> np.ndarray:
    """NumPy's ``_frombuffer`` (an array from raw bytes) after checking every argument, so a
    pickle cannot pass it anything but bytes, a plain numeric dtype and a shape."""
    if not isinstance(buf, (bytes, bytearray, memoryview, pickle.PickleBuffer)):
        raise _Refused(f"_frombuffer with a {type(buf).__name__} buffer")
    if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.kind not in "biufc":
        raise _Refused(f"_frombuffer with dtype {dtype!r}")
    ints = (tuple, list)
    if not isinstance(shape, ints) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise _Refused("_frombuffer with a malformed shape")
    if order not in ("C", "F", "K") or not (axis_order is None or (
            isinstance(axis_order, ints) and all(isinstance(d, int) for d in axis_order))):
        raise _Refused("_frombuffer with a malformed order")
    data = np.frombuffer(buf, dtype=dtype)
    if data.size != int(np.prod(shape, dtype=object)):
        raise _Refused(f"_frombuffer: {data.size} items do not fill shape {tuple(shape)}")
    if order == "K" and axis_order is not None:
        if sorted(axis_order) != list(range(len(shape))):
            raise _Refused("_frombuffer with a malformed axis order")
        return data.reshape(shape, order="C").transpose(axis_order)
    return data.reshape(shape, order=order)


def safe_unpickle(data: bytes, what: str = "pickle") -> object:
    """Unpickle arrays/lists/ints without ever importing or calling arbitrary code."""
    try:
        obj = _SafeUnpickler(io.BytesIO(data)).load()
    except _Refused as e:
        raise DataError(f"{what}: unsafe or unsupported pickle ({e}); only NumPy arrays and "
                        "plain lists of numbers are accepted. Re-save with np.save or np.savez.") from None
    except Exception as e:
        raise DataError(f"{what}: not a readable pickle ({type(e).__name__}: {e})") from None
    if not isinstance(obj, (np.ndarray, list, tuple)):
        raise DataError(f"{what}: holds a {type(obj).__name__}; expected an array or a list")
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        raise DataError(f"{what}: holds an object array; expected numbers")
    return np.asarray(obj) if isinstance(obj, tuple) else obj


def load_pickles(files: dict[str, bytes], num_classes: int | None = None,
                 name: str = "pickles") -> Dataset:
    """Load the seed's layout from {file name: bytes} (val_images.pkl, val_labels.pkl, ...)."""
    by_file = {v: k for k, v in PICKLE_FILES.items()}
    total = sum(len(b) for b in files.values())
    if total > MAX_DATA_BYTES:
        raise DataError(f"{name}: {format_bytes(total)} is over the {format_bytes(MAX_DATA_BYTES)} limit")
    arrays: dict[str, object] = {}
    for fname, data in files.items():
        base = Path(fname).name
        if base not in by_file:
            raise DataError(f"{base}: unexpected file; expected some of {sorted(by_file)}")
        arrays[by_file[base]] = safe_unpickle(data, base)
    return _assemble(name, arrays, num_classes)


def load_pickle_dir(folder: str | Path, num_classes: int | None = None) -> Dataset:
    """Load the seed's pickles from a folder."""
    folder = Path(folder)
    files = {f: (folder / f).read_bytes() for f in PICKLE_FILES.values() if (folder / f).exists()}
    if not files:
        raise DataError(f"{folder}: none of {sorted(PICKLE_FILES.values())} found")
    return load_pickles(files, num_classes, name=folder.name)


def load_data(spec: str | Path, num_classes: int | None = None) -> Dataset:
    """'fashion-mnist', a .npz path, or a folder of the seed's .pkl files."""
    if str(spec) == "fashion-mnist":
        return load_fashion_mnist()
    path = Path(spec)
    if not path.exists():
        raise DataError(f"{spec}: no such file or folder; use 'fashion-mnist', an .npz or a folder of .pkl files")
    if path.is_dir():
        return load_pickle_dir(path, num_classes)
    if path.suffix == ".npz":
        return load_npz(path, num_classes)
    raise DataError(f"{path.name}: unsupported data file; use an .npz or a folder of the seed's .pkl files")
