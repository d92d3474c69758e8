"""``pruning.schedule.PolynomialSchedule`` against the Zhu & Gupta formula (pure Python)."""

import pytest

from pruning.schedule import PolynomialSchedule


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


def test_targets_never_decrease():
    sched = PolynomialSchedule(final=0.95, end_step=1000, begin_step=10, frequency=7)
    targets = [sched(t) for t in range(0, 1100)]
    assert all(b >= a for a, b in zip(targets, targets[1:]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(final=1.5, end_step=10), "fraction in"),
    (dict(final=0.5, end_step=10, initial=0.6), "above the final"),
    (dict(final=0.5, end_step=3, begin_step=5), "end_step"),
    (dict(final=0.5, end_step=10, frequency=0), "frequency"),
])
def test_schedule_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PolynomialSchedule(**kwargs)
