"""The gradual-pruning schedule of Zhu & Gupta (2017): training step -> target sparsity.

Pure Python. ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3`` for the pruning
steps ``t = t0, t0 + dt, ...``, with ``t0 + n * dt = end_step``. Unlike TF-MOT's
``PolynomialDecay``, ``end_step`` is always a pruning step, so the final target is reached
even when ``end_step - begin_step`` is not a multiple of ``frequency``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .masks import check_sparsity


@dataclass(frozen=True)
class PolynomialSchedule:
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
