"""Usage analysis: trend classification and spike detection, with their numbers."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from budget.engine.insight.analysis import spikes, trend

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def bounds(n):
    return [(T0 + timedelta(days=i), T0 + timedelta(days=i + 1)) for i in range(n)]


def series(*values):
    return [D(str(v)) for v in values]


def test_rising_flat_and_falling():
    assert trend("model", "a", "cost", series(1, 2, 3, 4, 5, 6), "day").direction == "rising"
    assert trend("model", "a", "cost", series(5, 5, 5, 5, 5, 5), "day").direction == "flat"
    assert trend("model", "a", "cost", series(6, 5, 4, 3, 2, 1), "day").direction == "falling"
    noisy = series(5, 5.1, 4.9, 5, 5.05, 4.95)
    assert trend("model", "a", "cost", noisy, "day").direction == "flat"


def test_trend_numbers():
    found = trend("model", "gpt-4o", "cost", series(1, 2, 3, 4), "day")
    n = found.numbers
    assert n["slope_per_bucket"] == D(1) and n["mean_per_bucket"] == D("2.5")
    assert n["first_half_mean"] == D("1.5") and n["second_half_mean"] == D("3.5")
    assert n["change"] == D("1.2")  # 1 * 3 / 2.5
    assert "rising" in found.summary and found.to_dict()["numbers"]["change"] == "1.2"


def test_an_isolated_spike_is_found():
    values = series(10, 11, 9, 10, 12, 10, 60, 10, 11, 9, 10, 10)
    found = spikes("component", "batch", "cost", values, bounds(len(values)))
    assert len(found) == 1
    spike = found[0]
    assert spike.numbers["bucket_start"] == T0 + timedelta(days=6)
    assert spike.numbers["value"] == D(60) and spike.numbers["median"] == D(10)
    assert spike.numbers["ratio"] == D(6)


def test_no_spread_uses_the_larger_of_median_and_mean():
    values = series(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50)
    found = spikes("model", "m", "tokens", values, bounds(len(values)))
    assert len(found) == 1 and found[0].numbers["robust_z"] is None


def test_a_level_shift_is_a_trend_not_spikes():
    values = series(0, 0, 0, 0, 0, 0, 5, 5, 5, 5, 5, 5)
    assert spikes("model", "m", "cost", values, bounds(len(values))) == []
    assert trend("model", "m", "cost", values, "day").direction == "rising"


def test_steady_series_have_no_spikes():
    values = series(10, 12, 9, 11, 10, 13, 10, 9)
    assert spikes("model", "m", "cost", values, bounds(len(values))) == []
