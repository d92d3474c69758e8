"""Score one submitted file exactly as the challenge does (leaderboard and ``score`` CLI).

The file is loaded with the hostile-input rules of ``pruning.models`` (HDF5 checks, ``.keras``
in safe mode), its weights are copied into a fresh model of the challenge's architecture
(shape-checked, all-or-nothing), sparsity is counted over all parameters (kernels and biases,
``pruning.masks.total_sparsity``) and accuracy is measured on the scoring split by
``pruning.evaluate.Evaluator``. One function, ``score_file``, serves both callers, so the CLI
and the leaderboard agree bit for bit.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from ..data import Dataset, Split
from ..evaluate import Evaluator
from ..frontier import challenge_score
from ..masks import total_sparsity
from ..models import (ModelError, assign_file_weights, load_keras_archive, read_weight_file,
                      weight_arrays)

SUFFIXES = (".weights.h5", ".keras", ".h5")
_CLONE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Result:
    """What a scored file achieved: the leaderboard's numbers (fractions 0..1)."""

    sparsity: float  # zeros / entries over all kernels and biases
    accuracy: float  # on the scoring split
    score: float  # (sparsity + accuracy) / 2; NaN when accuracy does not exceed the floor
    params: int
    nonzeros: int
    images: int

    def as_dict(self) -> dict:
        d = asdict(self)
        d["score"] = None if math.isnan(self.score) else self.score
        return d


def check_suffix(file_name: str) -> str:
    """The accepted suffix of ``file_name`` or a ModelError saying which ones are accepted."""
    for s in SUFFIXES:
        if file_name.lower().endswith(s):
            return s
    raise ModelError(f"{file_name}: upload a .h5, .weights.h5 or .keras file")


def new_model(template: keras.Model) -> keras.Model:
    """A fresh model with ``template``'s architecture (its weights are overwritten later)."""
    with _CLONE_LOCK:  # the template is shared by every session; clone it one at a time
        return keras.models.clone_model(template)


def file_layers(path: Path, file_name: str) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    """The weighted layers of a submitted file as [(layer, [(var, array)])], loaded safely."""
    suffix = check_suffix(file_name)
    try:
        if suffix != ".keras":
            return read_weight_file(path)
        model = load_keras_archive(path)
    except ModelError as e:
        raise ModelError(str(e).replace(path.name, file_name)) from None
    return [(layer.name, [(v.path.split("/")[-1], np.asarray(v.numpy())) for v in layer.weights])
            for layer in model.layers if layer.weights]


def score_model(model: keras.Model, split: Split, floor: float) -> Result:
    """Sparsity (all parameters), accuracy on ``split`` and the challenge score of ``model``."""
    was = weight_arrays(model)
    arrays, kinds = [w.array for w in was], [w.kind for w in was]
    sparsity = total_sparsity(arrays, kinds, "all")
    accuracy = Evaluator(model, split).evaluate().accuracy
    counted = [a for a, k in zip(arrays, kinds) if k in ("kernel", "bias")]
    return Result(sparsity=float(sparsity), accuracy=float(accuracy),
                  score=float(challenge_score(sparsity, accuracy, floor)),
                  params=int(sum(a.size for a in counted)),
                  nonzeros=int(sum(np.count_nonzero(a) for a in counted)), images=len(split))


def score_file(path: str | Path, file_name: str, template: keras.Model, split: Split,
               floor: float) -> Result:
    """Load ``path`` (named ``file_name`` by its uploader) into ``template``'s architecture and score it.

    Raises:
        ModelError: the file is refused (format, safety, architecture); the message names it.
    """
    layers = file_layers(Path(path), file_name)
    model = new_model(template)
    assign_file_weights(model, layers, file_name)
    return score_model(model, split, floor)


def check_fits(template: keras.Model, data: Dataset, split: str) -> Split:
    """The named split of ``data`` as the model takes it (inputs checked against the model's
    input and scaled by the 'auto' rule of ``pruning.inputs``), checked against its class count."""
    from ..inputs import ensure_fitted

    if getattr(data, split, None) is None or len(getattr(data, split)) == 0:
        raise ModelError(f"the data has no {split} split; pick another split or other data")
    chosen = getattr(ensure_fitted(data, template), split)
    classes = int(template.output_shape[-1])
    if int(chosen.y.max()) >= classes:
        raise ModelError(f"the model predicts {classes} classes but the {split} labels go up to "
                         f"{int(chosen.y.max())}; pick data and model that match")
    return chosen


def score_local(path: str | Path, preset: str | None = None, data: str | Path = "fashion-mnist",
                split: str = "test", floor: float | None = None) -> Result:
    """What ``python -m pruning score`` prints: ``score_file`` on a local file and dataset.

    The architecture is ``preset`` (default fashion-mnist); a ``.keras`` file without
    ``preset`` is scored in its own architecture. Same code path as the leaderboard.
    """
    from ..data import load_data
    from ..frontier import DEFAULT_FLOOR
    from ..models import build_preset

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    if check_suffix(path.name) == ".keras" and preset is None:
        template = load_keras_archive(path)
    else:
        template = build_preset(preset or "fashion-mnist")
    dataset = load_data(data, int(template.output_shape[-1]))
    chosen = check_fits(template, dataset, split)
    return score_file(path, path.name, template, chosen, DEFAULT_FLOOR if floor is None else floor)
