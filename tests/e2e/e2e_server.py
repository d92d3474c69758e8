"""Start and stop a real ``streamlit run app.py`` for the browser tests (the load benchmark's
``start_server``, without its start-up warm thread)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.bench_load import start_server

CHROMIUM = "/usr/bin/chromium"
VAL_LIMIT, TEST_LIMIT = 500, 500  # the shared server's evaluation slice of the bundled data


def start(env: dict[str, str | None], log_path: Path) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` with ``env`` (None: unset) and no warm thread taking the other
    test worker's core; returns (process, base URL) once it answers its health check."""
    return start_server({"PRUNING_WARM": "0", **env}, log_path)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
