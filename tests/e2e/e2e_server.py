"""Start and stop a real ``streamlit run app.py`` on a free port for the browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
VAL_LIMIT, TEST_LIMIT = 500, 500  # the shared server's evaluation slice of the bundled data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict[str, str | None], log_path: Path) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` with ``env`` over this process's environment (None: unset; no
    start-up warm thread taking the other test worker's core); returns it once it answers its
    health check."""
    port = free_port()
    merged = {**os.environ, "PRUNING_WARM": "0", **env}
    env = {k: v for k, v in merged.items() if v is not None}
    log = open(log_path, "a+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    log.seek(0)
    pytest.fail(f"streamlit did not start:\n{log.read()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
