"""Frontier: sweep sparsity for several methods and draw accuracy vs sparsity."""

import numpy as np
import pandas as pd
import streamlit as st

from pruning import bands, plots, ui
from pruning.frontier import best_row

ui.require_shell()
st.title("Frontier")
sel = ui.selection()
b = ui.bench_or_stop(sel)

st.session_state.setdefault("frontier_methods", ui.methods_available(patterns=False))
st.session_state.setdefault("frontier_axis", "sparsity")
st.session_state.setdefault("frontier_step", 5.0)
st.session_state.setdefault("frontier_max", 99.0)
st.session_state.setdefault("frontier_adaptive", False)
c1, c2, c3 = st.columns([2, 1, 1])
methods = c1.multiselect("Methods", ui.methods_available(), format_func=ui.method_label,
                         key="frontier_methods")
adaptive = c1.toggle("Adaptive: every 1 % level, full passes only where accuracy moves",
                     key="frontier_adaptive",
                     help="Evaluates a 10 % grid, adds levels where many images change their answer, "
                          "and fills the levels in between by re-running only the images that may "
                          "change there. About 2-3x faster than a 1 % grid sweep; filled levels are "
                          "marked and stay within about a point of the exact curve.")
step = c2.select_slider("Grid step (%)", options=[10.0, 5.0, 2.5, 1.0, 0.5], key="frontier_step",
                        help="Distance between the sparsity levels of the sweep.", disabled=adaptive)
top = c3.slider("Up to sparsity (%)", 50.0, 99.9, step=0.1, key="frontier_max")
if adaptive:
    top_fraction = ui.adaptive_top(top)
    grid = [p / 100 for p in range(round(100 * top_fraction) + 1)]
    keys = {m: ui.adaptive_key(b, m, sel.scope, top_fraction) for m in methods}
    st.caption(f"Every whole percent from 0 % to {100 * top_fraction:.0f} % per method, pruned over "
               f"{ui.SCOPE_LABELS[sel.scope].lower()}, on {len(b.wb.val.split):,} val images: full "
               "passes where accuracy moves, the rest filled (table column Exact).")
else:
    grid = ui.sweep_grid(step, top)
    keys = {m: ui.sweep_key(b, m, sel.scope, grid) for m in methods}
    st.caption(f"{len(grid)} levels from 0 % to {top:.1f} % per method, pruned over "
               f"{ui.SCOPE_LABELS[sel.scope].lower()}, evaluated on {len(b.wb.val.split):,} val images.")

done = {m: df for m in methods if (df := ui.cached_result(keys[m])) is not None}
for m in [m for m in methods if m not in done and not adaptive]:  # finished earlier, e.g. before a restart
    if (df := ui.stored_sweep(b, m, grid, sel.scope)) is not None:
        done[m] = ui.store_result(keys[m], df)
missing = [m for m in methods if m not in done]
dense = ui.dense_scores(b.key, _bench=b)

run = st.button(f"Run {len(missing)} sweep{'s' * (len(missing) != 1)}" if missing else "All sweeps done",
                key="frontier_run", type="primary", disabled=not missing)
chart = st.empty()


retrained = ui.retrained_frame(b, sel.scope)  # finished Retrain / Explore runs of this session
if len(retrained):  # several seeds of a run: their mean (with n, sd, min, max, 95 % interval)
    retrained = bands.mean_rows(retrained)
n_val = len(b.wb.val.split)


def draw(frames: list[pd.DataFrame], title: str) -> pd.DataFrame:
    rows = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) \
        else pd.DataFrame(columns=["method", "scope", "target", "sparsity", "accuracy", "loss", "score"])
    ui.chart(plots.frontier_figure(rows, sel.floor, title, dense["val"], retrained, n_val),
             key=f"frontier_chart_{len(rows)}_{title}", target=chart)  # projector-sized when on
    return rows


if not methods and not len(retrained):
    st.info("Pick at least one method.")
    st.stop()

if run and missing:
    bar = st.progress(0.0, text="Starting…")
    total, finished = len(grid) * len(missing), 0
    redraw = ui.Throttle()  # the live chart can cost more than a level: drawn once a second at most
    with ui.heavy_slot():
        for m in missing:
            live: list[dict] = []

            def progress(i: int, n: int, row: dict, m: str = m, live: list = live) -> None:
                live.append(row)
                k = finished + i
                bar.progress(k / total, text=f"{ui.method_label(m)}: {i}/{n} levels, sparsity "
                                             f"{100 * row['sparsity']:.1f} %, val accuracy "
                                             f"{100 * row['accuracy']:.2f} %")
                redraw(lambda: draw([*done.values(), pd.DataFrame(live)], f"Sweeping… ({k}/{total})"))

            df = (ui.run_adaptive(b, m, sel.scope, top_fraction, progress) if adaptive else
                  ui.run_sweep(b, m, grid, sel.scope, progress))
            done[m] = ui.store_result(keys[m], df)
            finished += len(grid)
    st.rerun()  # redraw from the cache, with the button showing that all sweeps are done

