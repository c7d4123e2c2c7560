"""Human units: scaled, three significant digits, never exponent notation."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.render import _units as U

#: Exponent notation, or three zeros right after the point ("0.00029").
UNREADABLE = re.compile(r"\d[eE][+-]?\d|\.000\d|\b0\.000")
FORMATTERS = [U.energy, U.carbon, U.water, U.money]


@pytest.mark.parametrize(("value", "fmt", "text"), [
    (4.75e-06, U.energy, "4.75 mWh"), (0.00029, U.energy, "290 mWh"),
    (0.016186, U.energy, "16.2 Wh"), (1.18681e-05, U.energy, "11.9 mWh"),
    (12_345.6, U.energy, "12.3 MWh"), (0.0, U.energy, "0 kWh"),
    (0.00153, U.carbon, "1.53 mgCO2e"), (3.933, U.carbon, "3.93 gCO2e"),
    (1500.0, U.carbon, "1.5 kgCO2e"), (2.5e7, U.carbon, "25 tCO2e"),
    (0.012, U.water, "12 mL"), (2.5e-5, U.water, "25 µL"),
    (1234.5, U.money, "1.23 k$"), (0.25, U.money, "250 m$"), (0.00246, U.money, "2.46 m$"),
    (3.15e-6, U.money, "3.15 µ$"), (5.15e-5, U.money, "51.5 µ$"),
    (1e-300, U.energy, "< 0.001 µWh"),
])
def test_examples(value: float, fmt: object, text: str) -> None:
    assert fmt(value) == text  # type: ignore[operator]


@given(st.floats(min_value=0, max_value=1e30), st.sampled_from(FORMATTERS))
def test_any_value_reads_without_exponent_or_leading_zeros(value: float, fmt: object) -> None:
    text = fmt(value)  # type: ignore[operator]
    assert not UNREADABLE.search(text), text
    assert "inf" not in text and "nan" not in text


@given(st.floats(min_value=1e-12, max_value=1e12))
def test_the_shown_number_is_the_value_to_three_significant_digits(value: float) -> None:
    text = U.energy(value)
    number, unit = text.split(" ")
    factor = dict((s, f) for f, s in U.ENERGY.units)[unit]
    shown = float(number.replace(",", ""))
    assert math.isclose(shown / factor, value, rel_tol=5e-3), text
    assert 0.1 <= shown < 100_000 or unit in ("µWh", "TWh")


@given(st.lists(st.floats(min_value=1e-9, max_value=1e3), min_size=1, max_size=20))
def test_a_column_has_one_unit_read_at_its_largest_value(values: list[float]) -> None:
    unit = U.ENERGY.for_values(values)
    assert unit == U.ENERGY.unit_for(max(values))
    cells = [U.ENERGY.cell(v, unit) for v in values]
    assert all(not UNREADABLE.search(c) for c in cells), cells


@pytest.mark.parametrize(("seconds", "text"), [
    (4.2, "4.2 s"), (59.0, "59 s"), (1275.0, "21 min"), (0.3542 * 3600, "21 min"),
    (3 * 3600 + 300, "3 h 05 min"), (7200, "2 h"), (500 * 3600, "500 h"),
])
def test_durations_read_in_hours_minutes_seconds(seconds: float, text: str) -> None:
    assert U.duration(seconds) == text


def test_a_value_and_its_range_share_one_unit() -> None:
    assert U.CARBON.span(0.155, 0.0324, 0.771) == "155 mgCO2e (32.4-771)"
    assert U.CARBON.span(0.155, 0.0324, 1.771) == "0.155 gCO2e (0.0324-1.77)"
    assert U.MONEY.span(5.15e-5, 5.15e-5, 5.15e-5) == "51.5 µ$"
