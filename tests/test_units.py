"""``pruning.units``: percent at the edges, fractions inside, grids and byte counts."""

import math

import pytest

from pruning.units import (format_bytes, format_percent, fraction, parse_grid, parse_percent, sweep_grid,
                           whole_percent)


def test_parse_grid():
    assert parse_grid("0:95:5") == [i / 100 for i in range(0, 96, 5)]
    assert parse_grid("50,80,99.5") == [0.5, 0.8, 0.995]
    assert parse_grid("0:99:10") == [i / 100 for i in range(0, 91, 10)]  # never past STOP
    assert all(type(v) is float for v in parse_grid("0:95:5"))
    for bad, match in (("0:95", "START:STOP:STEP"), ("0:95:0", "START:STOP:STEP"), ("a,b", "START"),
                       (",", "no levels"), ("0:200:50", "percent in 0..100"), ("a:b:c", "grid"),
                       ("120", "grid"), ("", "grid")):
        with pytest.raises(ValueError, match=match):
            parse_grid(bad)


def test_sweep_grid_includes_its_top_and_rounds_like_fraction():
    assert sweep_grid(10, 99) == [k / 10 for k in range(10)] + [0.99]
    assert sweep_grid(2.5, 10) == [0.0, 0.025, 0.05, 0.075, 0.1]
    assert sweep_grid(0.5, 1.2) == [0.0, 0.005, 0.01, 0.012]
    assert fraction(33.3333333) == 0.333333 and fraction(70) == 0.7


def test_percent_parsing_and_whole_percents():
    assert parse_percent("90") == 0.9 and parse_percent("0") == 0.0 and parse_percent("99.5") == 0.995
    for bad, match in (("x", "expected a percent"), ("101", "0..100"), ("-1", "0..100"), ("nan", "0..100")):
        with pytest.raises(ValueError, match=match):
            parse_percent(bad)
    assert whole_percent(0.99, "hi") == 99 and whole_percent(0.0, "lo") == 0
    with pytest.raises(ValueError, match="whole percent"):
        whole_percent(0.995, "hi")


def test_formatting():
    assert format_percent(0.8734) == "87.34 %" and format_percent(0.5, 1) == "50.0 %"
    assert format_percent(None) == format_percent(math.nan) == "—"
    assert [format_bytes(n) for n in (0, 512, 1024, 1536, 24 * 2**20, 3 * 2**29)] == [
        "0 B", "512 B", "1 KiB", "1.5 KiB", "24 MiB", "1.5 GiB"]
