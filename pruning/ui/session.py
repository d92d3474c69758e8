"""This session's models, data and workbench (``Bench``); the shared read-only demo.

``st.cache_resource`` (shared by every session) holds read-only things only: the bundled
dataset and the dense ``Baseline`` of the bundled model. Each session builds its own Keras
model + ``Workbench`` (``st.session_state``); a per-session lock serialises use of that model
(download callables run on another thread). Uploads live in that session's state only.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import keras
import streamlit as st

from ..data import DataError, Dataset, load_fashion_mnist
from ..inputs import SCALE_LABELS
from ..layers import assign_arrays
from ..modelinfo import ModelInfo, describe_model
from ..oneshot import Baseline, Pruned
from ..models import ModelError, build_preset, bundled_weights, load_model
from ..workbench import Workbench
from .format import show_error

if TYPE_CHECKING:
    from .shell import Selection

VAL_LIMIT_ENV = "PRUNING_VAL_LIMIT"
TEST_LIMIT_ENV = "PRUNING_TEST_LIMIT"
DEMO_MODEL = "demo"
DEMO_DATA = "fashion-mnist"
DEMO_MODEL_LABEL = "Demo CNN (bundled)"
DEMO_DATA_LABEL = "Fashion-MNIST (bundled)"


def env_limit(name: str) -> int | None:
    """A positive int from the environment, or None (unset, empty or invalid)."""
    try:
        v = int(os.environ.get(name, "").strip())
    except ValueError:
        return None
    return v if v > 0 else None


def limits() -> tuple[int | None, int | None]:
    """(val_limit, test_limit) from PRUNING_VAL_LIMIT / PRUNING_TEST_LIMIT."""
    return env_limit(VAL_LIMIT_ENV), env_limit(TEST_LIMIT_ENV)


def digest(*parts: bytes | str) -> str:
    """Short content hash used as a cache key."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:16]



def _freeze_split(split):
    if split is not None:
        split.x.setflags(write=False)
        split.y.setflags(write=False)


@st.cache_resource(show_spinner="Loading Fashion-MNIST…")
def bundled_dataset() -> Dataset:
    """The bundled Fashion-MNIST (shared by all sessions; arrays read-only)."""
    ds = load_fashion_mnist()
    for s in (ds.train, ds.val, ds.test):
        _freeze_split(s)
    return ds


@st.cache_resource(show_spinner="Loading the demo model…")
def _demo_baseline(path: str, mtime: float) -> tuple[str, Baseline]:
    model = load_model(path, "fashion-mnist")
    with open(path, "rb") as f:
        mid = "demo-" + digest(f.read())
    return mid, Baseline.from_model(model)


def demo_baseline() -> tuple[str, Baseline]:
    """(model id, dense Baseline) of the bundled demo weights; ModelError if missing."""
    path = bundled_weights("fashion-mnist")
    if not path.exists():
        raise ModelError(f"the bundled demo weights ({path.parent.name}/{path.name}) are not there "
                         "yet; upload your own weights on the Bring your own page")
    return _demo_baseline(str(path), path.stat().st_mtime)



@dataclass
class UserModel:
    """A model uploaded in this session (never shared): its own Keras model and baseline."""

    id: str
    label: str
    preset: str
    file_name: str
    model: keras.Model
    baseline: Baseline
    info: ModelInfo | None = None  # what the tool read off the model (modelinfo.describe_model)

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        return tuple(self.info.input_shape) if self.info else tuple(self.model.input_shape[1:])

    @property
    def classes(self) -> int:
        return self.info.num_classes if self.info else int(self.model.output_shape[-1])


@dataclass
class UserData:
    """A dataset uploaded in this session."""

    id: str
    label: str
    dataset: Dataset


def user_models() -> dict[str, UserModel]:
    """This session's uploaded models by id."""
    return st.session_state.setdefault("_user_models", {})


def user_data() -> dict[str, UserData]:
    """This session's uploaded datasets by id."""
    return st.session_state.setdefault("_user_data", {})


def add_user_model(content: bytes, file_name: str, preset: str) -> UserModel:
    """Load an uploaded weights file / .keras model into this session (ModelError if bad)."""
    from ..models import load_model_bytes

    model = load_model_bytes(content, file_name, preset)
    info = describe_model(model)  # refuses, with the reason, what the tool cannot score
    is_archive = file_name.endswith(".keras")
    mid = "upload-" + digest(content, "" if is_archive else preset)
    label = f"Your model: {file_name}" + ("" if is_archive else f" ({preset})")
    um = UserModel(mid, label, preset, file_name, model, Baseline.from_model(model), info)
    user_models().clear()  # one upload at a time keeps a session's memory bounded
    user_models()[mid] = um
    st.session_state["_pending_model"] = mid
    return um


