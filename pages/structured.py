"""Shrink: structured pruning, whole channels and neurons removed for a smaller, faster file."""

import streamlit as st

from pruning import plots, ui
from pruning.structured import ALLOCATIONS, CRITERIA

ui.require_shell()
st.title("Shrink")
st.caption("Structured pruning removes whole filters, channels and neurons and builds a physically "
           "smaller Keras model: fewer parameters, fewer multiply-adds, a smaller file, and a model "
           "that runs faster without any sparse kernels. It works on a copy; the other pages keep "
           "the dense model.")

sel = ui.selection()
b = ui.bench_or_stop(sel)
problem = ui.structure_problem(b)
if problem is not None:
    st.error(f"This model cannot be pruned structurally: {problem}. Structured pruning reads "
             "Sequential and Functional Keras models built from Conv/Dense layers (no nested or "
             "subclassed models); unstructured pruning on **Explore** still works for it.", icon="🚫")
    st.stop()

train = b.wb.data.train
st.session_state.setdefault("shrink_remove", 50)
st.session_state.setdefault("shrink_importance", "l1")
st.session_state.setdefault("shrink_allocation", "uniform")
st.session_state.setdefault("shrink_epochs", 0)
if train is not None:
    st.session_state.setdefault("shrink_train", min(5000, len(train)))
    st.session_state["shrink_train"] = max(min(int(st.session_state["shrink_train"]), len(train)),
                                           min(100, len(train)))
c1, c2, c3 = st.columns([2, 1, 1])
pct = c1.slider("Channels / neurons removed (%)", 0, 95, step=1, key="shrink_remove", format="%d %%",
                help="The fraction of the units of every prunable layer group that is removed.")
importance = c2.selectbox("Importance", list(CRITERIA), key="shrink_importance",
                          format_func=ui.IMPORTANCE_LABELS.get,
                          help="How a unit is scored; the lowest-scored units go. L1/L2: the norm of "
                               "its weights; BatchNorm scale: |gamma| of the BatchNorm after it; Taylor: "
                               "|activation x gradient| over a few training batches (needs x_train).")
allocation = c3.selectbox("Allocation", list(ALLOCATIONS), key="shrink_allocation",
                          format_func=ui.ALLOCATION_LABELS.get,
                          help="Uniform: the same fraction per layer. Global: one ranking over all "
                               "layers. Sensitivity: per-layer fractions from a one-layer-at-a-time scan.")
with st.expander("Fine-tuning (wins back accuracy; takes minutes)"):
    if train is None:
        st.info("Fine-tuning and Taylor scores need training images: upload an .npz with x_train / "
                "y_train on Bring your own.")
        epochs, n_train = 0, None
    else:
        f1, f2 = st.columns(2)
        epochs = f1.number_input("Fine-tuning epochs", 0, 50, step=1, key="shrink_epochs",
                                 help="0: no fine-tuning. Distillation-free, best-val epoch kept.")
        n_train = f2.number_input("Training images", min(100, len(train)), len(train), step=500,
                                  key="shrink_train", help="Fewer images train faster.")
if train is None and importance == "taylor":
    st.info("Taylor importance needs training images; pick another importance or upload x_train / "
            "y_train on Bring your own.")
    st.stop()

remove = ui.fraction(pct)
heavy = ui.is_heavy(importance, allocation, epochs)
settings = (round(remove, 6), importance, allocation, int(epochs), n_train)
if heavy:
    st.caption("Taylor scores, the sensitivity scan and fine-tuning run on the server's heavy slots, "
               "with a progress bar and Cancel.")
run = st.button("Shrink the model", key="shrink_run", type="primary")
if run:
    bar = st.progress(0.0, text="Pruning…")
    if heavy:
        st.button("Cancel", key="shrink_cancel", icon="⏹️", help="Stops the run; nothing is kept.")

    def log(message: str) -> None:
        bar.progress(0.0, text=message[:1].upper() + message[1:] + "…")

    def progress(done: int, total: int, row: dict) -> None:
        text = f"fine-tuning epoch {row.get('epoch', '?')}: loss {row.get('loss', float('nan')):.3f}"
        if "val_accuracy" in row:
            text += f", val accuracy {100 * row['val_accuracy']:.2f} %"
        bar.progress(min(done / max(total, 1), 1.0), text=text)

    try:
        ui.run_shrink(b, remove, importance, allocation, int(epochs), n_train, progress, log)
    except ValueError as e:  # StructureError, ExportError, RetrainError: a message
        bar.empty()
        ui.show_error(e)
        st.stop()
    st.rerun()  # draw the result without the Cancel button

res = ui.shrink_result(b)
if res is None:
    st.info("Pick how much to remove, then press **Shrink the model**.")
    st.stop()

