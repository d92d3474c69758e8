"""Explore: prune the selected model once at a chosen sparsity and see what it costs."""

import streamlit as st

from pruning import file_name, plots, ui
from pruning.data import DataError
from pruning.frontier import challenge_score
from pruning.masks import ArraySparsity
from pruning.models import ModelError

ui.require_shell()
st.title("Explore")
sel = ui.selection()
st.session_state.setdefault("method", "global")
st.session_state.setdefault("sparsity", 50.0)

try:
    b = ui.bench(sel)
except (ModelError, DataError, ValueError) as e:
    ui.show_error(e)
    st.stop()

left, right = st.columns([1, 2])
method = left.selectbox("Method", ui.methods_available(), format_func=ui.method_label, key="method",
                        help="M1 ranks |w| over the whole model; M2 prunes every array to the same "
                             "sparsity.")
pct = right.slider("Sparsity (%)", min_value=0.0, max_value=99.9, step=0.1, key="sparsity", format="%.1f %%",
                   help="Target share of zeroed weights, counted in the sidebar's scope.")
s = ui.fraction(pct)
scope_text = ui.SCOPE_LABELS[sel.scope].lower()

dense = ui.dense_scores(b.key, _bench=b)
pruned = b.prune(method, s, sel.scope)
val = ui.point_val(b.key, method, sel.scope, s, _pruned=pruned, _bench=b)
score = challenge_score(val["sparsity"], val["accuracy"], sel.floor)

row1 = st.columns(4)
row1[0].metric("Val accuracy", ui.fmt_pct(val["accuracy"]),
               delta=f"{100 * (val['accuracy'] - dense['val']):+.2f} pp vs dense",
               help=f"On {val['n']:,} validation images; dense model: {ui.fmt_pct(dense['val'])}.")
test_slot = row1[1].empty()
test_slot.metric("Test accuracy", "…", help="Held-out test set, computing…")
row1[2].metric("Sparsity", ui.fmt_pct(val["sparsity"]),
               help=f"Achieved, counted over {scope_text} (target {pct:.1f} %). All parameters: "
                    f"{ui.fmt_pct(val['sparsity_all'])}, kernels only: "
                    f"{ui.fmt_pct(val['sparsity_kernels'])}.")
row1[3].metric("Challenge score", "below floor" if score != score else f"{score:.4f}",
               help=f"(sparsity + val accuracy) / 2, counted only above the {100 * sel.floor:.0f} % "
                    "accuracy floor.")

data = ui.h5_bytes(b, pruned, "h5")
row2 = st.columns(4)
row2[0].metric("Non-zeros", f"{val['nonzeros']:,}", help=f"of {val['params']:,} parameters")
row2[1].metric(".h5 size", ui.fmt_bytes(len(data)),
               help="Uncompressed legacy Keras 2 .h5: zeros take as much room as any weight.")
gzip_slot = row2[2].empty()
gzip_help = "The .h5 compressed with gzip -9: where the zeros pay off."
gzip_slot.metric("gzip size", "…", help=gzip_help)
row2[3].metric("Dense val accuracy", ui.fmt_pct(dense["val"]),
               help="The unpruned model, for comparison.")

dl, fmt_col, other = st.columns([1.2, 1.2, 1])
dl.download_button(f"Download .h5 ({ui.fmt_bytes(len(data))})", data=data,
                   file_name=file_name(method, val["sparsity"], "h5"), mime=ui.MIME["h5"],
                   key="download_h5", type="primary", on_click="ignore",
                   help="Legacy Keras 2 layout: model.load_weights('file.h5') reads it.")
fmt = fmt_col.selectbox("Other format", ["weights.h5", "keras"], format_func=ui.FORMAT_LABELS.get,
                        key="export_format", label_visibility="collapsed")
other.download_button(f"Download .{fmt}", data=ui.export_for_download(b, method, s, sel.scope, fmt),
                      file_name=file_name(method, val["sparsity"], fmt), mime=ui.MIME[fmt],
                      key="download_other", on_click="ignore",
                      help="Built when you click, so the slider stays fast.")

layers = plots.layer_frame([ArraySparsity(*a) for a in val["per_array"]])
st.plotly_chart(plots.layer_figure(layers), key="layer_chart")

test = ui.point_test(b.key, method, sel.scope, s, _pruned=pruned, _bench=b)
if test is None:
    test_slot.metric("Test accuracy", "—", help="This dataset has no test split.")
else:
    test_slot.metric("Test accuracy", ui.fmt_pct(test),
                     delta=f"{100 * (test - dense['test']):+.2f} pp vs dense",
                     help="Held-out test set: reported only, never used to choose.")
st.caption(f"{ui.method_label(method)} at {pct:.1f} % target over {scope_text}. Val accuracy chooses, "
           "test accuracy is only reported.")
sizes = ui.point_sizes(b.model_id, method, sel.scope, s, _data=data)  # gzip -9: last, it is slow
gzip_slot.metric("gzip size", ui.fmt_bytes(sizes["gzip_bytes"]), help=gzip_help)
