"""Helpers shared by the AppTest modules (driving pages, reading metrics and charts)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
TIMEOUT = 120


def new_app():
    """A fresh AppTest of app.py (one browser session)."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def ok(at) -> None:
    """No uncaught exception and no error box on the page."""
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def upload(at, model: tuple[str, bytes] | None = None, data: list[tuple[str, bytes]] | None = None,
           preset: str | None = None):
    """Upload files through the Bring-your-own page (as a user would)."""
    at.switch_page("pages/bring_your_own.py").run()
    if preset is not None:
        at.selectbox(key="byo_preset").set_value(preset).run()
    if model is not None:
        at.file_uploader(key="byo_model").set_value((model[0], model[1], "application/octet-stream"))
        at.run()
    if data is not None:
        at.file_uploader(key="byo_data").set_value(
            [(n, b, "application/octet-stream") for n, b in data])
        at.run()
    return at


def metrics(at) -> dict[str, str]:
    """Metric label -> displayed value."""
    return {m.label: m.value for m in at.metric}


def pct(text: str) -> float:
    """'87.34 %' -> 87.34."""
    return float(text.replace("%", "").replace(",", "").strip())


def _decode(obj):
    """Plotly's typed-array JSON ({'dtype', 'bdata'}) -> plain lists, recursively."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            a = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
            if "shape" in obj:
                a = a.reshape([int(d) for d in str(obj["shape"]).split(",")])
            return a.tolist()
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def chart_specs(at) -> list[dict]:
    """Plotly figure JSON (arrays decoded) of every st.plotly_chart on the page."""
    return [_decode(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]


def finish_retrain(at, timeout: float = 300.0):
    """Rerun the page until the server-owned retraining run it shows has ended."""
    import time

    from pruning.ui import background

    deadline = time.time() + timeout
    while any(r.running for r in list(background._RUNS.values())):
        assert time.time() < deadline, "retraining did not finish"
        time.sleep(0.3)
    return at.run()
