"""Sensitivity: val accuracy when only one layer is pruned, layer by layer."""

import pandas as pd
import streamlit as st

from pruning import plots, ui
from pruning.sensitivity import accuracy_table, layer_sensitivity

ui.require_shell()
st.title("Sensitivity")
st.caption("Which layers can take pruning? Each curve prunes one layer alone (its own magnitude "
           "threshold) and keeps every other layer dense.")

sel = ui.selection()
b = ui.bench_or_stop(sel)

LEVELS = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.5, 99.9]
good, bad = [], []
for v in st.session_state.get("sens_levels", [0.0, 25.0, 50.0, 70.0, 80.0, 90.0, 95.0, 99.0]):
    try:
        f = round(float(v), 3)
    except (TypeError, ValueError):
        bad.append(str(v))
        continue
    (good if 0.0 <= f <= 100.0 else bad).append(f if 0.0 <= f <= 100.0 else str(v))
st.session_state["sens_levels"] = sorted(set(good))  # typed levels come in as text
st.multiselect("Sparsity levels (%)", sorted(set(LEVELS) | set(good)), key="sens_levels",
               accept_new_options=True, help="Type a number (percent) to add a level.")
if bad:
    st.warning(f"Ignored {', '.join(bad)}: sparsity levels are numbers from 0 to 100 (percent).")
levels = sorted({ui.fraction(v) for v in good})
if not levels:
    st.info("Pick at least one sparsity level.")
    st.stop()

key = ("sensitivity",) + b.key + (sel.scope, tuple(levels))
df = ui.cached_result(key)
run = st.button("Run sensitivity" if df is None else "Done (cached)", key="sens_run", type="primary",
                disabled=df is not None)
chart = st.empty()
dense = ui.dense_scores(b.key, _bench=b)

if df is None and run:
    bar = st.progress(0.0, text="Starting…")
    st.button("Cancel", key="sens_cancel", icon="⏹️", help="Stops after the layer being pruned; "
              "nothing is kept.")
    landed: list[dict] = []

    def progress(i: int, n: int, row: dict) -> None:  # curves grow as each layer's rows land
        landed.append(dict(row))
        bar.progress(i / n, text=f"{row['layer']} at {100 * row['target']:.1f} %: val accuracy "
                                 f"{100 * row['accuracy']:.2f} % ({i}/{n})")
        if sum(r["layer"] == row["layer"] for r in landed) == len(levels):  # a layer is complete
            with chart.container():
                ui.chart(plots.sensitivity_figure(pd.DataFrame(landed), dense["val"], sel.floor),
                         key=f"sens_live_{len(landed)}")

    def tick(done: float, layer: str) -> None:  # a layer's rows all finish after its last batch
        bar.progress(min(done, 1.0), text=f"Pruning {layer} at {len(levels)} level"
                                          f"{'s' * (len(levels) != 1)}… {100 * done:.0f} % of the way")

    st.session_state["_sens_running"] = key
    try:
        with ui.heavy_slot(), b.lock:
            out = layer_sensitivity(b.wb, levels, sel.scope, progress, tick=tick)
    except ValueError as e:
        st.session_state.pop("_sens_running", None)
        ui.show_error(e)
        st.stop()
    st.session_state.pop("_sens_running", None)
    ui.store_result(key, out)
    st.rerun()

if df is None and st.session_state.pop("_sens_running", None) is not None:
    st.warning("Sensitivity cancelled: the run stopped before every layer was done; nothing was "
               "kept. Press **Run sensitivity** to start again.", icon="⏹️")
if df is None:
    chart.info("Press **Run sensitivity** to prune each layer alone at every level.")
    st.stop()

ui.chart(plots.sensitivity_figure(df, dense["val"], sel.floor), key="sens_chart", target=chart)
wide = accuracy_table(df)
wide.columns = [f"{100 * c:g} %" for c in wide.columns]
st.dataframe((100 * wide).round(2), key="sens_table", width="stretch")
st.download_button("Download CSV (fractions 0..1)", df.to_csv(index=False).encode(),
                   file_name=f"sensitivity-{sel.scope}.csv", mime="text/csv", key="sens_csv",
                   on_click="ignore")
