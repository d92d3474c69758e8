"""Explore: prune the selected model once at a chosen sparsity and see what it costs."""

import streamlit as st

from pruning import file_name, plots, ui
from pruning.snippet import snippet_for
from pruning.frontier import challenge_score
from pruning.masks import ArraySparsity

ui.require_shell()
st.title("Explore")
sel = ui.selection()
b = ui.bench_or_stop(sel)

method, pct = ui.pruning_controls()
s = ui.fraction(pct)
scope_text = ui.SCOPE_LABELS[sel.scope].lower()

dense = ui.dense_scores(b.key, _bench=b)
entry = None
if method in ui.retrain_methods():  # a finished run near the slider, or an offer to run one
    entry = ui.nearest_retrained(b, method, sel.scope, s)
    if entry is None:
        train = b.wb.data.train
        if train is None:
            st.info(f"{ui.method_label(method)} retrains the model and needs training images: upload "
                    "an .npz with x_train / y_train on Bring your own.")
            st.stop()
        budget = ui.EXPLORE_BUDGET
        n_train = min(budget["train"], len(train))
        st.info(f"No finished {ui.method_label(method)} run within 0.5 pp of {pct:.1f} % yet. "
                "Retraining takes minutes, not the instant of M1/M2: the button below runs a small "
                f"budget ({budget['epochs']} epoch, {n_train:,} training images); the **Retrain** "
                "page sets a bigger one.", icon="⏱️")
        if st.button(f"Retrain at {pct:.1f} %", key="explore_retrain", type="primary"):
            bar = st.progress(0.0, text="Starting…")
            st.button("Cancel", key="explore_cancel", icon="⏹️")

            def progress(done: int, total: int, row: dict) -> None:
                text = f"{row.get('phase', '')} epoch {row.get('epoch', '?')}: loss {row.get('loss', 0):.3f}"
                if "val_accuracy" in row:
                    text += f", val accuracy {100 * row['val_accuracy']:.2f} %"
                bar.progress(min(done / max(total, 1), 1.0), text=text)

            try:
                ui.run_retrain(b, method, s, sel.scope, budget["epochs"], n_train, progress)
            except ValueError as e:  # RetrainError included
                ui.show_error(e)
                st.stop()
            st.rerun()
        elif (gone := ui.interrupted_retrain()) is not None:
            st.warning(f"Retraining cancelled: {ui.method_label(gone['method'])} at "
                       f"{100 * gone['target']:.1f} % stopped before it finished; no result was kept.",
                       icon="⏹️")
        st.stop()
    pruned = entry.pruned
    val = ui.entry_val(entry)
else:
    pruned = b.prune(method, s, sel.scope)
    val = ui.peek_val(b.key, method, sel.scope, s)  # another session may have it already
target_pct = 100 * (entry.target if entry is not None else s)
never = b.wb.info.never_pruned
sparsity_help = (f"Achieved, counted over {scope_text} (target {target_pct:.1f} %). All parameters: "
                 f"{ui.fmt_pct(pruned.sparsity_all)}, kernels only: {ui.fmt_pct(pruned.sparsity_kernels)}. "
                 f"Whole model (every array in the file): {ui.fmt_pct(pruned.sparsity_model)}; never "
                 f"pruned: {', '.join(never) or 'none'}.")
score_help = (f"(sparsity + val accuracy) / 2, counted only above the {100 * sel.floor:.0f} % "
              "accuracy floor.")

