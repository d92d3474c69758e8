"""Explore's deployment view and Frontier's cost axes (Streamlit glue over ``pruning.deploy``,
``pruning.tflite`` and ``pruning.costs``).

Measuring takes seconds to a minute (file conversions, latency runs), so it runs behind a
button, in a heavy slot, on copies of the session's model (the session model keeps serving
the page); results stay in this session until the point changes.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ..snippet import litert_snippet
from ..costs import COST_AXES, cost_frontier, point_cost
from ..oneshot import Pruned
from ..models import clone_model
from ..patterns import NM_GROUPS, PATTERN_METHODS, nm_of
from ..tflite import TFLITE_FORMATS, TFLiteError, verified_tflite
from .format import fmt_bytes, fmt_pct, show_error
from .jobs import heavy_slot
from .session import Bench

TFLITE_LABELS = {"tflite": "float32", "tflite-int8": "int8 weights (dynamic range)",
                 "tflite-int8-full": "full int8 (calibrated on training images)"}


def pattern_note(method: str, sparsity: float) -> str | None:
    """What a pattern method does at the slider's level (None for other methods)."""
    if method in NM_GROUPS:
        n, m = nm_of(method, sparsity)
        return (f"N:M pattern **{n}:{m}**: at most {n} non-zeros in every {m} consecutive input-channel "
                f"weights of each kernel (levels round to the nearest {100 / m:g} %; biases kept; a layer "
                f"with fewer than {m} input channels keeps min({n}, channels) of them).")
    if method == "block":
        return "Whole 1x4 blocks (4 consecutive input-channel weights) zeroed by mean |w|; biases kept."
    return None


def _copies(b: Bench, arrays) -> tuple:
    """A pruned and a dense copy of the session's model (measured without holding its lock)."""
    with b.lock:
        pruned = clone_model(b.wb.load(arrays))
        dense = clone_model(b.wb.load(b.wb.baseline.arrays))
    return pruned, dense


def _measure(b: Bench, pruned: Pruned) -> dict:
    model, dense = _copies(b, pruned.arrays)
    return measure_models(model, dense, b.wb.data, b.val_limit, b.test_limit)


def measure_models(model, dense, data, val_limit: int | None = None,
                   test_limit: int | None = None) -> dict:
    """The deployment report of ``model`` beside ``dense`` and its verified .tflite files
    (each with its own LiteRT val / test accuracy); what ``render_deployment`` shows."""
    from ..deploy import deployment_report

    report = deployment_report(model, dense, data, runs=20)
    files, failed = {}, {}
    for fmt in TFLITE_FORMATS:
        try:  # each file written, reloaded and evaluated through LiteRT before it is offered
            files[fmt] = verified_tflite(model, fmt, data, val_limit, test_limit)
        except TFLiteError as e:
            failed[fmt] = str(e)
    return {"report": report, "files": files, "failed": failed}


def deployment_section(b: Bench, pruned: Pruned, point_id: tuple, stem: str,
                       level: str | None = None) -> None:
    """Explore's deployment view for ``pruned``: counts, MACs, file sizes (each .tflite),
    measured latency and speed-up, and verified .tflite downloads. Results belong to the
    point on screen (``point_id``): a moved slider shows the button again, never the old files;
    ``level`` names the point on every download button."""
    st.subheader("Deployment")
    results = st.session_state.setdefault("deploy_results", {})
    key = (b.key, point_id)
    got = results.get(key)
    if got is None:
        st.caption("What this model costs to deploy, measured on this server: multiply-adds, every "
                   "file's size (.h5, .keras, gzip, each LiteRT .tflite), latency at batch 1 and 256 "
                   "(Keras and LiteRT, median of 20 runs) against the dense model timed alongside, and "
                   ".tflite downloads with their own accuracy. Takes up to a minute.")
        if not st.button("Measure deployment", key="deploy_measure", icon="⏱️"):
            return
        with st.spinner("Converting, verifying and timing…"), heavy_slot():
            try:
                got = _measure(b, pruned)
            except ValueError as e:
                show_error(e)
                return
        results.clear()  # one point per session: the files are megabytes
        results[key] = got
    render_deployment(got, stem, level=level)


