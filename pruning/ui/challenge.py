"""Streamlit glue for challenge mode: the shared ``Challenges`` hub, who this session is,
tables in percent, the live leaderboard fragment.

The hub is one object per server (``st.cache_resource``): its SQLite connection is shared
behind a lock, its reference models are read-only and every submission is scored in a
fresh model. Who a session is lives in ``st.session_state`` (and the student's token also
in the page URL, so a reload keeps the student signed in).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from ..challenge import Challenge, Challenges, ChallengeError, Student
from ..challenge.chart import class_figure
from ..store import default_dir
from .display import chart
from .format import fmt_pct

CODE, KEY, TOKEN = "ch_code", "ch_key", "ch_token"
REFRESH_S = 5


@st.cache_resource(show_spinner=False)
def _hub(path: str) -> Challenges:
    return Challenges(path)


def hub() -> Challenges:
    """The server's challenge hub over ``challenges.sqlite`` in the result store's folder."""
    return _hub(str(default_dir()))


def current_code() -> str:
    """The challenge this session looks at: ``?code=`` in the URL, else the last one used."""
    return str(st.query_params.get("code") or st.session_state.get(CODE) or "")


def remember(code: str) -> None:
    st.session_state[CODE] = code
    st.query_params["code"] = code


def find(code: str) -> Challenge | None:
    """The challenge with ``code`` or None (an error box says why)."""
    if not code.strip():
        return None
    try:
        return hub().get(code)
    except ChallengeError as e:
        st.error(str(e), icon="🚫")
        return None


def teacher_key(ch: Challenge) -> str | None:
    """This session's teacher key for ``ch`` when it opens it (None otherwise)."""
    key = st.session_state.get(KEY, {}).get(ch.code)
    return key if key and hub().is_teacher(ch.code, key) else None


def sign_in_teacher(ch: Challenge, key: str) -> bool:
    if hub().is_teacher(ch.code, key):
        st.session_state.setdefault(KEY, {})[ch.code] = key
        return True
    return False


def me(ch: Challenge) -> Student | None:
    """The student this session is in ``ch`` (token from the session or the URL)."""
    token = st.session_state.get(TOKEN, {}).get(ch.code) or st.query_params.get("student")
    return hub().student(ch.code, token) if token else None


def sign_in_student(student: Student) -> None:
    st.session_state.setdefault(TOKEN, {})[student.challenge] = student.token
    st.query_params["student"] = student.token


def status_line(ch: Challenge) -> str:
    """'Open until 2026-12-01 16:00 UTC', 'Closed by the teacher', …"""
    spec, now = ch.spec, hub().clock()
    if ch.closed:
        return "Closed by the teacher: no more submissions."
    if spec.deadline is not None:
        when = dt.datetime.fromtimestamp(spec.deadline, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return f"Deadline passed ({when})." if now >= spec.deadline else f"Open until {when}."
    return "Open, no deadline."


def rules_line(ch: Challenge) -> str:
    s = ch.spec
    quota = "unlimited submissions" if s.max_submissions is None else f"{s.max_submissions} submissions each"
    wait = f"one every {s.min_interval_s:g} s" if s.min_interval_s else "no wait between them"
    return (f"Score = {s.formula}, counted when hidden-split accuracy exceeds {100 * s.floor:g} %; "
            f"sparsity over all parameters (kernels and biases). {quota.capitalize()}, {wait}, "
            f"files up to {s.max_bytes / 2**20:g} MiB.")


def pct_table(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """``df``'s ``columns`` renamed for display, fractions shown as percent, scores to 4 places."""
    out = df[list(columns)].copy()
    for c in ("sparsity", "accuracy"):
        if c in out:
            out[c] = (100 * out[c].astype(float)).round(2)
    if "score" in out:
        out["score"] = out["score"].astype(float).round(4)
    if "created" in out:
        out["created"] = pd.to_datetime(out["created"], unit="s", utc=True).dt.strftime("%H:%M:%S")
    return out.rename(columns=columns)


BOARD_VIEW = {"rank": "Rank", "name": "Student", "sparsity": "Sparsity", "accuracy": "Hidden accuracy",
              "score": "Score", "submissions": "Submissions"}
SUBMISSION_VIEW = {"id": "#", "name": "Student", "file_name": "File", "sparsity": "Sparsity %",
                   "accuracy": "Hidden accuracy %", "score": "Score", "created": "Time (UTC)"}


def board_table(board: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard as display text: '1', 'Ada', '90.12 %', '91.50 %', '0.9081' or 'below floor'."""
    out = pd.DataFrame({
        "Rank": ["—" if pd.isna(r) else str(int(r)) for r in board["rank"]],
        "Student": board["name"],
        "Sparsity": [fmt_pct(s) for s in board["sparsity"]],
        "Hidden accuracy": [fmt_pct(a) for a in board["accuracy"]],
        "Score": ["below floor" if pd.isna(s) else f"{s:.4f}" for s in board["score"]],
        "Submissions": board["submissions"].astype(str)})
    return out


def board_view(ch: Challenge, you: int | None = None) -> None:
    """The ranked table and the class chart (best per student, every submission, frontier)."""
    subs = hub().submissions(ch.code)
    if subs.empty:
        st.info("No submissions yet. The leaderboard fills in as students submit.")
        return
    st.table(board_table(hub().leaderboard(ch.code)), hide_index=True)
    chart(class_figure(subs, ch.spec.floor, you=you), width="stretch", key=f"class_chart_{ch.code}")
    st.caption("Each dot is one submission; the named dots are each student's best; the grey line is "
               "the class's Pareto frontier: no submission beats a frontier point on both sparsity "
               "and accuracy.")


def live_board(ch: Challenge, you: int | None = None, every: float = REFRESH_S) -> None:
    """``board_view`` refreshed every ``every`` seconds (only this part of the page reruns)."""
    @st.fragment(run_every=every)
    def live() -> None:
        fresh = hub().get(ch.code)
        st.caption(f"{status_line(fresh)} Updates every {every:g} s · "
                   f"{dt.datetime.now(dt.timezone.utc).strftime('%H:%M:%S')} UTC")
        board_view(fresh, you)
    live()
