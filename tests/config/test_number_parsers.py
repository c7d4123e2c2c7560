"""One bounded parser per kind of number (durations, limits, counts, money, factors).

Used by the API (`carbon_aware`, `best_window`, `Budget`, `track_energy`), the environment
(``TRACKER_BUDGETS``) and the CLI (`llm-energy when`): any input gives the value or a
`ConfigError` naming the field, never `OverflowError`/`ValueError` or a traceback.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tracker
from tracker.cli._app import main
from tracker.config import _parsers as P
from tracker.config._budget_spec import Budget, parse_budgets
from tracker.exceptions import ConfigError

ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True,
                                                                   allow_infinity=True),
                st.text(max_size=40), st.binary(max_size=8), st.lists(st.integers(), max_size=2))
DURATION_TEXT = st.from_regex(r"\A(\d{1,15}(\.\d{1,3})?(d|h|m|min|s)){1,3}\Z")


@pytest.mark.parametrize("parse", [P.duration, P.limit, P.count, P.money, P.factor])
@given(value=ANY)
def test_every_parser_gives_a_bounded_value_or_a_config_error(parse: Any, value: Any) -> None:
    try:
        result = parse("field", value)
    except ConfigError as exc:
        assert exc.field == "field" and str(exc).startswith("field: ")
        return
    assert math.isfinite(result) and 0 <= result <= 1e15


@given(text=DURATION_TEXT)
def test_duration_text_parses_or_is_refused_by_name(text: str) -> None:
    try:
        seconds = P.duration("max_delay", text)
    except ConfigError as exc:
        assert exc.field == "max_delay"
        return
    assert 0 <= seconds <= P.MAX_DURATION_S
    assert timedelta(seconds=seconds) >= timedelta(0)  # always representable


def test_duration_values() -> None:
    assert P.duration("d", "1h30m") == 5400 and P.duration("d", timedelta(minutes=2)) == 120
    assert P.duration("d", 90) == 90


@pytest.mark.parametrize(("call", "field"), [
    (lambda: tracker.carbon_aware(max_delay=float("nan")), "max_delay"),
    (lambda: tracker.carbon_aware(max_delay="99999999999d"), "max_delay"),
    (lambda: tracker.carbon_aware(duration=timedelta(days=10**6)), "duration"),
    (lambda: tracker.best_window("GB", duration=float("inf"), points=[]), "duration"),
    (lambda: tracker.best_window("GB", within="99999999999d", points=[]), "within"),
    (lambda: Budget(10**400), "budgets"),
    (lambda: Budget(float("inf")), "budgets"),
    (lambda: parse_budgets("1" + "0" * 400 + "gCO2e/day"), "budgets"),
    (lambda: parse_budgets("team=a:1e999kWh/day"), "budgets"),
    (lambda: tracker.configure(budgets="1e999USD/day"), "budgets"),
    (lambda: tracker.track_energy(budget_gco2e=10**400), "budget_gco2e"),
    (lambda: tracker.track_energy(budget_kwh=float("nan")), "budget_kwh"),
])
def test_unbounded_numbers_raise_config_error_naming_the_field(call: Any, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.field == field


def test_budget_from_the_environment_is_set_aside_by_name(monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    monkeypatch.setenv("TRACKER_BUDGETS", "1" + "0" * 400 + "gCO2e/day")
    monkeypatch.setenv("TRACKER_LABELS", "team=a")
    config = tracker.get_config()
    assert config.budgets == () and dict(config.labels) == {"team": "a"}
    assert "TRACKER_BUDGETS" in caplog.text


@pytest.mark.parametrize("args", [
    ["when", "--zone", "GB", "--duration", "99999999999d"],
    ["when", "--zone", "GB", "--duration", "nan"],
    ["when", "--zone", "GB", "--within", "1" + "0" * 400 + "s"],
    ["when", "--zone", "GB", "--timeout", "inf"],
    ["when", "--zone", "GB", "--timeout", "nan"],
])
def test_cli_exits_2_with_the_field_named(args: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err
