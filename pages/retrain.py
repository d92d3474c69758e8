"""Retrain: prune, then retrain with the pruned weights held at zero (seed methods 3 and 4)."""

import pandas as pd
import streamlit as st

from pruning import file_name, plots, ui
from pruning import retrain as R
from pruning.frontier import challenge_score
from pruning.snippet import snippet_for

ui.require_shell()
st.title("Retrain")
st.caption("Retraining after pruning wins back accuracy: freeze-layer (M3), masked-gradient (M4), "
           "gradual pruning and iterative magnitude pruning. It trains a copy of the model; the "
           "one-shot pages are not affected.")

sel = ui.selection()
b = ui.bench_or_stop(sel)
train = b.wb.data.train
if train is None:
    st.info("Retraining needs training images: upload an .npz with x_train / y_train (or the seed's "
            "train_images.pkl / train_labels.pkl) on Bring your own.")
    st.stop()

HELP = {"freeze": "Prune the heavy layers, freeze them, retrain the rest; step up group by group.",
        "masked": "Start from M1 at the target; gradients are masked so pruned weights stay zero.",
        "gradual": "Prune during training along a cubic schedule (Zhu & Gupta 2017).",
        "imp": "Prune, rewind survivors to their early values, retrain; repeat (lottery tickets)."}
if ui.restore_run_settings(b):  # lost on the way back from another page: the run's own
    st.caption("Settings put back from the retraining run you started (it is still training).")
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
for k, v in ui.training_defaults().items():
    st.session_state.setdefault(f"rt_{k}", v)
with st.expander("Training options"):
    o1, o2, o3 = st.columns(3)
    o1.selectbox("Learning-rate schedule", list(R.LR_SCHEDULES), key="rt_lr_schedule",
                 format_func=lambda v: {"constant": "Constant", "cosine": "Cosine decay"}.get(v, v),
                 help="Cosine decay: the rate falls to 1 % of its start over each phase.")
    o2.checkbox("Shrink dropout with the pruned layers", key="rt_adjust_dropout",
                help="Each Dropout rate times the square root of the fraction of weights kept in the "
                     "layer before it (Han et al. 2015): a pruned layer needs less regularization.")
    o3.slider("Distillation from the dense model", 0.0, 1.0, step=0.1, key="rt_distill",
              help="Weight of the dense model's predictions in the training targets (0 = labels only).")
options = {k: st.session_state[f"rt_{k}"] for k in ui.TRAINING_OPTIONS}

st.caption("Runs on the server, not in this page: leave it and come back, the run goes on. Each "
           "finished epoch is checkpointed: a cancelled or cut-off run, started again with the same "
           "method, target and budget within a day (in any browser), resumes from its last epoch.")
run = st.button("Start retraining", key="rt_run", type="primary")
n_used = min(int(n_train), len(train))
rid = ui.run_id(b, method, s, sel.scope, int(epochs), n_used, options)
if run:  # a server-owned run: it keeps going when this page is left, and any session joins it
    ui.start_background_retrain(b, method, s, sel.scope, int(epochs), n_used, options)
    ui.remember_run(rid)
bg = ui.background_run(rid)
gone = None


@st.fragment(run_every=1.0)
def live_run(run_id: str) -> None:
    """Progress of the server-owned run, redrawn every second; the whole page reruns at its end."""
    r = ui.background_run(run_id)
    if r is None or not r.running:
        st.rerun()
    resumed = r.info.get("resumed", 0)
    st.info(f"Retraining {ui.method_label(r.info['method'])} at {100 * r.info['target']:.1f} % on the "
            "server: it keeps going if you leave this page, and any browser with the same settings "
            "sees it here." + (f" Resumed after {resumed} checkpointed epochs." if resumed else ""),
            icon="🔁")
    st.progress(min(r.done / r.total, 1.0), text=r.text)
    ui.chart(plots.training_figure(pd.DataFrame(r.rows, columns=["loss", "val_accuracy", "phase"]),
                                   "Training… (curves appear as epochs finish)"), key="rt_live")


if bg is not None and bg.running:
    # outside the fragment: a button redrawn every second can lose a click that lands mid-redraw
    st.button("Cancel", key="rt_cancel", icon="⏹️", on_click=bg.cancel.set,
              help="Stops training at the next batch; finished epochs stay checkpointed.")
    live_run(rid)
    st.stop()
if bg is not None and bg.result is not None:
    entry = ui.finished_entry(b, bg)
    if entry is not None:
        st.session_state["_rt_result"] = (b.key, sel.scope, entry, entry.recipe)
elif bg is not None and bg.error is not None:
    st.error(f"Retraining failed: {bg.error}", icon="🚫")
elif bg is not None or ui.checkpoint_epochs(ui.checkpoint_dir(b, method, s, sel.scope, int(epochs), n_used,
                                                              options)):
    gone = bg.info if bg is not None else {"method": method, "target": s}
    n = ui.checkpoint_epochs(ui.checkpoint_dir(b, method, s, sel.scope, int(epochs), n_used, options))
    where = (f" after {n} finished epoch{'s' * (n != 1)}; press **Start retraining** with the same "
             "settings to resume from there (in any browser)") if n else " before its first epoch finished"
    st.warning(f"Retraining {'cancelled' if bg is not None else 'interrupted'}: "
               f"{ui.method_label(gone['method'])} at {100 * gone['target']:.1f} % stopped{where}. "
               "No result was kept from it.", icon="⏹️")

