"""Load benchmark: N concurrent real Streamlit sessions against one ``streamlit run``.

``python -m bench.bench_load --sessions 1 5 30 [--moves 4] [--val-limit N] [--json F]``

Each session is a websocket client speaking Streamlit's own protocol (protobuf
``BackMsg`` / ``ForwardMsg`` over ``/_stcore/stream``, as the browser does): it opens
Explore, then moves the sparsity slider to a sequence of levels, alternating levels no
session asked before ("new") with levels every session asks ("seen"). For each move it
records the time from sending the new slider value to the first val-accuracy number on
the page (the estimate or the exact figure) and to the settled page (the script run
finished: exact val, test accuracy, .h5 and gzip sizes shown). It checks each session
sees its own level (the Sparsity metric is the level it asked for) and that all sessions
showing one level show the same exact val accuracy; it records errors (exception or
error elements, failed runs) and the server's peak resident memory (``VmHWM``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "load"
SEEN = [70.0, 90.0, 30.0, 80.0]  # every session asks these (shared results)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str | None], log_path: Path) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free port with ``env`` over this process's environment
    (None: unset), its output appended to ``log_path``; returns (process, base URL) once healthy."""
    port = free_port()
    log = open(log_path, "a")
    env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited:\n{log_path.read_text()[-2000:]}")
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy in 180 s")


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Move:
    level: float
    kind: str  # 'open', 'new' or 'seen'
    first_s: float | None = None
    settled_s: float | None = None
    sparsity_text: str | None = None
    val_text: str | None = None
    estimate_first: bool = False
    errors: list[str] = field(default_factory=list)


class Session:
    """One Streamlit session over its websocket."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.slider_id: str | None = None

    async def send(self, widgets: list | None = None) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = ""
        for wid, value in widgets or []:
            w = cs.widget_states.widgets.add()
            w.id = wid
            w.double_array_value.data[:] = [value]
        await self.ws.send(msg.SerializeToString())

    async def run(self, move: Move, t0: float, timeout: float) -> Move:
        """Read ForwardMsgs until this script run finishes; fill ``move``."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                et = el.WhichOneof("type")
                if et == "slider" and el.slider.label == "Sparsity (%)":
                    self.slider_id = el.slider.id
                elif et == "metric":
                    label, body = el.metric.label, el.metric.body
                    if label == "Val accuracy" and "%" in body:
                        if move.first_s is None:
                            move.first_s = time.perf_counter() - t0
                            move.estimate_first = body.startswith("≈")
                        move.val_text = body
                    elif label == "Sparsity":
                        move.sparsity_text = body
                elif et == "exception":
                    move.errors.append(f"exception: {el.exception.message[:200]}")
                elif et == "alert" and el.alert.format == 1:  # ERROR
                    move.errors.append(f"error: {el.alert.body[:200]}")
            elif kind == "script_finished":
                status = fm.script_finished
                if status == 3:  # FINISHED_EARLY_FOR_RERUN: the next run follows
                    continue
                if status == 1:
                    move.errors.append("compile error")
                move.settled_s = time.perf_counter() - t0
                return move


async def one_session(i: int, url: str, levels: list[tuple[float, str]], timeout: float,
                      start: asyncio.Event) -> list[Move]:
    import websockets

    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    moves: list[Move] = []
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                  open_timeout=120, ping_interval=None) as ws:
        s = Session(ws)
        t0 = time.perf_counter()
        await s.send()
        moves.append(await s.run(Move(50.0, "open"), t0, timeout))
        if s.slider_id is None:
            moves[-1].errors.append("no sparsity slider on the page")
            return moves
        await start.wait()  # every session moves at once
        for level, kind in levels:
            t0 = time.perf_counter()
            await s.send([(s.slider_id, level)])
            moves.append(await s.run(Move(level, kind), t0, timeout))
    return moves


