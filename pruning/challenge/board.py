"""Leaderboard tables from submission rows (pandas; pure, no TensorFlow, no database).

Ranking: each student's best submission counts (highest score; ties go to the earlier
one); students whose every submission is at or below the accuracy floor have no score and
are listed after everyone ranked. Equal scores share a rank.
"""

from __future__ import annotations

import pandas as pd

from ..frontier import pareto_frontier

SUBMISSION_COLUMNS = ["id", "student", "name", "file_name", "file_sha256", "file_bytes", "sparsity",
                      "accuracy", "score", "params", "nonzeros", "images", "created"]
BOARD_COLUMNS = ["rank", "student", "name", "sparsity", "accuracy", "score", "submissions", "best_id",
                 "created"]


def submissions_frame(rows: list[dict]) -> pd.DataFrame:
    """Submission rows as a frame with the stored columns (empty frame when none)."""
    df = pd.DataFrame(rows, columns=SUBMISSION_COLUMNS)
    return df.astype({"sparsity": float, "accuracy": float, "score": float, "created": float})


def _ordered(subs: pd.DataFrame) -> pd.DataFrame:
    """Best first: scored before unscored; then higher score (unscored: higher accuracy),
    earlier, lower id."""
    unscored = subs["score"].isna()
    key = subs.assign(_unscored=unscored, _acc=subs["accuracy"].where(unscored, 0.0))
    return key.sort_values(["_unscored", "score", "_acc", "created", "id"],
                           ascending=[True, False, False, True, True]).drop(columns=["_unscored", "_acc"])


def leaderboard(subs: pd.DataFrame) -> pd.DataFrame:
    """One row per student: their best submission, its rank, and how many they made."""
    if subs.empty:
        return pd.DataFrame(columns=BOARD_COLUMNS)
    counts = subs.groupby("student")["id"].count()
    best = _ordered(subs).drop_duplicates("student", keep="first")
    best = best.assign(submissions=best["student"].map(counts).astype(int), best_id=best["id"])
    best["rank"] = best["score"].rank(method="min", ascending=False).astype("Int64")
    return best[BOARD_COLUMNS].reset_index(drop=True)


def class_frontier(subs: pd.DataFrame) -> pd.DataFrame:
    """The class's non-dominated submissions (sparsity and accuracy), sorted by sparsity."""
    return pareto_frontier(subs[["id", "name", "sparsity", "accuracy", "score"]])


def export_frame(subs: pd.DataFrame) -> pd.DataFrame:
    """Every submission with its rank flag, UTC time and percent columns, for the CSV export."""
    board = leaderboard(subs)
    best_ids = set(board["best_id"]) if not board.empty else set()
    out = subs.assign(
        submitted_utc=pd.to_datetime(subs["created"], unit="s", utc=True).dt.strftime("%Y-%m-%d %H:%M:%S"),
        best=subs["id"].isin(best_ids))
    out = (out.merge(board[["student", "rank"]], on="student", how="left") if not board.empty
           else out.assign(rank=None))
    return out[["id", "name", "rank", "best", "file_name", "sparsity", "accuracy", "score", "params",
                "nonzeros", "images", "file_bytes", "file_sha256", "submitted_utc"]]