with st.expander("Queue a grid: methods × levels × seeds"):
    config = ui.executor_config()
    st.caption(f"Runs on the configured executor, {config.describe()} (set PRUNING_EXECUTOR, "
               "PRUNING_WORKERS, PRUNING_RAY_ADDRESS before starting the server). Uses the epochs, "
               "training images and options above; finished runs are saved as they land and appear "
               "on **Frontier** as the mean of their seeds with a band.")
    st.session_state.setdefault("rt_grid_methods", [method])
    st.session_state.setdefault("rt_grid_levels", "50, 80, 90")
    st.session_state.setdefault("rt_grid_seeds", "0, 1, 2")
    g1, g2, g3 = st.columns([2, 1, 1])
    g_methods = g1.multiselect("Methods", list(R.RETRAIN_METHODS), format_func=ui.method_label,
                               key="rt_grid_methods")
    g_levels = g2.text_input("Target sparsities (%)", key="rt_grid_levels")
    g_seeds = g3.text_input("Seeds", key="rt_grid_seeds")
    try:
        levels = sorted({ui.fraction(float(t)) for t in g_levels.replace(",", " ").split()})
        seeds = sorted({int(t) for t in g_seeds.replace(",", " ").split()})
        if any(not 0 <= v < 1 for v in levels):
            raise ValueError("target sparsities are percents from 0 to 99.9")
    except ValueError as e:
        st.error(f"Cannot read the grid: {e}. Write levels like 50, 80, 90 and seeds like 0, 1, 2.")
        levels, seeds = [], []
    cells = ui.grid_cells(g_methods, levels, seeds)
    go = st.button(f"Queue {len(cells)} run{'s' * (len(cells) != 1)}", key="rt_grid_run",
                   disabled=not cells)
    if go:
        gbar = st.progress(0.0, text=f"Queued {len(cells)} runs…")
        status = st.empty()
        table = [{"Method": ui.method_label(c.method), "Target (%)": 100 * c.target, "Seed": c.seed,
                  "State": "queued", "Val accuracy (%)": None} for c in cells]
        status.dataframe(pd.DataFrame(table), hide_index=True, key="rt_grid_table_0")
        landed = [0]

        def on_land(i: int, done) -> None:  # done: a pruning.runs.RunResult
            landed[0] += 1
            table[i].update({"State": "from store" if done.from_store else "done",
                             "Val accuracy (%)": 100 * done.meta["accuracy"]})
            gbar.progress(landed[0] / len(cells), text=f"{landed[0]} of {len(cells)} runs landed")
            status.dataframe(pd.DataFrame(table), hide_index=True, key=f"rt_grid_table_{landed[0]}")

        try:
            res = ui.run_grid(b, cells, sel.scope, int(epochs), int(n_train), options, on_land)
            st.success(f"All {len(cells)} runs landed ({res.served} from the store). See **Frontier**.")
        except (ValueError, RuntimeError, OSError) as e:  # a worker's error (retraining, Ray) is shown
            ui.show_error(e)

stored = st.session_state.get("_rt_result")
if stored is None or stored[0] != b.key:
    st.info("Pick a method and a target, then press **Start retraining**.")
    st.stop()

_, scope, res, recipe = stored  # res: the run's ui.RetrainEntry
dense = ui.dense_scores(b.key, _bench=b)
score = challenge_score(res.sparsity, res.accuracy, sel.floor)
st.subheader(f"{'Last finished result' if gone is not None else 'Result'}: "
             f"{ui.run_label(res.method, recipe)} at {100 * res.target:.1f} % target")
if res.from_store:
    st.caption("Served from the result store: this run (same model, data, method, target, budget "
               "and recipe) was trained before, on the dashboard or with the CLI; nothing was retrained.")
st.markdown(f"**{ui.oneshot_vs_retrained(b, res)}**")
cols = st.columns(5)
cols[0].metric("Val accuracy", ui.fmt_pct(res.accuracy),
               delta=f"{100 * (res.accuracy - dense['val']):+.2f} pp vs dense")
cols[1].metric("Test accuracy", ui.fmt_pct(res.test_accuracy))
cols[2].metric("Sparsity", ui.fmt_pct(res.sparsity),
               help=f"Counted over {ui.SCOPE_LABELS[scope].lower()}.")
cols[3].metric("Challenge score", "below floor" if score != score else f"{score:.4f}")
cols[4].metric("Epochs run", f"{res.epochs_run}", help=f"{res.seconds:.0f} s of training")
hist = pd.DataFrame([r for r in res.history if "val_accuracy" in r])
if len(hist):
    left, right = st.columns(2)
    ui.chart(plots.training_figure(hist, "Loss and val accuracy per epoch"), key="rt_curves", target=left)
    hist["epoch (all phases)"] = range(1, len(hist) + 1)
    ui.chart(plots.history_figure(hist, "epoch (all phases)", ["val_accuracy", "sparsity"],
                                  "Val accuracy and sparsity per epoch", "Epoch (all phases)",
                                  {"val_accuracy": "Val accuracy (%)", "sparsity": "Sparsity (%)"}),
             key="rt_chart", target=right)
st.caption("Finished runs also appear on the **Frontier** page and on **Explore** (pick the "
           "retraining method there).")
data = ui.h5_bytes_or_stop(b, res.pruned, "h5")
rt_name = file_name(res.method, res.sparsity, "h5", stem="retrained")
st.download_button(f"Download .h5 · {ui.fmt_pct(res.sparsity)} ({ui.fmt_bytes(len(data))})", data,
                   file_name=rt_name, mime=ui.MIME["h5"], key="rt_download_h5", on_click="ignore",
                   help=f"The result above: {ui.run_label(res.method, recipe)} at "
                        f"{ui.fmt_pct(res.sparsity)} sparsity, legacy Keras 2 layout.")
with st.expander("Load the download in Keras"):
    st.code(snippet_for(b.wb.model, rt_name), language="python")
