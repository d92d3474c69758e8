"""Bring your own: upload weights (or a .keras model) and validation data for this session."""

import io
from pathlib import Path

import streamlit as st

from pruning import PRESETS, ui
from pruning.data import DataError, load_npz, load_pickles
from pruning.modelinfo import OUTPUT_LABELS
from pruning.models import ModelError

ui.require_shell()
st.title("Bring your own")
st.caption("Uploads stay in your browser session only: nobody else in the room sees them, and they "
           "are gone when you close the tab.")


def load_model_upload(f, preset: str) -> str | None:
    """Load an uploaded model file into this session; the error message, or None."""
    try:
        um = ui.add_user_model(f.getvalue(), Path(f.name).name, preset)
    except ModelError as e:
        return str(e)
    except Exception as e:  # anything else a broken upload can raise
        return f"{f.name}: could not be read as Keras weights ({type(e).__name__}: {e})"
    st.session_state["_byo_model_msg"] = (f"Loaded {um.file_name}: {um.baseline.params:,} parameters; "
                                          f"takes {um.info.input_text()}; outputs "
                                          f"{OUTPUT_LABELS[um.info.output_kind]}, {um.classes} classes.")
    return None


def load_data_upload(files: list) -> str | None:
    """Load uploaded .npz or the seed's .pkl files into this session; the error message, or None."""
    names = [Path(f.name).name for f in files]
    npz = [f for f, n in zip(files, names) if n.endswith(".npz")]
    try:
        if npz and len(files) > 1:
            raise DataError("upload either one .npz file or the seed's .pkl files, not both")
        if npz:
            ds = load_npz(io.BytesIO(npz[0].getvalue()), name=names[0])
            label = names[0]
        else:
            bad = [n for n in names if not n.endswith(".pkl")]
            if bad:
                raise DataError(f"{', '.join(bad)}: expected .npz or .pkl files")
            ds = load_pickles({n: f.getvalue() for f, n in zip(files, names)}, name="pickles")
            label = ", ".join(sorted(names))
    except DataError as e:
        return str(e)
    except Exception as e:
        return f"{', '.join(names)}: could not be read ({type(e).__name__}: {e})"
    digest = ui.digest(*[f.getvalue() for f in files], *names)
    ud = ui.add_user_data(ds, digest, label)
    parts = [f"val {len(ds.val):,}"] + [f"{p} {len(getattr(ds, p)):,}" for p in ("train", "test")
                                         if getattr(ds, p) is not None]
    x = ds.val.x
    st.session_state["_byo_data_msg"] = (f"Loaded {ud.label.removeprefix('Your data: ')}: "
                                         f"{', '.join(parts)} samples of shape "
                                         f"{'x'.join(map(str, ds.input_shape))} ({x.dtype}, values "
                                         f"{x.min():g}..{x.max():g}), labels 0..{ds.num_classes - 1}.")
    return None


def detected(b: "ui.Bench") -> None:
    """What the tool understood about the selected model and data, so a user sees at once
    whether it read them right (and can change the input scaling in the sidebar)."""
    info, fit = b.wb.info, b.wb.fit
    dims = "x".join("?" if d is None else str(d) for d in info.input_shape)
    rows = {
        "Input": f"{info.input_text()} (arrays (N, {dims.replace('x', ', ')}), {info.input_dtype})",
        "Output": f"{OUTPUT_LABELS[info.output_kind]}, {info.num_classes} classes",
        "Input scaling applied": ui.scaling_text(b.wb).removeprefix("Input scaling applied: "),
        "Scaling inside the model": ", ".join(info.own_scaling) or "none",
        "Prunable weights": (f"{info.prunable_params:,} of {info.params:,} parameters "
                             f"({ui.fmt_pct(info.prunable_params / info.params)}) in "
                             f"{len(info.layers)} layers"),
        "Never pruned": ", ".join(info.never_pruned) or "nothing (every array is a kernel or bias)",
    }
    st.markdown("**What the tool understood**")
    st.table({"": list(rows), "Detected": list(rows.values())})
    st.dataframe([{"Layer": p.name, "Type": p.type, "Prunable parameters": p.params,
                   "Share": ui.fmt_pct(p.share)} for p in info.layers],
                 hide_index=True, width="stretch")
    if fit.requested == "auto":
        st.caption("Wrong scaling? Pick another under Input scaling in the sidebar; every page "
                   "and result uses the scaling shown here.")


