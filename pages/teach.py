"""Why it works: what pruning removes, and what breaks first, at Explore's method and sparsity."""

import streamlit as st

from pruning import teaching_plots as P
from pruning import ui

ui.require_shell()
st.title("Why it works")
sel = ui.selection()
b = ui.bench_or_stop(sel)
method, pct = ui.pruning_controls()
s = ui.fraction(pct)
scope_text = ui.SCOPE_LABELS[sel.scope].lower()

shown = ui.shown_weights(b, method, s, sel.scope)
if shown is None:
    st.info(f"No finished {ui.method_label(method)} run within 0.5 pp of {pct:.1f} % yet: run one "
            "on Explore or Retrain, or pick M1 / M2 here.", icon="⏱️")
    st.stop()
base = b.wb.baseline
names = base.names
pruned_share = shown.pruned.sparsity
st.caption(f"{shown.label} at {pct:.1f} % target: {ui.fmt_pct(pruned_share)} of {scope_text} are "
           "zero. The views below follow the slider here and on Explore.")

# ---------------------------------------------------------------- weight magnitudes
st.subheader("Weight magnitudes")
WHOLE = "Whole model"
options = [WHOLE] + [names[i] for i in shown.in_scope()]
ui.keep_choice("teach_hist_layer", options, WHOLE)
picked = st.selectbox("Histogram of", options, key="teach_hist_layer",
                      help="All weights the scope prunes, or one array of one layer.")
array = None if picked == WHOLE else names.index(picked)
hist = ui.magnitude_histogram(b.key, shown.id, array, _shown=shown, _bench=b)
ui.chart(P.histogram_figure(hist, f"|w| of {picked.lower() if array is None else picked}"),
         key="teach_hist")
mass = (f"{ui.fmt_pct(hist.pruned_share, 1)} of these weights but only {ui.fmt_pct(hist.pruned_mass, 1)} "
        "of their summed size" + (", which is why accuracy holds at first"
                                  if hist.pruned_mass < hist.pruned_share / 2 else ""))
if shown.thresholds is None:
    st.caption(f"Retraining chose which weights to remove, not one size cut-off: red shows where the "
               f"removed ones sat in the dense model, {mass}.")
elif len(hist.thresholds) > 1:
    st.caption(f"Layer-wise pruning draws one line per layer so that each layer loses the same "
               f"{pct:.1f} %: a layer of big weights gets its line far right, one of small weights far "
               f"left; together that is {mass}.")
elif hist.thresholds:
    st.caption(f"Every weight smaller than the dashed line at |w| = {hist.thresholds[0][1]:.3g} is set "
               f"to zero: {mass}.")
else:
    st.caption("At this level every weight is removed: there is no line left to draw.")

# ---------------------------------------------------------------- masks
st.subheader("Masks")
kernels = [names[i] for i in shown.in_scope() if base.kinds[i] == "kernel"] or \
    [names[i] for i in shown.in_scope()]
ui.keep_choice("teach_mask_layer", kernels, ui.default_mask_layer(b, shown, kernels))
layer = st.selectbox("Layer", kernels, key="teach_mask_layer",
                     help="Rows are a layer's filters or units, columns its inputs.")
keep = shown.keep[names.index(layer)]
grid = ui.layer_mask(shown, names.index(layer))
conv = keep.ndim > 2
ui.chart(P.mask_figure(grid, layer, "filter" if conv else "unit",
                       "input channel" if conv else "input"), key="teach_mask")
window = "x".join(str(d) for d in keep.shape[:-2])
st.caption(f"Each cell is one connection{f' (its {window} window averaged)' if conv else ''} from an "
           f"input (column) to a {'filter' if conv else 'unit'} (row): dark blue survives, pale red is "
           f"removed, and {ui.fmt_pct(float(keep.mean()), 1)} of {layer} survives"
           + (" (a layer this big is drawn in averaged blocks)." if grid.averaged else "."))
filters = ui.first_filters(b, shown)
if filters is None:
    st.caption("Filters as images apply to image models; this model's first layer is not one.")
else:
    ui.chart(P.filters_figure(filters), key="teach_filters")
    st.caption(f"Each square is one first-layer filter (blue positive, red negative weights): pruning "
               f"greys out the faintest pixels first and keeps the strong strokes; here "
               f"{int(filters.removed.sum()):,} of {filters.removed.size:,} pixels are grey.")

# ---------------------------------------------------------------- what breaks first
st.subheader("What breaks first")
br = ui.what_breaks(b.key, shown.id, _shown=shown, _bench=b)
names_shown = [br.classes[c] for c in br.shown]
cols = st.columns(3)
cols[0].metric("Val accuracy, pruned", ui.fmt_pct(br.accuracy),
               delta=f"{100 * (br.accuracy - br.dense_accuracy):+.2f} pp vs dense",
               help=f"On {br.n:,} validation samples; dense model: {ui.fmt_pct(br.dense_accuracy)}.")
cols[1].metric("Turned wrong", f"{len(br.turned_wrong):,}",
               help="Validation samples the dense model gets right and the pruned one wrong.")
cols[2].metric("Turned right", f"{len(br.turned_right):,}",
               help="Wrong before pruning, right now: pruning also moves some answers the other way.")
ui.chart(P.class_accuracy_figure(names_shown, br.dense_per_class[br.shown], br.per_class[br.shown]),
         key="teach_classes")
worst = br.worst
if worst is not None:
    fell = 100 * (br.dense_per_class[worst] - br.per_class[worst])
    some = len(br.shown) < len(br.classes)
    st.caption(f"Accuracy does not fall evenly: {br.classes[worst]} loses the most ({fell:.1f} pp, now "
               f"{ui.fmt_pct(br.per_class[worst], 1)})"
               + (f"; the {len(br.shown)} classes that lost most are shown." if some else "."))
shown_ix = (br.shown[:, None], br.shown[None, :])
ui.chart(P.confusion_figure(names_shown, br.dense_confusion[shown_ix], br.confusion[shown_ix]),
         key="teach_confusion")
grew = br.biggest_new_confusion
st.caption("Rows are the true class, columns the guess, the diagonal is right: "
           + (f"most new mistakes take {br.classes[grew[0]]} for {br.classes[grew[1]]} (+{grew[2]})."
              if grew else "no kind of mistake has grown at this level."))
strip = br.turned_wrong[:10]
y = b.wb.val.split.y
if not len(strip):
    st.caption("No validation sample the dense model gets right is wrong at this level.")
elif (images := ui.flipped_images(b, strip)) is not None:
    ui.chart(P.flipped_figure(images, [br.classes[c] for c in y[strip]],
                              [br.classes[c] for c in br.predicted[strip]]), key="teach_flipped")
    st.caption(f"These images were right before pruning and are wrong now; {len(br.turned_wrong):,} of "
               f"{br.n:,} turned wrong in all.")
else:
    st.dataframe({"sample": strip, "true": [br.classes[c] for c in y[strip]],
                  "predicted": [br.classes[c] for c in br.predicted[strip]]}, key="teach_flipped_table")
    st.caption(f"The inputs are not images, so the first samples that turned wrong are listed; "
               f"{len(br.turned_wrong):,} of {br.n:,} turned wrong in all.")
