"""``python -m bench [--quick] [--only NAME ...] [--json DIR] [--markdown FILE]``.

Runs the benchmarks in order and prints each one's Markdown section. Every figure is a
ratio against a baseline measured in the same run. ``--markdown BENCHMARKS.md`` rewrites
only the sections between this suite's ``<!-- bench:NAME -->`` markers (other sections,
such as retraining, are left alone); ``--quick`` runs a tiny random-weight configuration
in a minute (the smoke test), and never touches the figures file unless asked.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from . import (bench_frontier, bench_memory, bench_scaling, bench_sensitivity, bench_slider,
               bench_sweep, bench_tried)
from .common import Config, Result, machine

SUITE = {m.NAME: m for m in (bench_sweep, bench_frontier, bench_sensitivity, bench_slider,
                             bench_memory, bench_scaling, bench_tried)}


def machine_section(info: dict, shared: str | None) -> Result:
    lines = [f"- Command: `{info['command']}` (started {info['when']})",
             f"- CPU: {info['cpu']}, {info['nproc']} cores available (nproc); "
             f"memory {info['mem_gib']} GiB",
             f"- Load average at start: {', '.join(map(str, info['loadavg']))}",
             f"- Python {info['python']}, TensorFlow {info['tensorflow']}, Keras {info['keras']}, "
             f"NumPy {info['numpy']}; OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}",
             f"- Native bfloat16 instructions: {info['native_bfloat16']}"]
    if shared:
        lines.append(f"- {shared}")
    return Result("machine", "Machine and command", info, lines)


def update_markdown(path: Path, results: list[Result]) -> None:
    """Replace (or append) each result's marked section; the rest of the file is kept."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    for r in results:
        block = (f"<!-- bench:{r.name} -->\n## {r.title}\n\n{r.markdown()}"
                 f"<!-- /bench:{r.name} -->")
        pattern = re.compile(rf"<!-- bench:{r.name} -->.*?<!-- /bench:{r.name} -->", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _: block, text)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text if text.endswith("\n") else text + "\n")


def _load() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny random-weight model (smoke test)")
    ap.add_argument("--only", nargs="+", choices=sorted(SUITE), help="run only these benchmarks")
    ap.add_argument("--json", type=Path, help="write NAME.json figures into this folder")
    ap.add_argument("--markdown", type=Path, help="update this suite's sections of a Markdown file")
    ap.add_argument("--shared", help="a note on other load on the machine, printed with the figures")
    args = ap.parse_args(argv)
    cfg = Config.make(args.quick)
    names = args.only or list(SUITE)
    results = [machine_section(machine(), args.shared)]
    print(f"## {results[0].title}\n\n{results[0].markdown()}", flush=True)
    ok = True
    for name in names:
        t, when, load = time.perf_counter(), time.strftime("%H:%M UTC", time.gmtime()), _load()
        r = SUITE[name].run(cfg)
        r.figures["bench_seconds"] = round(time.perf_counter() - t, 1)
        r.figures["loadavg_before_after"] = [load, _load()]
        r.lines.append(f"\n_Ran at {when} in {r.figures['bench_seconds']} s; load average "
                       f"before {load}, after {_load()}{' (--quick)' if args.quick else ''}"
                       + (f"; command `{results[0].figures['command']}`" if args.only else "") + "._")
        ok &= r.ok
        results.append(r)
        print(f"## {r.title}\n\n{r.markdown()}", flush=True)
        if args.json:
            args.json.mkdir(parents=True, exist_ok=True)
            (args.json / f"{name}.json").write_text(json.dumps(
                {"machine": results[0].figures, **r.figures}, indent=2, default=str))
        if args.markdown:  # a partial run keeps the full run's machine section
            update_markdown(args.markdown, [r] if args.only else [results[0], r])
    if not ok:
        print("FAILED: an identity check did not hold (see NO above)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
