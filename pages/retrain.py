"""Retrain: prune, then retrain with the pruned weights held at zero (seed methods 3 and 4)."""

import pandas as pd
import streamlit as st

from pruning import file_name, plots, ui
from pruning.data import DataError
from pruning.frontier import challenge_score
from pruning.models import ModelError

ui.require_shell()
st.title("Retrain")
st.caption("Retraining after pruning wins back accuracy: freeze-layer (M3), masked-gradient (M4), "
           "gradual pruning and iterative magnitude pruning. It trains a copy of the model; the "
           "one-shot pages are not affected.")
try:
    from pruning import retrain as R
except ImportError:
    st.info("Retraining is not available yet (pruning.retrain is still being written). "
            "Explore and Frontier cover the one-shot methods M1 and M2.")
    st.stop()

sel = ui.selection()
try:
    b = ui.bench(sel)
except (ModelError, DataError, ValueError) as e:
    ui.show_error(e)
    st.stop()
train = b.wb.data.train
if train is None:
    st.info("Retraining needs training images: upload an .npz with x_train / y_train (or the seed's "
            "train_images.pkl / train_labels.pkl) on Bring your own.")
    st.stop()

HELP = {"freeze": "Prune the heavy layers, freeze them, retrain the rest; step up group by group.",
        "masked": "Start from M1 at the target; gradients are masked so pruned weights stay zero.",
        "gradual": "Prune during training along a cubic schedule (Zhu & Gupta 2017).",
        "imp": "Prune, rewind survivors to their early values, retrain; repeat (lottery tickets)."}
st.session_state.setdefault("rt_method", "masked")
st.session_state.setdefault("rt_sparsity", 90.0)
st.session_state.setdefault("rt_epochs", 2)
st.session_state.setdefault("rt_train", min(5000, len(train)))
st.session_state["rt_train"] = max(min(int(st.session_state["rt_train"]), len(train)), min(100, len(train)))
c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
method = c1.selectbox("Method", list(R.RETRAIN_METHODS), format_func=ui.method_label, key="rt_method")
c1.caption(HELP.get(method, ""))
pct = c2.slider("Target sparsity (%)", 0.0, 99.9, step=0.1, key="rt_sparsity", format="%.1f %%")
epochs = c3.number_input("Epochs per phase", 1, 50, step=1, key="rt_epochs")
n_train = c4.number_input("Training images", min(100, len(train)), len(train), step=500, key="rt_train",
                          help="Fewer images train faster (a classroom server is small).")
s = ui.fraction(pct)

if st.button("Start retraining", key="rt_run", type="primary"):
    bar = st.progress(0.0, text="Starting…")

    def progress(done: int, total: int, row: dict) -> None:
        loss = row.get("loss", float("nan"))
        text = f"{row.get('phase', '')} epoch {row.get('epoch', '?')}: loss {loss:.3f}"
        if "val_accuracy" in row:
            text += f", val accuracy {100 * row['val_accuracy']:.2f} %"
        if "sparsity" in row:
            text += f", sparsity {100 * row['sparsity']:.1f} %"
        bar.progress(min(done / max(total, 1), 1.0), text=text)

    vl, tl = ui.limits()
    data = R.limit(b.wb.data, train=int(n_train), val=vl, test=tl)
    try:
        with ui.heavy_slot(), b.lock:
            start = b.prune("global", s, sel.scope) if method == "masked" else b.wb.baseline.arrays
            res = R.retrain(b.wb.model, data, method, s, R.Training(epochs=int(epochs)),
                            scope=sel.scope, progress=progress, start=start)
    except (R.RetrainError, ValueError) as e:
        ui.show_error(e)
        st.stop()
    bar.empty()
    st.session_state["_rt_result"] = (b.key, sel.scope, res)

stored = st.session_state.get("_rt_result")
if stored is None or stored[0] != b.key:
    st.info("Pick a method and a target, then press **Start retraining**.")
    st.stop()

_, scope, res = stored
dense = ui.dense_scores(b.key, _bench=b)
score = challenge_score(res.pruned.sparsity, res.val.accuracy, sel.floor)
st.subheader(f"Result: {ui.method_label(res.method)} at {100 * res.target:.1f} % target")
cols = st.columns(5)
cols[0].metric("Val accuracy", ui.fmt_pct(res.val.accuracy),
               delta=f"{100 * (res.val.accuracy - dense['val']):+.2f} pp vs dense")
cols[1].metric("Test accuracy", ui.fmt_pct(res.test.accuracy if res.test else None))
cols[2].metric("Sparsity", ui.fmt_pct(res.pruned.sparsity),
               help=f"Counted over {ui.SCOPE_LABELS[scope].lower()}.")
cols[3].metric("Challenge score", "below floor" if score != score else f"{score:.4f}")
cols[4].metric("Epochs run", f"{res.epochs_run}", help=f"{res.seconds:.0f} s of training")
hist = pd.DataFrame(list(res.history))
if len(hist):
    hist["epoch (all phases)"] = range(1, len(hist) + 1)
    st.plotly_chart(plots.history_figure(hist, "epoch (all phases)", ["val_accuracy", "sparsity"],
                                         "Val accuracy and sparsity per epoch", "Epoch (all phases)",
                                         {"val_accuracy": "Val accuracy (%)", "sparsity": "Sparsity (%)"}),
                    key="rt_chart")
data = ui.h5_bytes(b, res.pruned, "h5")
st.download_button(f"Download .h5 ({ui.fmt_bytes(len(data))})", data,
                   file_name=file_name(res.method, res.pruned.sparsity, "h5", stem="retrained"),
                   mime=ui.MIME["h5"], key="rt_download_h5", on_click="ignore")
