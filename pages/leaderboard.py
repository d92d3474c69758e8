"""Leaderboard, live: the class's best submissions, ranked, and the class frontier (projector view)."""

import streamlit as st

from pruning import ui

ui.require_shell()
cu = ui.challenge
code = st.text_input("Join code", value=cu.current_code(), key="lb_code").strip()
ch = cu.find(code)
if ch is None:
    st.title("Leaderboard")
    st.caption("Enter the join code of a challenge to show its leaderboard.")
    st.stop()
cu.remember(ch.code)
st.title(f"{ch.title}")
st.markdown(f"### Join code: `{ch.code}`")
st.caption(cu.rules_line(ch))
cu.live_board(ch)
