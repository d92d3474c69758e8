"""Pruning schedules (pure Python): the Zhu & Gupta cubic step by step, and the phase-start
schedules the other retraining methods are plans over. References are the papers' formulas."""

import pytest

from pruning.schedule import (ConstantSchedule, PolynomialSchedule, PruningSchedule, RoundsSchedule,
                              StagesSchedule)


def test_schedule_is_zhu_gupta_cubic_at_pruning_steps():
    s_i, s_f, t0, dt, n = 0.1, 0.9, 100, 50, 8
    sched = PolynomialSchedule(final=s_f, end_step=t0 + n * dt, initial=s_i, begin_step=t0,
                               frequency=dt)
    for k in range(n + 1):
        t = t0 + k * dt
        assert sched.is_pruning_step(t)
        assert sched(t) == pytest.approx(s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3, abs=1e-15)
    assert sched(t0 + dt + 7) == sched(t0 + dt)  # masks hold between pruning steps
    assert sched(t0 - 1) == 0.0 and not sched.is_pruning_step(t0 - 1)
    assert sched(t0 + n * dt) == s_f and sched(10**9) == s_f  # the final target exactly


def test_schedule_always_reaches_the_end_step():
    # end - begin not a multiple of the frequency: TF-MOT would stop short of s_f.
    sched = PolynomialSchedule(final=0.8, end_step=10, begin_step=2, frequency=3)
    assert sched.pruning_steps() == [2, 5, 8, 10]
    assert sched(9) == sched.target(8) < 0.8 and sched(10) == 0.8


@pytest.mark.parametrize("kwargs, match", [
    (dict(final=1.5, end_step=10), "fraction in"),
    (dict(final=0.5, end_step=10, initial=0.6), "above the final"),
    (dict(final=0.5, end_step=3, begin_step=5), "end_step"),
    (dict(final=0.5, end_step=10, frequency=0), "frequency"),
])
def test_schedule_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PolynomialSchedule(**kwargs)



def test_polynomial_schedule_prunes_only_on_its_pruning_steps():
    sched = PolynomialSchedule(final=0.8, end_step=10, begin_step=2, frequency=3)
    assert sched.per_step and isinstance(sched, PruningSchedule)
    assert [t for t in range(20) if sched.prune(0, t) is not None] == [2, 5, 8, 10]
    assert sched.prune(0, 8) == sched.target(8) and sched.prune(0, 10) == 0.8


def test_rounds_remove_the_same_fraction_of_the_survivors_each_round():
    sched = RoundsSchedule(final=0.875, rounds=3, first_phase=1)
    kept = [1 - s for s in sched.levels]
    assert kept == pytest.approx([0.5, 0.25, 0.125])  # (1 - p)^r with p = 1/2
    assert sched.levels[-1] == 0.875  # the last round lands on the target exactly
    assert [sched.prune(k, 0) for k in range(5)] == [None] + sched.levels + [None]
    assert sched.prune(1, 3) is None and not sched.per_step
    with pytest.raises(ValueError, match="rounds"):
        RoundsSchedule(final=0.5, rounds=0)


def test_constant_and_stages_schedules_act_at_phase_starts():
    c = ConstantSchedule(0.9)
    assert [c.prune(0, 0), c.prune(0, 1), c.prune(1, 0)] == [0.9, None, None]
    st = StagesSchedule.of([0.5, 0.7])
    assert [st.prune(k, 0) for k in range(3)] == [0.5, 0.7, None] and st.prune(0, 2) is None
    with pytest.raises(ValueError, match="fraction"):
        StagesSchedule.of([0.5, 1.5])


def test_targets_never_decrease():
    sched = PolynomialSchedule(final=0.95, end_step=1000, begin_step=10, frequency=7)
    targets = [sched(t) for t in range(0, 1100)]
    assert all(b >= a for a, b in zip(targets, targets[1:]))