row1 = st.columns(4)
val_slot, test_slot, score_slot = row1[0].empty(), row1[1].empty(), row1[3].empty()
test_slot.metric("Test accuracy", "…", help="Held-out test set, computed after the val figure.")
row1[2].metric("Sparsity", ui.fmt_pct(pruned.sparsity), help=sparsity_help)
if val is None:  # a new level: a quick estimate first, then the exact figure replaces it
    near = ui.neighbour_estimate(b.key, method, sel.scope, s)  # free when neighbours are known
    est = None if near is not None else \
        ui.point_estimate(b.key, method, sel.scope, s, _pruned=pruned, _bench=b)
    if near is not None:
        (l1, l2), (a1, a2) = near["levels"], near["values"]
        val_slot.metric("Val accuracy", f"≈ {ui.fmt_pct(near['accuracy'])}",
                        delta=f"estimate, between {ui.fmt_pct(near['low'], 1)} and "
                              f"{ui.fmt_pct(near['high'], 1)}", delta_color="off",
                        help=f"Interpolated between the exact values at the nearest levels already "
                             f"computed: {ui.fmt_pct(a1)} at {100 * l1:.1f} % and {ui.fmt_pct(a2)} at "
                             f"{100 * l2:.1f} %. The exact figure on every image replaces it in a moment.")
    elif est is not None:
        val_slot.metric("Val accuracy", f"≈ {ui.fmt_pct(est.accuracy)}",
                        delta=f"estimate, {ui.fmt_pct(est.low, 1)} – {ui.fmt_pct(est.high, 1)}",
                        delta_color="off",
                        help=f"Estimate on {est.n:,} of {est.population:,} validation images "
                             f"(stratified by class; {100 * est.confidence:.0f} % interval). The "
                             "exact figure on every image replaces it in a moment.")
    else:
        val_slot.metric("Val accuracy", "…", help="Computing on the validation images…")
    score_slot.metric("Challenge score", "…", help=score_help)
    val = ui.point_val(b.key, method, sel.scope, s, _pruned=pruned, _bench=b)
score = challenge_score(val["sparsity"], val["accuracy"], sel.floor)
val_slot.metric("Val accuracy", ui.fmt_pct(val["accuracy"]),
                delta=f"{100 * (val['accuracy'] - dense['val']):+.2f} pp vs dense",
                help=f"On {val['n']:,} validation images (exact); dense model: {ui.fmt_pct(dense['val'])}.")
score_slot.metric("Challenge score", "below floor" if score != score else f"{score:.4f}", help=score_help)
st.caption(f"Whole model: {ui.fmt_pct(pruned.sparsity_model)} of every array in the file is zero"
           + (f"; never pruned: {', '.join(never[:8])}"
              + (f" and {len(never) - 8} more" if len(never) > 8 else "")
              if never else "; every array is a kernel or bias") + ".")

st.session_state.setdefault("explore_full", ui.full_figures_default())
full = bool(st.session_state["explore_full"])  # its toggle is drawn below the chart
if entry is not None:
    data = ui.h5_bytes_or_stop(b, pruned, "h5")
elif full:
    try:
        data = ui.point_h5(b.key, method, sel.scope, s, _pruned=pruned, _bench=b)
    except ValueError as e:
        ui.show_error(e)
        st.stop()
else:  # class mode: the verified .h5 is built when clicked, unless a session built it already
    data = ui.peek_h5(b.key, method, sel.scope, s)
h5_size = len(data) if data is not None else ui.dense_h5_size(b)
row2 = st.columns(4)
row2[0].metric("Non-zeros", f"{val['nonzeros']:,}", help=f"of {val['params']:,} parameters")
row2[1].metric(".h5 size", ui.fmt_bytes(h5_size),
               help="Uncompressed legacy Keras 2 .h5: zeros take as much room as any weight"
                    + (", so every level's file is this size (the dense model's file, measured)."
                       if data is None else "."))
gzip_slot = row2[2].empty()
gzip_help = "The .h5 compressed with gzip -9: where the zeros pay off."
gzip_slot.metric("gzip size", "…", help=gzip_help)
row2[3].metric("Dense val accuracy", ui.fmt_pct(dense["val"]),
               help="The unpruned model, for comparison.")

