"""Pruning schedules: when a retraining run prunes, and to which sparsity.

Every schedule answers one question, ``prune(phase, step)``: the sparsity to prune to at
``step`` (finished optimizer updates of the phase) of phase ``phase``, or None to hold the
masks. ``per_step`` schedules are asked after every update (gradual pruning); the others
only when a phase starts (step 0), the way TF-MOT separates ``pruning_schedule`` from the
pruning itself. The four retraining methods are plans over these:

- ``ConstantSchedule``: one level at the first phase's start (masked retraining);
- ``PolynomialSchedule``: Zhu & Gupta's cubic ramp, step by step (gradual pruning);
- ``RoundsSchedule``: the same fraction of the survivors each round (IMP);
- ``StagesSchedule``: one fraction per stage, each over its own layer group (freeze).

Pure Python. The polynomial schedule:
``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3`` for the pruning
steps ``t = t0, t0 + dt, ...``, with ``t0 + n * dt = end_step``. Unlike TF-MOT's
``PolynomialDecay``, ``end_step`` is always a pruning step, so the final target is reached
even when ``end_step - begin_step`` is not a multiple of ``frequency``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .masks import check_sparsity


class PruningSchedule:
    """The interface: ``prune(phase, step) -> sparsity | None``; ``per_step`` says how often
    it is asked (after every update, or only at each phase's start)."""

    per_step: bool = False

    def prune(self, phase: int, step: int) -> float | None:
        raise NotImplementedError


@dataclass(frozen=True)
class ConstantSchedule(PruningSchedule):
    """One pruning event: ``sparsity`` when phase ``phase`` starts.

    Example:
        >>> ConstantSchedule(0.9).prune(0, 0), ConstantSchedule(0.9).prune(1, 0)
        (0.9, None)
    """

    sparsity: float
    phase: int = 0

    def __post_init__(self) -> None:
        check_sparsity(self.sparsity)

    def prune(self, phase: int, step: int) -> float | None:
        return float(self.sparsity) if phase == self.phase and step == 0 else None


@dataclass(frozen=True)
class RoundsSchedule(PruningSchedule):
    """Iterative pruning: round r (phase ``first_phase + r``) prunes to
    ``1 - (1 - final) ** ((r + 1) / rounds)``, so each round removes the same fraction of the
    weights still alive and the last one lands on ``final`` exactly.

    Example:
        >>> [round(s, 4) for s in RoundsSchedule(0.75, 2).levels]
        [0.5, 0.75]
    """

    final: float
    rounds: int
    first_phase: int = 0

    def __post_init__(self) -> None:
        check_sparsity(self.final)
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")

    @property
    def levels(self) -> list[float]:
        levels = [1 - (1 - self.final) ** ((r + 1) / self.rounds) for r in range(self.rounds)]
        levels[-1] = self.final
        return levels

    def prune(self, phase: int, step: int) -> float | None:
        r = phase - self.first_phase
        return self.levels[r] if step == 0 and 0 <= r < self.rounds else None


@dataclass(frozen=True)
class StagesSchedule(PruningSchedule):
    """Stage k (phase k) prunes its own layer group to ``fractions[k]`` (freeze-layer)."""

    fractions: tuple[float, ...]

    def __post_init__(self) -> None:
        for f in self.fractions:
            check_sparsity(f)

    @classmethod
    def of(cls, fractions: Sequence[float]) -> "StagesSchedule":
        return cls(tuple(float(f) for f in fractions))

    def prune(self, phase: int, step: int) -> float | None:
        return self.fractions[phase] if step == 0 and 0 <= phase < len(self.fractions) else None


@dataclass(frozen=True)
class PolynomialSchedule(PruningSchedule):
    """Sparsity that rises from ``initial`` to ``final`` between two training steps.

    A step ``t`` counts finished optimizer updates; masks change only on pruning steps and
    hold in between.

    Args:
        final: target sparsity s_f (fraction 0..1).
        end_step: the step at which s_f is reached.
        initial: s_i at ``begin_step`` (default 0.0).
        begin_step: t0, the first pruning step (default 0).
        frequency: dt, steps between pruning steps (default 100).
        power: the exponent (default 3, the paper's cubic).

    Example:
        >>> s = PolynomialSchedule(final=0.9, end_step=1000, frequency=100)
        >>> round(s(500), 4), s(999) < 0.9, s(1000)
        (0.7875, True, 0.9)
    """

    final: float
    end_step: int
    initial: float = 0.0
    begin_step: int = 0
    frequency: int = 100
    power: int = 3
    per_step = True  # a class constant, not a field

    def __post_init__(self) -> None:
        check_sparsity(self.final)
        check_sparsity(self.initial)
        if self.initial > self.final:
            raise ValueError(f"initial sparsity {self.initial} is above the final {self.final}")
        if self.begin_step < 0:
            raise ValueError(f"begin_step must be >= 0, got {self.begin_step}")
        if self.end_step < self.begin_step:
            raise ValueError(f"end_step ({self.end_step}) must be >= begin_step ({self.begin_step})")
        if self.frequency < 1:
            raise ValueError(f"frequency must be >= 1 step, got {self.frequency}")
        if self.power < 1:
            raise ValueError(f"power must be >= 1, got {self.power}")

    def target(self, step: int) -> float:
        """The formula's s_t at any step (clamped to [t0, end_step])."""
        span = self.end_step - self.begin_step
        if step >= self.end_step:
            return float(self.final)
        if step <= self.begin_step or span == 0:
            return float(self.initial)
        frac = (step - self.begin_step) / span
        return float(self.final + (self.initial - self.final) * (1.0 - frac) ** self.power)

    def is_pruning_step(self, step: int) -> bool:
        """True on t0, t0 + dt, ... up to and including ``end_step``."""
        if step == self.end_step:
            return True
        return self.begin_step <= step < self.end_step and (step - self.begin_step) % self.frequency == 0

    def pruning_steps(self) -> list[int]:
        """Every pruning step, in order."""
        steps = list(range(self.begin_step, self.end_step, self.frequency))
        return steps + [self.end_step]

    def prune(self, phase: int, step: int) -> float | None:
        """``self(step)`` on pruning steps, else None (one phase: ``phase`` is ignored)."""
        return self(step) if self.is_pruning_step(step) else None

    def __call__(self, step: int) -> float:
        """Sparsity in force after ``step`` updates: s at the last pruning step <= step.

        Before ``begin_step`` nothing is pruned yet and 0.0 is returned.
        """
        if step < self.begin_step:
            return 0.0
        if step >= self.end_step:
            return float(self.final)
        last = self.begin_step + (step - self.begin_step) // self.frequency * self.frequency
        return self.target(last)