def render_deployment(got: dict, stem: str, key: str = "deploy", level: str | None = None,
                      disabled: bool = False) -> None:
    """Counts, MACs, file sizes, measured latency and the .tflite downloads of a
    ``measure_models`` result (widget keys start with ``key``; ``level`` names the point the
    files are in every download label; ``disabled`` while the controls name another point),
    with the LiteRT lines that run a file."""
    r, files = got["report"], got["files"]
    c = st.columns(4)
    c[0].metric("Parameters", f"{r['params']:,}", help=f"Dense model: {r['dense_params']:,}.")
    c[1].metric("Non-zeros", f"{r['nonzeros']:,}", help=f"Dense model: {r['dense_nonzeros']:,}.")
    c[2].metric("Multiply-adds / image", f"{r['macs']:,}",
                help="Every kernel entry counted once per output position (dense model: "
                     f"{r['dense_macs']:,}).")
    c[3].metric("Effective multiply-adds", f"{r['effective_macs']:,}",
                delta=f"{r['effective_macs'] / max(r['dense_macs'], 1) - 1:+.1%} vs dense",
                delta_color="inverse",
                help="Only those touching a non-zero weight: what a sparse kernel would still compute. "
                     "CPU kernels in Keras and LiteRT compute the zeros too; see the measured latency.")
    sizes = pd.DataFrame([{"File": k, "This model": fmt_bytes(v),
                           "Dense model": fmt_bytes(r["dense_sizes"][k]) if k in r["dense_sizes"] else "—",
                           "Dense .h5 / file": f"{r['dense_sizes']['h5'] / v:.1f}x"}
                          for k, v in r["sizes"].items()])
    lat = pd.DataFrame([{"Runtime": rt, "Batch": int(bt), "This model (ms)": ms,
                         "Dense (ms)": r["dense_latency_ms"][rt][bt], "Speed-up": r["speedup"][rt][bt]}
                        for rt, per in r["latency_ms"].items() for bt, ms in per.items()])
    left, right = st.columns(2)
    left.dataframe(sizes, hide_index=True, key=f"{key}_sizes", width="stretch")
    right.dataframe(lat, hide_index=True, key=f"{key}_latency", width="stretch",
                    column_config={"This model (ms)": st.column_config.NumberColumn(format="%.2f"),
                                   "Dense (ms)": st.column_config.NumberColumn(format="%.2f"),
                                   "Speed-up": st.column_config.NumberColumn(format="%.2fx")})
    st.caption(f"Latency: median of {r['runs']} runs after {r['warmup']} warm-up, this model and the "
               f"dense one interleaved; LiteRT runs each float32 .tflite with {r['threads']['litert']} "
               "threads (litert) and with one (litert-1t: one request per core). Unstructured zeros shrink compressed and sparse-format files, not the time. "
               + " ".join(r["notes"]))
    cols = st.columns(len(TFLITE_FORMATS))
    for col, fmt in zip(cols, TFLITE_FORMATS):
        f = files.get(fmt)
        if f is None:
            col.warning(f"{fmt}: {got['failed'].get(fmt, 'not available')}", icon="⚠️")
            continue
        test = f" / test {fmt_pct(f.test.accuracy)}" if f.test else ""
        named = f" · {level}" if level else ""
        col.download_button(f"Download {fmt}{named} ({fmt_bytes(len(f.data))})", data=f.data,
                            file_name=f"{stem}-{fmt}.tflite", mime="application/octet-stream",
                            key=f"{key}_download_{fmt}", on_click="ignore", disabled=disabled,
                            help=f"{TFLITE_LABELS[fmt]}{', sparse format' if f.sparse else ''}. This "
                                 f"file's own accuracy through LiteRT: val {fmt_pct(f.val.accuracy)}{test} "
                                 f"({f.delegate}).")
        col.caption(f"{TFLITE_LABELS[fmt]}: val {fmt_pct(f.val.accuracy)}{test}")
    if files:
        with st.expander("Run a .tflite download (LiteRT)"):
            st.code(litert_snippet(f"{stem}-{next(iter(files))}.tflite"), language="python")
            st.caption("`pip install ai-edge-litert`; the same lines run every .tflite file above.")


def cost_rows(b: Bench, rows: pd.DataFrame, axis: str, retrained: list | None = None) -> pd.DataFrame:
    """``rows`` (one-shot sweep rows) with their cost on ``axis`` (a ``COST_AXES`` key), each
    measured on the row's own weights and kept per session; ``retrained`` entries
    (``RetrainEntry``) are added with their weights. Progress shows while measuring."""
    cache = st.session_state.setdefault("cost_cache", {})
    todo = [(r.method, r.scope, float(r.target), None) for r in rows.itertuples()]
    todo += [(e.method, e.scope, e.target, e) for e in (retrained or [])]
    missing = [t for t in todo if (b.key, axis, *t[:3], getattr(t[3], "uid", None)) not in cache]
    if missing:
        bar = st.progress(0.0, text=f"Measuring {COST_AXES[axis].lower()}…")
        with heavy_slot():
            with b.lock:
                model = clone_model(b.wb.model)
            for i, (m, sc, t, e) in enumerate(missing):
                arrays = e.pruned.arrays if e is not None else b.prune(m, t, sc).arrays
                cache[(b.key, axis, m, sc, t, getattr(e, "uid", None))] = point_cost(model, arrays, axis)
                bar.progress((i + 1) / len(missing), text=f"Measuring {COST_AXES[axis].lower()}: "
                                                          f"{i + 1}/{len(missing)} points")
        bar.empty()
    out = []
    for m, sc, t, e in todo:
        src = e.row() if e is not None else rows[(rows["method"] == m) & (rows["target"] == t)].iloc[0].to_dict()
        out.append({**src, "retrained": e is not None,
                    axis: cache[(b.key, axis, m, sc, t, getattr(e, "uid", None))]})
    df = pd.DataFrame(out)
    df["on_frontier"] = cost_frontier(df, axis).to_numpy() if len(df) else []
    return df


__all__ = ["COST_AXES", "PATTERN_METHODS", "cost_rows", "deployment_section", "measure_models",
           "pattern_note", "render_deployment"]
