"""The load benchmark (bench/bench_load.py) runs in a tiny configuration so it never rots:
two real Streamlit sessions (websocket clients) against one ``streamlit run``, each moving
the slider; each sees its own level, both see one val accuracy per level, no errors."""

from bench.bench_load import markdown, plan, run_load


def test_load_benchmark_runs_tiny():
    (fig,) = run_load([2], moves=2, val_limit=300, test_limit=300, timeout=240)
    assert fig["sessions"] == 2 and fig["moves"] == 4
    assert fig["n_errors"] == 0, fig["errors"]
    assert fig["wrong_level"] == 0 and not fig["inconsistent_levels"]
    assert fig["server_tracebacks"] == 0
    assert fig["first"]["n"] == 4 and fig["settled"]["n"] == 4
    assert all(fig[k]["p95"] >= fig[k]["p50"] > 0 for k in ("first", "settled"))
    assert fig["settled"]["p50"] >= fig["first"]["p50"]
    assert fig["server_peak_mib"] > 100
    assert "| 2 | 4 |" in "\n".join(markdown([fig], "cmd"))


def test_plan_alternates_new_and_shared_levels():
    a, b = plan(0, 4), plan(1, 4)
    assert [k for _, k in a] == ["new", "seen", "new", "seen"]
    assert [lv for lv, k in a if k == "seen"] == [lv for lv, k in b if k == "seen"]
    assert not {lv for lv, k in a if k == "new"} & {lv for lv, k in b if k == "new"}
