"""`@carbon_aware`: waits (sync and async) for the best window, never past max_delay, and runs at
once, saying why, when the forecast is unavailable. Real HTTP against a local server; waiting
goes through an injected clock and sleep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tests.grid._forecast_server import ForecastServer, serve
from tracker.exceptions import ConfigError
from tracker.grid import _forecast
from tracker.reduce._timing import best_window, carbon_aware

NOW = datetime(2026, 3, 14, 21, 0, tzinfo=timezone.utc)
# Half-hours from 21:00: a high evening, a trough from 01:00 to 03:00, then high again.
EVENING = [280.0] * 8 + [90.0] * 4 + [300.0] * 84


@pytest.fixture
def api() -> Iterator[ForecastServer]:
    _forecast.clear_cache()
    yield from serve()
    _forecast.clear_cache()


class Waits:
    """An injected clock and sleep: sleeping advances the clock, nothing really waits."""

    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []
        self.events: list[str] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.events.append("slept")
        self.now += timedelta(seconds=seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def test_sync_job_waits_for_the_window_then_runs(
        api: ForecastServer, caplog: pytest.LogCaptureFixture) -> None:
    api.values = EVENING
    waits = Waits()

    @carbon_aware(max_delay="6h", zone="GB", duration="1h", api_url=api.url, clock=waits.clock,
                  sleep=waits.sleep)
    def nightly(n: int) -> int:
        waits.events.append("ran")
        return n * 2

    with caplog.at_level(logging.INFO, "tracker.carbon_aware"):
        assert nightly(21) == 42
    expected = best_window("GB", "1h", "7h", now=NOW, api_url=api.url)
    assert expected.start > NOW
    assert waits.events == ["slept", "ran"]
    assert waits.slept == [(expected.start - NOW).total_seconds()]
    decision = nightly.last_decision  # type: ignore[attr-defined]
    assert decision.waited and decision.window == expected
    record = next(r for r in caplog.records if r.name == "tracker.carbon_aware")
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert "nightly" in text and "waiting 4h00m" in text
    assert f"expected saving {expected.saving:.0%}" in text and "90 gCO2e/kWh" in text


def test_async_job_waits_without_blocking_the_loop(api: ForecastServer) -> None:
    api.values = EVENING
    waits = Waits()

    @carbon_aware(max_delay="6h", zone="GB", duration="2h", api_url=api.url, clock=waits.clock,
                  async_sleep=waits.async_sleep, sleep=lambda s: pytest.fail("sync sleep"))
    async def batch() -> str:
        waits.events.append("ran")
        return "done"

    assert asyncio.run(batch()) == "done"
    expected = best_window("GB", "2h", "8h", now=NOW, api_url=api.url)
    assert waits.slept == [(expected.start - NOW).total_seconds()]
    assert waits.events == ["slept", "ran"]


def test_never_waits_past_max_delay(api: ForecastServer) -> None:
    # The lowest half-hours come 10 h from now: out of reach of a 3 h max delay.
    api.values = [250.0] * 4 + [200.0] * 4 + [260.0] * 12 + [20.0] * 6 + [260.0] * 70
    waits = Waits()

    @carbon_aware(max_delay="3h", zone="GB", duration="30m", api_url=api.url,
                  clock=waits.clock, sleep=waits.sleep)
    def job() -> None:
        waits.events.append("ran")

    job()
    reachable = best_window("GB", "30m", "3h30m", now=NOW, api_url=api.url)
    assert waits.slept == [(reachable.start - NOW).total_seconds()]
    assert 0 < waits.slept[0] <= 3 * 3600
    assert reachable.gco2e_per_kwh == 200.0


def test_runs_now_when_now_is_best(api: ForecastServer,
                                   caplog: pytest.LogCaptureFixture) -> None:
    api.values = [60.0] * 4 + [300.0] * 92
    waits = Waits()

    @carbon_aware(max_delay="6h", zone="GB", api_url=api.url, clock=waits.clock,
                  sleep=waits.sleep)
    def job() -> str:
        return "ok"

    with caplog.at_level(logging.INFO, "tracker.carbon_aware"):
        assert job() == "ok"
    assert waits.slept == []
    assert "now is the lowest-carbon window" in caplog.records[-1].getMessage()


@pytest.mark.parametrize(("mode", "reason"), [
    ("429", "HTTP 429"), ("malformed", "not valid JSON"), ("hang", "timed out"),
    ("bad-shape", "unexpected response shape"),
])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_forecast_unavailable_runs_at_once_and_says_why(
        api: ForecastServer, caplog: pytest.LogCaptureFixture, mode: str, reason: str,
        kind: str) -> None:
    api.mode = mode
    waits = Waits()
    options = {"max_delay": "6h", "zone": "GB", "api_url": api.url, "timeout": 0.3,
               "clock": waits.clock, "sleep": waits.sleep, "async_sleep": waits.async_sleep}

    if kind == "sync":
        @carbon_aware(**options)  # type: ignore[arg-type]
        def job() -> str:
            waits.events.append("ran")
            return "ran"
        with caplog.at_level(logging.INFO, "tracker.carbon_aware"):
            assert job() == "ran"
    else:
        @carbon_aware(**options)  # type: ignore[arg-type]
        async def ajob() -> str:
            waits.events.append("ran")
            return "ran"
        with caplog.at_level(logging.INFO, "tracker.carbon_aware"):
            assert asyncio.run(ajob()) == "ran"
    assert waits.events == ["ran"] and waits.slept == []
    record = next(r for r in caplog.records if r.name == "tracker.carbon_aware")
    assert record.levelno == logging.WARNING
    assert "unavailable" in record.getMessage() and reason in record.getMessage()
    assert "running now" in record.getMessage()


def test_no_zone_runs_at_once(caplog: pytest.LogCaptureFixture) -> None:
    waits = Waits()

    @carbon_aware(max_delay="1h", clock=waits.clock, sleep=waits.sleep)
    def job() -> int:
        return 1

    with caplog.at_level(logging.INFO, "tracker.carbon_aware"):
        assert job() == 1
    assert waits.slept == []
    assert "no zone" in caplog.records[-1].getMessage()


def test_a_failing_forecast_source_never_blocks_the_job() -> None:
    waits = Waits()

    def broken(zone: str) -> list[object]:
        raise RuntimeError("boom")

    @carbon_aware(zone="GB", clock=waits.clock, sleep=waits.sleep,
                  forecast_source=broken)  # type: ignore[arg-type]
    def job() -> str:
        return "ok"

    assert job() == "ok" and waits.slept == []
    assert "RuntimeError" in job.last_decision.reason  # type: ignore[attr-defined]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"max_delay": "later"}, "max_delay"), ({"duration": "0s"}, "duration"),
    ({"max_delay": -5}, "max_delay"),
])
def test_bad_durations_raise_at_decoration(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        carbon_aware(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field