left, right = st.columns(2)
with left:
    st.subheader("1 · Model")
    st.session_state.setdefault("byo_preset", "cmu-10605")
    preset = st.selectbox("Architecture preset", list(PRESETS), key="byo_preset",
                          format_func=lambda p: f"{p}  ({'x'.join(map(str, PRESETS[p][0]))}, "
                                                f"{PRESETS[p][1]} classes)",
                          help="The layer stack the weights were trained with (ignored for .keras "
                               "files, which carry their own architecture).")
    f = st.file_uploader("Weights: legacy .h5, Keras 3 .weights.h5, or full .keras model",
                         type=["h5", "keras"], key="byo_model")
    if f is not None:
        tag = (f.file_id, preset)
        if st.session_state.get("_byo_model_tag") != tag:
            with st.spinner(f"Loading {f.name}…"):
                st.session_state["_byo_model_err"] = load_model_upload(f, preset)
            st.session_state["_byo_model_tag"] = tag
            if st.session_state["_byo_model_err"] is None:
                st.rerun()  # so the sidebar lists (and selects) the new model
        if st.session_state.get("_byo_model_err"):
            st.error(st.session_state["_byo_model_err"], icon="🚫")
    um = next(iter(ui.user_models().values()), None)
    if um is not None and not (f is not None and st.session_state.get("_byo_model_err")):
        st.success(st.session_state.get("_byo_model_msg", f"Loaded {um.file_name}."), icon="✅")

with right:
    st.subheader("2 · Data")
    files = st.file_uploader("Data: one .npz (x_val, y_val, optional x_train/y_train/x_test/y_test) or "
                             "the seed's val_images.pkl + val_labels.pkl (optional train/test pairs)",
                             type=["npz", "pkl"], accept_multiple_files=True, key="byo_data")
    if files:
        tag = tuple(sorted(f.file_id for f in files))
        if st.session_state.get("_byo_data_tag") != tag:
            with st.spinner("Reading data…"):
                st.session_state["_byo_data_err"] = load_data_upload(files)
            st.session_state["_byo_data_tag"] = tag
            if st.session_state["_byo_data_err"] is None:
                st.rerun()
        if st.session_state.get("_byo_data_err"):
            st.error(st.session_state["_byo_data_err"], icon="🚫")
    ud = next(iter(ui.user_data().values()), None)
    if ud is not None and not (files and st.session_state.get("_byo_data_err")):  # not beside one
        st.success(st.session_state.get("_byo_data_msg", ud.label), icon="✅")

st.subheader("3 · Check")
if um is not None or ud is not None:
    sel = ui.selection()
    try:
        b = ui.bench(sel)
    except (ModelError, DataError, ValueError) as e:
        if um is not None and ud is None:  # weights only: no dead end, the weights speak
            st.info(f"{e}. Upload validation data for this model to prune and evaluate it; "
                    "meanwhile, what the weights alone tell is below.", icon="ℹ️")
        else:
            ui.show_error(e)
    else:
        d = ui.dense_scores(b.key, _bench=b)
        st.success(f"Ready: the selected model scores {ui.fmt_pct(d['val'])} on the selected val data"
                   f" (loss {d['val_loss']:.4f})"
                   + (f" ({ui.fmt_pct(d['test'])} on test)" if d["test"] is not None else "")
                   + ". Open Explore or Frontier to prune it.", icon="✅")
        detected(b)
    if um is not None:
        ui.show_weights(um.baseline, f"Your weights: {um.file_name}")
    if st.button("Forget my uploads", key="byo_forget"):
        ui.forget_uploads()  # the tags stay, so files still in the uploaders are not loaded again
        for k in ("_byo_model_err", "_byo_data_err", "_byo_model_msg", "_byo_data_msg"):
            st.session_state.pop(k, None)
        st.rerun()
else:
    st.info("Upload a model, data, or both. The demo model and Fashion-MNIST stay available in the "
            "sidebar.")
