"""Challenge, teacher: create a challenge (model, public and hidden data, rules) and run it."""

import datetime as dt

import streamlit as st

from pruning import PRESETS, ui
from pruning.challenge import FORMULAS, TEACHER_KEY_ENV, ChallengeError, ChallengeSpec
from pruning.challenge.keys import env_teacher_key
from pruning.models import ModelError

ui.require_shell()
cu = ui.challenge
st.title("Challenge: teacher")
st.caption("Create a pruning challenge for the class, then manage it with its teacher key. Students "
           "join on the **Challenge: student** page; put the **Leaderboard** on the projector.")

new = st.session_state.get("ch_created")
if new:
    code, key = new
    st.success(f"Challenge created. Join code: **{code}**")
    if key:
        st.warning("Teacher key, shown only this once: write it down. It is stored hashed and "
                   "cannot be recovered.", icon="🔑")
        st.code(key, language=None)
    if st.button("I have noted the key", key="ch_created_ok"):
        del st.session_state["ch_created"]
        st.rerun()

create_tab, manage_tab = st.tabs(["Create", "Manage"])
with create_tab:
    title = st.text_input("Title", value="Prune the CNN", key="cht_title")
    source = st.radio("Model", ["Bundled demo (Fashion-MNIST CNN)", "Preset architecture", "Upload"],
                      horizontal=True, key="cht_model")
    preset, model_file = "fashion-mnist", None
    if source != "Bundled demo (Fashion-MNIST CNN)":
        preset = st.selectbox("Architecture preset (weights files are loaded into it)", list(PRESETS),
                              key="cht_preset")
    if source == "Upload":
        model_file = st.file_uploader("Model students start from (.keras, .h5, .weights.h5)",
                                      type=["keras", "h5"], key="cht_model_file")
    data_source = st.radio("Data", ["Bundled Fashion-MNIST", "Upload .npz"], horizontal=True,
                           key="cht_data")
    data_file = None
    if data_source == "Upload .npz":
        data_file = st.file_uploader("Data (.npz with x_val/y_val and x_test/y_test)", type=["npz"],
                                     key="cht_data_file")
    c1, c2 = st.columns(2)
    public = c1.selectbox("Public split (students may use it)", ["val", "train"], key="cht_public")
    hidden = c2.selectbox("Hidden scoring split (never leaves the server)", ["test", "val"],
                          key="cht_hidden")
    c1, c2, c3 = st.columns(3)
    formula = c1.selectbox("Score formula", FORMULAS, key="cht_formula")
    floor = c2.number_input("Accuracy floor (%)", 0.0, 99.0, 60.0, 1.0, key="cht_floor")
    max_subs = c3.number_input("Submissions per student (0 = unlimited)", 0, 1000, 0, key="cht_max")
    c1, c2, c3 = st.columns(3)
    wait = c1.number_input("Seconds between submissions", 0, 3600, 20, key="cht_wait")
    max_mib = c2.number_input("Largest file (MiB)", 1, 200, 50, key="cht_mib")
    use_deadline = c3.checkbox("Deadline", key="cht_use_deadline")
    deadline = None
    if use_deadline:
        now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        d1, d2 = st.columns(2)
        day = d1.date_input("Deadline date (UTC)", now.date(), key="cht_day")
        at = d2.time_input("Deadline time (UTC)", now.time().replace(second=0, microsecond=0), key="cht_time")
        deadline = dt.datetime.combine(day, at, tzinfo=dt.timezone.utc).timestamp()
    class_key = None
    if env_teacher_key() is not None:
        class_key = st.text_input(f"Class teacher key (this server sets {TEACHER_KEY_ENV})",
                                  type="password", key="cht_class_key")
    if st.button("Create challenge", type="primary", key="cht_create"):
        try:
            spec = ChallengeSpec(
                title, model={"Preset architecture": "preset", "Upload": "upload"}.get(source, "demo"),
                preset=preset, data="upload" if data_source == "Upload .npz" else "fashion-mnist",
                public_split=public, hidden_split=hidden, formula=formula,
                floor=floor / 100, deadline=deadline, max_submissions=int(max_subs) or None,
                min_interval_s=float(wait), max_bytes=int(max_mib) * 2**20)
            with st.spinner("Checking the model and data…"):
                made = cu.hub().create(spec, teacher_key=class_key,
                                       model_bytes=model_file.getvalue() if model_file else None,
                                       model_name=model_file.name if model_file else None,
                                       data_bytes=data_file.getvalue() if data_file else None)
        except (ChallengeError, ModelError) as e:
            ui.show_error(e)
        else:
            st.session_state["ch_created"] = (made.code, made.key)
            cu.remember(made.code)
            st.session_state["cht_code"] = made.code  # the Manage tab opens the new challenge
            cu.sign_in_teacher(cu.hub().get(made.code), made.key or class_key or "")
            st.rerun()

with manage_tab:
    code = st.text_input("Join code", value=cu.current_code(), key="cht_code").strip()
    ch = cu.find(code)
    if ch is not None:
        key = cu.teacher_key(ch)
        if key is None:
            typed = st.text_input("Teacher key", type="password", key="cht_key")
            if typed and not cu.sign_in_teacher(ch, typed):
                st.error("Wrong teacher key for this challenge.", icon="🚫")
            key = cu.teacher_key(ch)
        if key is None:
            st.info("Enter the teacher key to see every submission and to close or export the challenge.")
        else:
            cu.remember(ch.code)
            st.subheader(f"{ch.title} · {ch.code}")
            st.write(cu.status_line(ch), cu.rules_line(ch))
            c1, c2, c3 = st.columns(3)
            if c1.button("Reopen" if ch.closed else "Close submissions", key="cht_toggle"):
                cu.hub().set_closed(ch.code, key, not ch.closed)
                st.rerun()
            c2.button("Refresh", key="cht_refresh", help="Show submissions that came in since")
            c3.download_button("Download results (CSV)", cu.hub().export_csv(ch.code, key),
                               file_name=f"challenge-{ch.code}.csv", mime="text/csv", key="cht_csv")
            subs = cu.hub().submissions(ch.code)
            st.markdown(f"**Every submission** ({len(subs)})")
            st.dataframe(cu.pct_table(subs, cu.SUBMISSION_VIEW), hide_index=True, width="stretch")
            cu.board_view(ch)