# Each button names the level it serves and serves exactly that level's file (built for this
# run's pruned weights); while the page reruns, a faded button takes no clicks (ui.page_style).
level = ui.fmt_pct(val["sparsity"])
h5_name = file_name(method, val["sparsity"], "h5")
dl, fmt_col, other = st.columns([1.2, 1.2, 1])
dl.download_button(f"Download .h5 · {level} ({ui.fmt_bytes(h5_size)})",
                   data=data if data is not None else ui.export_for_download(b, method, s, sel.scope, "h5"),
                   file_name=h5_name, mime=ui.MIME["h5"],
                   key="download_h5", type="primary", on_click="ignore",
                   help=f"{ui.method_label(method)} at {level} sparsity, legacy Keras 2 layout: "
                        "model.load_weights('file.h5') reads it.")
fmt = fmt_col.selectbox("Other format", ["weights.h5", "keras"], format_func=ui.FORMAT_LABELS.get,
                        key="export_format", label_visibility="collapsed")
make = ui.export_pruned(b, pruned, fmt) if entry is not None else \
    ui.export_for_download(b, method, s, sel.scope, fmt)
other.download_button(f"Download .{fmt} · {level}", data=make,
                      file_name=file_name(method, val["sparsity"], fmt), mime=ui.MIME[fmt],
                      key="download_other", on_click="ignore",
                      help="Built when you click, so the slider stays fast.")
with st.expander("Load the download in Keras"):
    st.code(snippet_for(b.wb.model, h5_name), language="python")
    st.caption("The layer stack the file was saved from, then `load_weights`. A `.keras` file "
               "carries its architecture: `keras.saving.load_model('file.keras')`.")

layers = plots.layer_frame([ArraySparsity(*a) for a in val["per_array"]])
ui.chart(plots.layer_figure(layers), key="layer_chart")

full = st.toggle("Test accuracy and gzip size for every level", key="explore_full",
                 help="Off: the slider stays live for a whole class; both figures are shown "
                      "when someone computed them already, or when you switch this on.")
ASK = "Switch on 'Test accuracy and gzip size for every level' below the chart."
if entry is not None:
    test = entry.test_accuracy if b.wb.test is not None else None
elif full:
    test = ui.point_test(b.key, method, sel.scope, s, _pruned=pruned, _bench=b)
else:
    test = ui.peek_test(b.key, method, sel.scope, s)
if test is None and b.wb.test is not None and entry is None:
    test_slot.metric("Test accuracy", "on request", help=ASK)
elif test is None:
    test_slot.metric("Test accuracy", "—", help="This dataset has no test split.")
else:
    test_slot.metric("Test accuracy", ui.fmt_pct(test),
                     delta=f"{100 * (test - dense['test']):+.2f} pp vs dense",
                     help="Held-out test set: reported only, never used to choose.")
if entry is None:
    st.caption(f"{ui.method_label(method)} at {pct:.1f} % target over {scope_text}. Val accuracy "
               "chooses, test accuracy is only reported.")
else:
    st.caption(f"{ui.run_label(method, entry.recipe)}: the finished run nearest {pct:.1f} %, at "
               f"{target_pct:.1f} % target over {scope_text} ({entry.epochs} epoch"
               f"{'s' * (entry.epochs != 1)} per phase, {entry.n_train:,} training images, "
               f"{entry.seconds:.0f} s). Val accuracy chooses, test accuracy is only reported.")
    st.markdown(f"**{ui.oneshot_vs_retrained(b, entry)}**")
if (note := ui.pattern_note(method, s)) is not None:
    st.caption(note)
size_id = method if entry is None else f"{method}@{entry.uid}"
sizes = (ui.point_sizes(b.model_id, size_id, sel.scope, s, _data=data) if full or entry is not None
         else ui.peek_sizes(b.model_id, size_id, sel.scope, s))  # gzip -9: last, it is slow
gzip_slot.metric("gzip size", ui.fmt_bytes(sizes["gzip_bytes"]) if sizes else "on request",
                 help=gzip_help if sizes else ASK)

ui.deployment_section(b, pruned, (size_id, sel.scope, s), h5_name.removesuffix(".h5"), level)
