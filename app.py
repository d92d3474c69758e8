"""Pruning dashboard: page config, shared sidebar, navigation over pages/."""

import streamlit as st

st.set_page_config(page_title="Pruning dashboard", page_icon="✂️", layout="wide")

from pruning import ui  # noqa: E402  (imports TensorFlow; after page config)

PAGES = [
    st.Page("pages/explore.py", title="Explore", icon="🔎", url_path="explore_home", default=True),
    st.Page("pages/teach.py", title="Why it works", icon="🧑‍🏫", url_path="teach"),
    st.Page("pages/frontier.py", title="Frontier", icon="📈", url_path="frontier"),
    st.Page("pages/structured.py", title="Shrink", icon="🗜️", url_path="shrink"),
    st.Page("pages/sensitivity.py", title="Sensitivity", icon="🧪", url_path="sensitivity"),
    st.Page("pages/retrain.py", title="Retrain", icon="🔁", url_path="retrain"),
    st.Page("pages/bring_your_own.py", title="Bring your own", icon="📤", url_path="bring_your_own"),
    st.Page("pages/challenge_teacher.py", title="Challenge: teacher", icon="🏫",
            url_path="challenge_teacher"),
    st.Page("pages/challenge_student.py", title="Challenge: student", icon="🎓",
            url_path="challenge_student"),
    st.Page("pages/leaderboard.py", title="Leaderboard", icon="🏆", url_path="leaderboard"),
]


def explore_alias() -> None:
    """/explore (typed like /frontier) opens Explore, which is served at the root URL."""
    st.switch_page(PAGES[0])


PAGES.append(st.Page(explore_alias, title="Explore", url_path="explore", visibility="hidden"))

ui.warm_demo()  # once per server: the demo's common levels into the shared results
page = st.navigation(PAGES)
ui.keep_widget_state("method", "sparsity", "sparsity_box", "explore_full", "export_format",
                     "frontier_methods", "frontier_step", "frontier_max", "sens_levels", "byo_preset",
                     "rt_method", "rt_sparsity", "rt_epochs", "rt_train", "teach_hist_layer",
                     "teach_mask_layer", "shrink_remove", "shrink_importance", "shrink_allocation",
                     "shrink_epochs", "shrink_train")
CHALLENGE_PAGES = {"challenge_teacher", "challenge_student", "leaderboard"}
with ui.shell():
    if page.url_path not in CHALLENGE_PAGES:  # the challenge fixes its own model, data and floor
        ui.sidebar()
    page.run()