def add_user_data(ds: Dataset, content_hash: str, label: str) -> UserData:
    """Keep an uploaded dataset in this session and select it."""
    for s in (ds.train, ds.val, ds.test):
        _freeze_split(s)
    ud = UserData("upload-" + content_hash, f"Your data: {label}", ds)
    user_data().clear()
    user_data()[ud.id] = ud
    st.session_state["_pending_data"] = ud.id
    return ud


def forget_uploads() -> None:
    """Drop this session's uploads (and the workbench built on them)."""
    user_models().clear()
    user_data().clear()
    st.session_state.pop("_bench", None)
    for k in ("model", "data"):
        st.session_state.pop(k, None)



@dataclass
class Bench:
    """This session's workbench and the ids that key every cached result about it."""

    model_id: str
    data_id: str
    wb: Workbench
    val_limit: int | None
    test_limit: int | None
    want: tuple = ()
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    # (model, val data) hashes as the result store keys them; computed on first use
    store_hashes: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple:
        return (self.model_id, self.data_id, self.val_limit, self.test_limit, self.wb.fit.scale)

    def prune(self, method: str, sparsity: float, scope: str) -> Pruned:
        return self.wb.prune(method, sparsity, scope)


def _resolve_model(model_id: str) -> tuple[str, keras.Model, Baseline]:
    if model_id == DEMO_MODEL:
        mid, base = demo_baseline()
        model = build_preset("fashion-mnist")
        assign_arrays(model.weights, base.arrays)
        return mid, model, base
    um = user_models().get(model_id)
    if um is None:
        raise ModelError("the uploaded model is no longer in this session; upload it again")
    return um.id, um.model, um.baseline


def _resolve_data(data_id: str) -> tuple[str, Dataset]:
    if data_id == DEMO_DATA:
        return DEMO_DATA, bundled_dataset()
    ud = user_data().get(data_id)
    if ud is None:
        raise DataError("the uploaded data is no longer in this session; upload it again")
    return ud.id, ud.dataset


def bench_or_stop(sel: Selection) -> Bench:
    """``bench(sel)``, or the problem shown as an error and the page stopped."""
    try:
        b = bench(sel)
    except (ModelError, DataError, ValueError) as e:
        um = user_models().get(sel.model_id)
        if um is not None and sel.data_id == DEMO_DATA:  # weights uploaded, no data of their own
            msg = str(e)
            st.info(f"{msg[:1].upper()}{msg[1:]}. Pruning needs validation data this model can run on: upload it on "
                    "Bring your own. Meanwhile, what the weights alone tell:", icon="ℹ️")
        else:
            show_error(e)
        if um is not None:
            from .weights_view import show_weights

            show_weights(um.baseline, f"Your weights: {um.file_name}")
        st.stop()
        raise  # unreachable: st.stop() ends the script run
    st.sidebar.caption(scaling_text(b.wb))
    return b


def scaling_text(wb: Workbench) -> str:
    """'Input scaling applied: x / 255 (auto: 8-bit pixel values ...)' for every page."""
    fit = wb.fit
    how = "auto: " + fit.reason if fit.requested == "auto" else "chosen"
    return f"Input scaling applied: {SCALE_LABELS[fit.scale]} ({how})."


def bench(sel: Selection | None = None) -> Bench:
    """This session's Bench for the selected model and data (built once, then reused).

    Raises ModelError / DataError with a user-facing message (missing file, mismatch).
    """
    if sel is None:
        from .shell import selection

        sel = selection()
    vl, tl = limits()
    cur: Bench | None = st.session_state.get("_bench")
    # the demo's id is its file hash, so replacing the bundled file rebuilds every bench
    mid = demo_baseline()[0] if sel.model_id == DEMO_MODEL else sel.model_id
    want = (mid, sel.data_id, vl, tl, sel.input_scale)
    if cur is not None and cur.want == want:
        return cur
    st.session_state.pop("_bench", None)  # drop the old model before building a new one
    mid, model, base = _resolve_model(sel.model_id)
    did, ds = _resolve_data(sel.data_id)
    wb = Workbench(model, ds, val_limit=vl, test_limit=tl, baseline=base,
                   input_scale=sel.input_scale)
    b = Bench(mid, did, wb, vl, tl, want)
    st.session_state["_bench"] = b
    return b
