"""Challenge, student: join with the code, upload a pruned model, see the score at once."""

import streamlit as st

from pruning import ui
from pruning.snippet import load_snippet
from pruning.challenge import ChallengeError, Refused

ui.require_shell()
cu = ui.challenge
st.title("Challenge: student")

code = st.text_input("Join code (on the projector)", value=cu.current_code(), key="chs_code").strip()
ch = cu.find(code)
if ch is None:
    st.caption("Ask your teacher for the six-letter join code.")
    st.stop()
cu.remember(ch.code)
st.subheader(ch.title)
st.write(cu.status_line(ch), cu.rules_line(ch))

student = cu.me(ch)
if student is None:
    name = st.text_input("Your display name (shown on the leaderboard)", key="chs_name", max_chars=40)
    if st.button("Join", type="primary", key="chs_join"):
        try:
            cu.sign_in_student(cu.hub().join(ch.code, name))
        except ChallengeError as e:
            ui.show_error(e)
        else:
            st.rerun()
    st.stop()

st.markdown(f"Signed in as **{student.name}**. Bookmark this page to come back to your history.")
with st.expander("Starting model, public data and checking yourself"):
    start = cu.hub().starting_model(ch.code)
    if start is not None:
        st.download_button("Download the starting model", start[0], file_name=start[1], key="chs_start")
        if ch.spec.model == "demo" or start[1].endswith(".keras"):  # the stack is known: show it
            st.caption("Load it in Keras (then prune it, save it, upload it below):")
            st.code(load_snippet(start[1]), language="python")
    public = cu.hub().public_data(ch.code)
    if public is not None:
        st.download_button(f"Download the public {ch.spec.public_split} split (.npz)", public,
                           file_name=f"challenge-{ch.code}-{ch.spec.public_split}.npz", key="chs_public")
    st.markdown("Score a file on your own machine exactly as the server does (on data you have):")
    st.code(f"python -m pruning score my-model.h5 --split {ch.spec.public_split} --floor {ch.spec.floor:g}",
            language="bash")

upload = st.file_uploader("Your pruned model (.h5, .weights.h5 or .keras)", type=["h5", "keras"],
                          key="chs_file")
if st.button("Submit", type="primary", key="chs_submit", disabled=upload is None):
    try:
        with st.spinner("Scoring on the hidden split…"):
            sub = cu.hub().submit(ch.code, student.token, upload.getvalue(), upload.name)
    except Refused as e:
        st.error(f"Refused, not counted: {e}", icon="🚫")
    except ChallengeError as e:
        ui.show_error(e)
    else:
        st.session_state["chs_last"] = sub["id"]

history = cu.hub().history(ch.code, student.token)
if len(history):
    last = history.iloc[-1]
    st.markdown(f"**Your latest scored submission** ({last['file_name']}, "
                f"hidden {ch.spec.hidden_split} split)")
    c1, c2, c3 = st.columns(3)
    c1.metric("Sparsity", ui.fmt_pct(last["sparsity"]))
    c2.metric("Hidden-split accuracy", ui.fmt_pct(last["accuracy"]))
    c3.metric("Score", "below floor" if last["score"] != last["score"] else f"{last['score']:.4f}")
    st.markdown(f"**Your submissions** ({len(history)})")
    st.dataframe(cu.pct_table(history, cu.SUBMISSION_VIEW), hide_index=True, width="stretch")
st.divider()
st.subheader("Leaderboard")
st.caption("As of this page's last update; the live board is on the Leaderboard page.")
cu.board_view(ch, you=student.id)