if not done and not len(retrained):
    chart.info("No sweep for this selection yet: press **Run** to sweep. Finished sweeps are kept, "
               "so coming back is instant.")
    st.stop()

rows = draw([done[m] for m in methods if m in done], "Accuracy vs sparsity")
axis = st.segmented_control("X axis", list(ui.COST_AXES), format_func=ui.COST_AXES.get, key="frontier_axis",
                            help="Cost axes are measured on each point's own weights (latency: Keras, "
                                 "batch 1, median of 20 runs); lower is better there.") or "sparsity"
if axis != "sparsity" and len(rows):
    session_runs = [e for e in ui.retrain_entries(b.key) if e.scope == sel.scope]
    costed = ui.cost_rows(b, rows, axis, session_runs)
    ui.chart(plots.cost_figure(costed, axis, ui.COST_AXES[axis], sel.floor, dense["val"]),
             key=f"frontier_cost_{axis}_{len(costed)}", target=chart)
    if len(retrained) > len(session_runs):
        st.caption("Cost axes show this session's retraining runs; runs kept from earlier sessions "
                   "appear on the sparsity axis.")
if missing:
    st.info(f"Not swept yet: {', '.join(ui.method_label(m) for m in missing)}. Press Run to add them.")
if len(retrained):
    runs = int(retrained["n"].sum())
    st.caption(f"Diamonds: {runs} finished retraining run{'s' * (runs != 1)} "
               "(from the Retrain and Explore pages, kept on disk); they count for the frontier and "
               "the best score. A run repeated with several seeds is drawn as its mean with a ±1 sd "
               "band (and its 95 % t-interval from 3 seeds on); frontier and best use the mean. "
               f"Error bars on one-shot points: the Wilson 95 % interval of their accuracy on {n_val:,} "
               "val images.")
    rows = pd.concat([rows, retrained], ignore_index=True) if len(rows) else retrained
top_row = best_row(rows, sel.floor)
if top_row is not None:
    st.success(f"Best challenge score **{top_row['score']:.4f}**: "
               f"{ui.run_label(top_row['method'], top_row.get('recipe'))} "
               f"at {100 * top_row['sparsity']:.1f} % sparsity, {100 * top_row['accuracy']:.2f} % "
               "val accuracy.")
else:
    st.warning(f"No point clears the {100 * sel.floor:.0f} % accuracy floor.")

if len(rows):  # the saved file's zero fraction: exact for one-shot rows, from the arrays for runs
    one_shot = rows["method"].isin(["global", "layerwise"]).to_numpy()
    whole = rows["sparsity_model"].to_numpy(float) if "sparsity_model" in rows else np.full(len(rows), np.nan)
    whole[one_shot] = b.wb.model_zero_fraction(rows["sparsity"].to_numpy(float)[one_shot], sel.scope)
    rows = rows.assign(sparsity_model=whole)
table = plots.frontier_table(rows, sel.floor)
st.dataframe(table, key="frontier_table", hide_index=True, width="stretch",
             column_config={c: st.column_config.NumberColumn(format="%.2f")
                            for c in ("Target (%)", "Sparsity (%)", "Whole model zeros (%)",
                                      "Val accuracy (%)")}
             | {"Loss": st.column_config.NumberColumn(format="%.4f"),
                "Challenge score": st.column_config.NumberColumn(format="%.4f")})
seeded = retrained[retrained["n"] > 1] if len(retrained) else retrained
if len(seeded):
    st.markdown("**Retraining runs over seeds** (val accuracy)")
    st.dataframe(bands.seed_table(seeded, [ui.run_label(m, r) for m, r in
                                           zip(seeded["method"], seeded["recipe"])]),
                 key="frontier_seed_table", hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.2f")
                                for c in bands.seed_table(seeded.head(0), []).columns if "%" in c})
csv = plots.frontier_points(rows, sel.floor).to_csv(index=False).encode()
st.download_button("Download CSV (fractions 0..1)", csv, file_name=f"frontier-{sel.scope}.csv",
                   mime="text/csv", key="frontier_csv", on_click="ignore")