info = res.info
r_remove, r_importance, r_allocation, r_epochs, _ = res.settings
st.subheader(f"Result: {100 * r_remove:.0f} % removed, {ui.IMPORTANCE_LABELS[r_importance]}, "
             f"{ui.ALLOCATION_LABELS[r_allocation].lower()}"
             + (f", {info['epochs_run']} fine-tuning epochs" if info["epochs_run"] else ", not fine-tuned"))
stale = res.settings != settings  # downloads are the result on screen, never another setting
if stale:
    st.warning("The controls changed since this run: the figures and files below are the run "
               "named above. Press **Shrink the model** to run the new settings; the downloads "
               "wait until the controls match the result on screen.", icon="↩️")
cols = st.columns(5)
cols[0].metric("Parameters", f"{info['params']:,}", help="Of the structured model (the .keras file).")
cols[1].metric("Dense parameters", f"{info['dense_params']:,}")
cols[2].metric("Fewer parameters", f"{info['dense_params'] / max(info['params'], 1):.2f}x")
cols[3].metric("Val accuracy", ui.fmt_pct(info["accuracy"]),
               delta=f"{100 * (info['accuracy'] - info['dense_accuracy']):+.2f} pp vs dense",
               help="Of the .keras file as downloaded (reloaded); dense "
                    f"{ui.fmt_pct(info['dense_accuracy'])}.")
test, dense_test = info.get("test_accuracy"), info.get("dense_test_accuracy")
cols[4].metric("Test accuracy", ui.fmt_pct(test),
               delta=None if test is None else f"{100 * (test - dense_test):+.2f} pp vs dense",
               help=None if test is None else f"Dense {ui.fmt_pct(dense_test)}.")

removed = ui.removed_frame(info)
left, right = st.columns([3, 2])
ui.chart(plots.removed_units_figure(removed), key="shrink_removed_chart", target=left)
right.dataframe(removed.rename(columns={"layer": "Layer", "before": "Dense", "after": "Structured",
                                        "removed": "Removed"}),
                hide_index=True, key="shrink_widths", width="stretch")
unpruned = ui.unpruned_frame(info)
if len(unpruned):
    right.caption("Left unpruned:")
    right.dataframe(unpruned, hide_index=True, key="shrink_unpruned", width="stretch")
for note in info["notes"]:
    st.caption(f"Note: {note}")
if not info["epochs_run"] and info["accuracy"] < info["dense_accuracy"] - 0.01:
    st.caption("Removing channels without retraining costs accuracy; a few fine-tuning epochs "
               "(the expander above) win most of it back.")

st.subheader("Download")
names = res.names
shown = f"{100 * r_remove:.0f} % removed"
wait = "The controls changed: press Shrink the model, or set them back to this run's. "
d1, d2 = st.columns(2)
d1.download_button(f"Download .keras · {shown} ({ui.fmt_bytes(len(res.keras_bytes))})", res.keras_bytes,
                   file_name=names["keras"], mime=ui.MIME["keras"], key="shrink_download_keras",
                   on_click="ignore", disabled=stale,
                   help=(wait if stale else "") + "Reloaded and compared bit for bit before it is offered.")
d1.code(ui.KERAS_LOAD.format(keras=names["keras"]), language="python", wrap_lines=True)
h1 = h2 = d2  # one above the other: each label names the run in full
h1.download_button(f"Download .h5 · {shown} ({ui.fmt_bytes(len(res.h5_bytes))})", res.h5_bytes,
                   file_name=names["h5"], mime=ui.MIME["h5"], key="shrink_download_h5",
                   on_click="ignore", disabled=stale,
                   help=(wait if stale else "") + "Legacy Keras 2 weights; needs the .json architecture.")
h2.download_button(f"Download .json · {shown} ({ui.fmt_bytes(len(res.config_json))})", res.config_json,
                   file_name=names["json"], mime="application/json", key="shrink_download_json",
                   on_click="ignore", disabled=stale,
                   help=(wait if stale else "") + "The architecture (model.to_json()).")
d2.code(ui.H5_LOAD.format(json=names["json"], h5=names["h5"]), language="python", wrap_lines=True)

st.subheader("Deployment")
st.caption("Multiply-adds, every file's size (.h5, .keras, gzip, each LiteRT .tflite) and latency at "
           "batch 1 and 256 (Keras and LiteRT, median of 20 runs), the structured model and the dense "
           "one timed in the same run on this server, and .tflite downloads with their own accuracy. "
           "Takes up to a minute.")
if st.button("Measure latency", key="shrink_measure", icon="⏱️") or ui.deployment_measured(b, res):
    with st.spinner("Converting, verifying and timing…"):
        try:
            got = ui.measure_deployment(b, res)
        except ValueError as e:
            ui.show_error(e)
            st.stop()
    ui.render_deployment(got, res.stem, key="shrink_deploy", level=shown, disabled=stale)
