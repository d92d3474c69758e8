"""Files for challenge tests: the tiny model as a .keras, tiny data as .npz, pruned submissions."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np


def tiny_model(weights_path: Path):
    from pruning.models import build_model, load_weights_into

    return load_weights_into(build_model((12, 12, 1), 3, width=0.25), weights_path)


def keras_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.keras"
        model.save(path)
        return path.read_bytes()


def npz_bytes(data) -> bytes:
    """val (public) and test (hidden) splits of a Dataset as .npz bytes."""
    buf = io.BytesIO()
    np.savez(buf, x_val=data.val.x, y_val=data.val.y, x_test=data.test.x, y_test=data.test.y)
    return buf.getvalue()


def pruned_bytes(model, sparsity: float, fmt: str = "h5") -> bytes:
    """``model``'s weights pruned globally to ``sparsity`` (all parameters) as file bytes."""
    import keras

    from pruning.export import export_bytes
    from pruning.masks import prune_arrays
    from pruning.models import weight_arrays

    was = weight_arrays(model)
    pruned = prune_arrays([w.array for w in was], [w.kind for w in was], "global", sparsity)
    twin = keras.models.clone_model(model)
    twin.set_weights(pruned)
    return export_bytes(twin, fmt)


def reference_numbers(model, data_bytes: bytes, file_bytes: bytes, fmt: str) -> tuple[float, float]:
    """(sparsity, accuracy) of a submission computed with plain Keras/NumPy, independently."""
    import keras

    twin = keras.models.clone_model(model)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ("f." + fmt)
        path.write_bytes(file_bytes)
        if fmt == "keras":
            twin = keras.saving.load_model(path, compile=False)
        elif fmt == "weights.h5":
            twin.load_weights(path)
        else:
            import h5py

            with h5py.File(path, "r") as f:  # legacy layout: layer_names -> weight_names
                arrays = [np.asarray(f[n][w]) for n in [x.decode() for x in f.attrs["layer_names"]]
                          for w in [x.decode() for x in f[n].attrs["weight_names"]]]
            twin.set_weights(arrays)
    weights = twin.get_weights()
    sparsity = sum(int((w == 0).sum()) for w in weights) / sum(w.size for w in weights)
    with np.load(io.BytesIO(data_bytes)) as z:
        x = z["x_test"].astype("float32")
        x = x / 255.0 if z["x_test"].dtype == np.uint8 else x
        y = z["y_test"]
    pred = twin.predict(x, verbose=0).argmax(axis=1)
    return sparsity, float(np.mean(pred == y))
