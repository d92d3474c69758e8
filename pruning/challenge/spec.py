"""What a teacher decides when creating a challenge (plain data, stored as JSON)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields

from ..frontier import DEFAULT_FLOOR
from ..models import MAX_MODEL_BYTES, PRESETS

MODEL_SOURCES = ("demo", "preset", "upload")
DATA_SOURCES = ("fashion-mnist", "upload")
SPLITS = ("train", "val", "test")
FORMULAS = ("(sparsity + accuracy) / 2",)  # pruning.frontier.challenge_score, the course's rule
MIB = 2**20


class ChallengeError(ValueError):
    """A request the challenge refuses; the message says why and what to do."""


@dataclass(frozen=True)
class ChallengeSpec:
    """A challenge's rules.

    Args:
        title: shown on every page.
        model: 'demo' (the bundled Fashion-MNIST CNN), 'preset' (an architecture from
            ``pruning.models.PRESETS``, random starting weights) or 'upload' (the teacher's
            ``.keras`` or weights file, kept server-side as ``model_file``).
        preset: the architecture weights files are loaded into ('demo' implies fashion-mnist).
        data: 'fashion-mnist' (bundled) or 'upload' (the teacher's ``.npz``, kept server-side).
        public_split: the split students may use (downloadable for uploaded data).
        hidden_split: the scoring split; it never leaves the server.
        formula / floor: score = (sparsity + accuracy) / 2, counted only when accuracy > floor.
        deadline: UTC epoch seconds after which submissions are refused (None: none).
        max_submissions: scored submissions per student (None: unlimited).
        min_interval_s: seconds a student waits between scored submissions.
        attempts_per_minute: uploads per student per minute, refused ones included (protects
            the server; a refused file still costs no submission).
        max_bytes: largest file accepted.
    """

    title: str
    model: str = "demo"
    preset: str = "fashion-mnist"
    model_file: str | None = None
    data: str = "fashion-mnist"
    public_split: str = "val"
    hidden_split: str = "test"
    formula: str = FORMULAS[0]
    floor: float = DEFAULT_FLOOR
    deadline: float | None = None
    max_submissions: int | None = None
    min_interval_s: float = 20.0
    attempts_per_minute: int = 6
    max_bytes: int = 50 * MIB

    def __post_init__(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ChallengeError(msg)

        need(bool(self.title.strip()) and len(self.title) <= 120,
             "give the challenge a title (1-120 characters)")
        need(self.model in MODEL_SOURCES,
             f"model must be one of {', '.join(MODEL_SOURCES)}, got {self.model!r}")
        need(self.preset in PRESETS, f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}")
        need(self.data in DATA_SOURCES, f"data must be one of {', '.join(DATA_SOURCES)}, got {self.data!r}")
        need(self.public_split in SPLITS and self.hidden_split in SPLITS,
             f"splits must be among {', '.join(SPLITS)}")
        need(self.public_split != self.hidden_split,
             "the hidden scoring split must differ from the public split students may use")
        need(self.formula in FORMULAS, f"unknown score formula {self.formula!r}")
        need(0.0 <= self.floor < 1.0 and not math.isnan(self.floor),
             f"the accuracy floor is a fraction in [0, 1), got {self.floor}")
        need(self.max_submissions is None or self.max_submissions >= 1,
             "submissions per student must be at least 1 (or unlimited)")
        need(self.min_interval_s >= 0, "the wait between submissions cannot be negative")
        need(self.attempts_per_minute >= 1, "allow at least one upload per minute")
        need(0 < self.max_bytes <= MAX_MODEL_BYTES,
             f"the size limit must be between 1 byte and {MAX_MODEL_BYTES // MIB} MiB")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ChallengeSpec":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(text).items() if k in known})
