"""Challenge mode: a teacher's pruning challenge, students' submissions, the live leaderboard.

State lives in ``challenges.sqlite`` (WAL) in the result store's folder, so a restarted
server has every challenge and submission. No Streamlit here (see ``pruning.ui.challenge``).
"""

from .board import class_frontier, export_frame, leaderboard
from .keys import TEACHER_KEY_ENV
from .scoring import Result, score_file, score_model
from .service import Challenge, Challenges, Created, Refused, Student
from .spec import FORMULAS, ChallengeError, ChallengeSpec

__all__ = ["Challenge", "ChallengeError", "ChallengeSpec", "Challenges", "Created", "FORMULAS",
           "Refused", "Result", "Student", "TEACHER_KEY_ENV", "class_frontier", "export_frame",
           "leaderboard", "score_file", "score_model"]