def plan(i: int, moves: int) -> list[tuple[float, str]]:
    """Session i's levels: new ones (no other session asks them) between shared ones."""
    out = []
    for k in range(moves):
        if k % 2 == 0:
            out.append((round(5.0 + ((i * 7.3 + k * 19.1) % 90.0), 1), "new"))
        else:
            out.append((SEEN[(k // 2) % len(SEEN)], "seen"))
    return out


async def drive(url: str, n: int, moves: int, timeout: float) -> list[list[Move]]:
    start = asyncio.Event()
    tasks = [asyncio.create_task(one_session(i, url, plan(i, moves), timeout, start)) for i in range(n)]

    async def release() -> None:  # once every session has opened its page (or failed)
        while True:
            await asyncio.sleep(0.2)
            if all(t.done() for t in tasks) or _opened[0] >= n:
                start.set()
                return
    _opened[0] = 0
    rel = asyncio.create_task(release())
    results = await asyncio.gather(*tasks, return_exceptions=True)
    rel.cancel()
    return [r if isinstance(r, list) else [Move(0, "open", errors=[f"{type(r).__name__}: {r}"])]
            for r in results]


_opened = [0]


def _pct(text: str | None) -> float | None:
    try:
        return float(text.replace("≈", "").replace("%", "").replace(",", "").strip())
    except (AttributeError, ValueError):
        return None


def quantile(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))]


def summarize(n: int, sessions: list[list[Move]], peak_mib: float) -> dict:
    moved = [m for s in sessions for m in s if m.kind != "open"]
    opens = [m for s in sessions for m in s if m.kind == "open"]
    errors = [e for s in sessions for m in s for e in m.errors]
    wrong_level = [m for m in moved if _pct(m.sparsity_text) is None
                   or abs(_pct(m.sparsity_text) - m.level) > 0.05]
    by_level: dict[float, set] = {}
    for m in moved:
        by_level.setdefault(m.level, set()).add(m.val_text)
    inconsistent = {lv: sorted(v) for lv, v in by_level.items() if len(v) > 1}

    def stats(kind: str | None, attr: str) -> dict:
        xs = [getattr(m, attr) for m in moved if (kind is None or m.kind == kind)
              and getattr(m, attr) is not None]
        return {"p50": quantile(xs, 0.5), "p95": quantile(xs, 0.95), "max": max(xs) if xs else None,
                "n": len(xs)}

    return {"sessions": n, "moves": len(moved), "errors": errors[:20], "n_errors": len(errors),
            "wrong_level": len(wrong_level), "inconsistent_levels": inconsistent,
            "first": stats(None, "first_s"), "settled": stats(None, "settled_s"),
            "first_new": stats("new", "first_s"), "first_seen": stats("seen", "first_s"),
            "settled_new": stats("new", "settled_s"), "settled_seen": stats("seen", "settled_s"),
            "estimate_first_share": (sum(m.estimate_first for m in moved) / len(moved)) if moved else None,
            "open_settled": {"p50": quantile([m.settled_s for m in opens if m.settled_s], 0.5),
                             "p95": quantile([m.settled_s for m in opens if m.settled_s], 0.95)},
            "server_peak_mib": peak_mib}


async def _touch(url: str, timeout: float) -> None:
    """One session opens the app once and leaves."""
    import websockets

    async with websockets.connect(url.replace("http://", "ws://") + "/_stcore/stream",
                                  subprotocols=["streamlit"], max_size=None, open_timeout=120,
                                  ping_interval=None) as ws:
        s = Session(ws)
        await s.send()
        await s.run(Move(50.0, "open"), time.perf_counter(), timeout)


def wait_warm(log_path: Path, timeout: float) -> float | None:
    """Seconds until the server log says the demo is warmed (``pruning.ui.warm``), or None
    when it did not within ``timeout``."""
    from pruning.ui.warm import WARM_DONE

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if WARM_DONE in log_path.read_text():
            return time.perf_counter() - t0
        time.sleep(1.0)
    return None


def run_load(counts: list[int], moves: int = 4, val_limit: int | None = None,
             test_limit: int | None = None, timeout: float = 300.0,
             extra_env: dict | None = None, warm_timeout: float | None = None) -> list[dict]:
    """Start one server per session count (a cold cache each time), drive it, summarize.
    ``warm_timeout``: first wait (up to that long) until the warm thread filled its levels,
    as on a class server started before the lesson."""
    out = []
    for n in counts:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"PRUNING_STORE_DIR": str(Path(tmp) / "store"), **(extra_env or {})}
            if val_limit:
                env["PRUNING_VAL_LIMIT"] = str(val_limit)
            if test_limit:
                env["PRUNING_TEST_LIMIT"] = str(test_limit)
            proc, url = start_server(env, Path(tmp) / "streamlit.log")
            try:
                warmed = None
                if warm_timeout:
                    asyncio.run(_touch(url, timeout))  # the first script run starts the warm thread
                    warmed = wait_warm(Path(tmp) / "streamlit.log", warm_timeout)
                t0 = time.perf_counter()
                sessions = asyncio.run(_drive_counting(url, n, moves, timeout))
                wall = time.perf_counter() - t0
                fig = summarize(n, sessions, peak_rss_mib(proc.pid))
                fig["wall_s"] = wall
                fig["warmed_s"] = warmed
                log = (Path(tmp) / "streamlit.log").read_text()
                fig["server_tracebacks"] = log.count("Traceback")
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            out.append(fig)
    return out


async def _drive_counting(url: str, n: int, moves: int, timeout: float) -> list[list[Move]]:
    # count opened sessions: wrap Session.run for 'open' moves
    orig = Session.run

    async def counted(self, move, t0, timeout_):
        m = await orig(self, move, t0, timeout_)
        if move.kind == "open":
            _opened[0] += 1
        return m
    Session.run = counted
    try:
        return await drive(url, n, moves, timeout)
    finally:
        Session.run = orig


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def markdown(figs: list[dict], command: str) -> list[str]:
    lines = [f"Command: `{command}`", "",
             "| sessions | moves | first number p50 / p95 (s) | new level p95 | seen level p95 | "
             "settled p50 / p95 (s) | errors | wrong level | server peak RSS |",
             "|---|---|---|---|---|---|---|---|---|"]
    for f in figs:
        lines.append(
            f"| {f['sessions']} | {f['moves']} | {_fmt(f['first']['p50'])} / {_fmt(f['first']['p95'])} | "
            f"{_fmt(f['first_new']['p95'])} | {_fmt(f['first_seen']['p95'])} | "
            f"{_fmt(f['settled']['p50'])} / {_fmt(f['settled']['p95'])} | {f['n_errors']} | "
            f"{f['wrong_level']} | {f['server_peak_mib']:.0f} MiB |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 30])
    ap.add_argument("--moves", type=int, default=4, help="slider moves per session (new/seen alternate)")
    ap.add_argument("--val-limit", type=int)
    ap.add_argument("--test-limit", type=int)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds one script run may take")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--wait-warm", type=float, metavar="S",
                    help="wait up to S seconds for the warm thread to fill every level first")
    ap.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE",
                    help="server environment, e.g. PRUNING_EXPLORE_FULL=0 (class mode)")
    args = ap.parse_args(argv)
    extra = dict(kv.split("=", 1) for kv in args.env)
    figs = run_load(args.sessions, args.moves, args.val_limit, args.test_limit, args.timeout, extra,
                    args.wait_warm)
    cmd = "python -m bench.bench_load " + " ".join(argv if argv is not None else sys.argv[1:])
    print("\n".join(markdown(figs, cmd)))
    for f in figs:
        if f["errors"] or f["inconsistent_levels"]:
            print(json.dumps({"sessions": f["sessions"], "errors": f["errors"],
                              "inconsistent": f["inconsistent_levels"]}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figs, indent=1))
    return 0 if all(f["n_errors"] == 0 and f["wrong_level"] == 0 and not f["inconsistent_levels"]
                    for f in figs) else 1


if __name__ == "__main__":
    sys.exit(main())
