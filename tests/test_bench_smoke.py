"""Every benchmark runs on the tiny --quick configuration, so none of them rots.

No timing is asserted: only that each benchmark completes, its identity checks hold,
and that the Markdown writer replaces its own sections and keeps anyone else's.
"""

import json
import os

from bench.__main__ import SUITE, main, update_markdown
from bench.common import Result, SeedLoop, seed_prune

SUITE_ORDER = ["sweep", "frontier", "sensitivity", "slider", "memory", "scaling", "tried"]


def test_every_benchmark_runs_quick(tmp_path, capsys):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text("# Benchmarks\n\n## 5. Retraining (another suite)\n\nkeep me\n")
    assert main(["--quick", "--json", str(tmp_path / "json"), "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    assert list(SUITE) == SUITE_ORDER
    for name in SUITE:
        figures = json.loads((tmp_path / "json" / f"{name}.json").read_text())
        assert figures["machine"]["nproc"] == len(os.sched_getaffinity(0))  # cores this process may use
        assert f"<!-- bench:{name} -->" in md.read_text()
    text = md.read_text()
    assert "keep me" in text and "## Machine and command" in text
    assert "identical" in out.lower() and "| NO |" not in out
    sweep = json.loads((tmp_path / "json" / "sweep.json").read_text())
    assert all(m["identical"] for m in sweep["methods"].values())
    assert json.loads((tmp_path / "json" / "sensitivity.json").read_text())["identical"]
    app = json.loads((tmp_path / "json" / "memory.json").read_text())["app"]
    assert len(app["after_session_mib"]) == 2 and app["imported_mib"] > 0  # two app sessions opened
    assert app["peak_mib"] >= max(app["after_session_mib"])


def test_markdown_update_replaces_only_its_section(tmp_path):
    md = tmp_path / "B.md"
    update_markdown(md, [Result("sweep", "1. Sweep", {}, ["old figure"])])
    md.write_text(md.read_text() + "\n## Retrain\n\nother helper's text\n")
    update_markdown(md, [Result("sweep", "1. Sweep", {}, ["new figure"])])
    text = md.read_text()
    assert "new figure" in text and "old figure" not in text
    assert text.count("<!-- bench:sweep -->") == 1 and "other helper's text" in text


def test_seed_prune_is_the_np_percentile_rule(tiny_workbench):
    import numpy as np

    from pruning.masks import prune_arrays

    b = tiny_workbench.baseline
    for method in ("global", "layerwise"):
        ours = prune_arrays(b.arrays, b.kinds, method, 0.73)
        for a, s in zip(ours, seed_prune(b.arrays, method, 0.73)):
            np.testing.assert_array_equal(a, s)
    seed = SeedLoop(tiny_workbench)
    assert seed.level("global", 0.5) == tiny_workbench.point("global", 0.5, with_test=False).val.accuracy
