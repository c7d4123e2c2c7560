"""Grid forecasts and window selection against a local server speaking both APIs' formats."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tests.grid._forecast_server import HALF_HOUR, ForecastServer, serve, stamp
from tracker.cli._app import main as cli
from tracker.exceptions import ConfigError
from tracker.grid import _forecast
from tracker.grid._forecast import ForecastPoint, forecast
from tracker.grid._providers import GridError
from tracker.reduce._timing import best_window, parse_duration

NOW = datetime(2026, 3, 14, 9, 47, tzinfo=timezone.utc)
TOKEN = "em-secret-token-123"


@pytest.fixture
def api() -> Iterator[ForecastServer]:
    _forecast.clear_cache()
    yield from serve()
    _forecast.clear_cache()


def brute_force(points: list[ForecastPoint], now: datetime, length: timedelta,
                within: timedelta) -> tuple[datetime, float, float]:
    """Best start, its mean and the mean starting now, minute by minute (independent check)."""
    minute = timedelta(minutes=1)
    steps = int(within / minute)
    values: list[float | None] = []
    for i in range(steps):
        t = now + i * minute
        covering = [p.gco2e_per_kwh for p in points if p.start <= t < p.end]
        values.append(covering[0] if covering else None)
    n = int(length / minute)
    candidates = []
    for i in range(steps - n + 1):
        chunk = values[i:i + n]
        if None not in chunk:
            candidates.append((sum(chunk) / n, now + i * minute))  # type: ignore[arg-type]
    best = min(candidates)
    now_mean = candidates[0][0]
    assert candidates[0][1] == now
    return best[1], best[0], now_mean


# ----------------------------------------------------------------------------- GB API


def test_uk_national_48h_forecast_follows_the_api_shape(api: ForecastServer) -> None:
    api.values = [float(100 + i) for i in range(96)]
    points = forecast("GB", api_url=api.url, now=NOW)
    path, _, token = api.requests[-1]
    floor = NOW.replace(minute=30)
    assert path == f"/intensity/{stamp(floor)}/fw48h"
    assert token is None
    assert len(points) == 96
    assert points[0] == ForecastPoint(floor, floor + HALF_HOUR, 100.0)
    assert all(a.end == b.start for a, b in itertools.pairwise(points))
    assert [p.gco2e_per_kwh for p in points] == api.values


def test_uk_regional_forecast_checks_the_region(api: ForecastServer) -> None:
    api.values = [150.0, 90.0, 120.0]
    points = forecast("GB-13", api_url=api.url, now=NOW)
    floor = stamp(NOW.replace(minute=30))
    assert api.requests[-1][0] == f"/regional/intensity/{floor}/fw48h/regionid/13"
    assert [p.gco2e_per_kwh for p in points] == [150.0, 90.0, 120.0]
    api.regionid_answer = 7
    with pytest.raises(GridError, match="region '7', not 13"):
        forecast("GB-13", api_url=api.url, now=NOW, use_cache=False)


def test_registry_region_resolves_to_its_grid_zone(api: ForecastServer) -> None:
    forecast("gcp:europe-west2", api_url=api.url, now=NOW)  # GB -> the UK API
    assert api.requests[-1][0].startswith("/intensity/")
    forecast("gcp:europe-west3", api_url=api.url, api_token=TOKEN)  # DE -> Electricity Maps
    path, query, token = api.requests[-1]
    assert path == "/v3/carbon-intensity/forecast" and query["zone"] == ["DE"]
    assert token == TOKEN


# ----------------------------------------------------------------------------- Electricity Maps


def test_electricitymaps_forecast_follows_the_v3_shape(api: ForecastServer) -> None:
    api.values = [300.0, 250.0, 400.0]
    api.em_start = NOW.replace(minute=0)
    points = forecast("DE", api_url=api.url, api_token=TOKEN)
    assert api.requests[-1][1]["zone"] == ["DE"] and api.requests[-1][2] == TOKEN
    hour = timedelta(hours=1)
    assert points == [ForecastPoint(api.em_start + i * hour, api.em_start + (i + 1) * hour, v)
                      for i, v in enumerate(api.values)]


def test_electricitymaps_token_from_the_environment(api: ForecastServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", TOKEN)
    forecast("FR", api_url=api.url)
    assert api.requests[-1][2] == TOKEN


def test_electricitymaps_without_a_token_fails_without_a_request(
        api: ForecastServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELECTRICITYMAPS_API_TOKEN", raising=False)
    with pytest.raises(GridError, match="API token is needed"):
        forecast("FR", api_url=api.url)
    assert api.requests == []


# ----------------------------------------------------------------------------- failures


@pytest.mark.parametrize(("mode", "message"), [
    ("429", "HTTP 429"),
    ("500", "HTTP 500"),
    ("malformed", "not valid JSON"),
    ("bad-shape", "unexpected response shape"),
])
@pytest.mark.parametrize("zone", ["GB", "GB-3", "DE"])
def test_failures_raise_a_grid_error(api: ForecastServer, mode: str, message: str,
                                     zone: str) -> None:
    api.mode = mode
    with pytest.raises(GridError, match=message) as info:
        forecast(zone, api_url=api.url, api_token=TOKEN, now=NOW, retries=0)
    assert TOKEN not in str(info.value) and api.url not in str(info.value)


def test_429_is_retried_then_fails(api: ForecastServer) -> None:
    api.mode = "429"
    with pytest.raises(GridError, match="429"):
        forecast("GB", api_url=api.url, now=NOW, retries=1)
    assert len(api.requests) == 2


def test_a_hanging_api_times_out(api: ForecastServer) -> None:
    api.mode = "hang"
    with pytest.raises(GridError, match="timed out"):
        forecast("GB", api_url=api.url, now=NOW, timeout=0.3)


def test_401_names_the_token_without_showing_it(api: ForecastServer) -> None:
    api.mode = "401"
    with pytest.raises(GridError, match="check the API token") as info:
        forecast("DE", api_url=api.url, api_token=TOKEN, retries=0)
    assert TOKEN not in str(info.value)


def test_absurd_figures_are_rejected(api: ForecastServer) -> None:
    api.values = [120.0, 5000.0]
    with pytest.raises(GridError, match="outside"):
        forecast("GB", api_url=api.url, now=NOW)


@pytest.mark.parametrize(("zone", "options", "field"), [
    ("", {}, "zone"), ("mars:north1", {}, "zone"), ("DE", {"provider": "uk-carbon-intensity"},
                                                    "zone"),
    ("GB", {"provider": "weather"}, "provider"), ("GB", {"timeout": 0}, "timeout"),
])
def test_bad_input_raises_config_error_naming_the_field(
        api: ForecastServer, zone: str, options: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        forecast(zone, api_url=api.url, **options)  # type: ignore[arg-type]
    assert info.value.field == field
    assert api.requests == []


def test_forecasts_are_cached(api: ForecastServer) -> None:
    first = forecast("GB", api_url=api.url, now=NOW)
    again = forecast("GB", api_url=api.url, now=NOW)
    assert first == again and len(api.requests) == 1
    forecast("GB", api_url=api.url, now=NOW, use_cache=False)
    assert len(api.requests) == 2
    _forecast.clear_cache()
    forecast("GB", api_url=api.url, now=NOW)
    assert len(api.requests) == 3


# ----------------------------------------------------------------------------- windows


@pytest.mark.parametrize(("duration", "within"), [("2h", "24h"), ("90m", "6h"), ("30m", "3h")])
def test_best_window_is_the_lowest_mean_window(api: ForecastServer, duration: str,
                                               within: str) -> None:
    # A day shape: high in the evening, a windy night trough, a solar dip at noon.
    api.values = [250, 260, 280, 300, 290, 240, 200, 160, 120, 95, 80, 85, 110, 150, 190, 210,
                  230, 180, 140, 120, 130, 170, 220, 260] * 4
    now = NOW
    window = best_window("GB", duration, within, now=now, api_url=api.url)
    points = forecast("GB", api_url=api.url, now=now)
    start, mean, now_mean = brute_force(points, now, parse_duration(duration, "d"),
                                        parse_duration(within, "w"))
    assert window.start == start
    assert window.end == start + parse_duration(duration, "d")
    assert window.gco2e_per_kwh == pytest.approx(mean)
    assert window.now_gco2e_per_kwh == pytest.approx(now_mean)
    assert window.saving == pytest.approx((now_mean - mean) / now_mean)
    assert window.start >= now and window.end <= now + parse_duration(within, "w")


def test_best_window_now_when_now_is_lowest(api: ForecastServer) -> None:
    api.values = [50.0] * 4 + [300.0] * 92
    window = best_window("GB", "1h", "24h", now=NOW, api_url=api.url)
    assert window.start == NOW and window.saving == 0.0 and window.delay == timedelta(0)


def test_best_window_needs_a_covering_forecast(api: ForecastServer) -> None:
    api.values = [100.0, 120.0]  # one hour of forecast only
    with pytest.raises(GridError, match="no 2:00:00 window"):
        best_window("GB", "2h", "24h", now=NOW, api_url=api.url)


@pytest.mark.parametrize(("duration", "within", "field"), [
    ("3h", "2h", "within"), ("soon", "2h", "duration"), ("0m", "2h", "duration"),
    ("1h", "-2h", "within"), ("1h", True, "within"),
])
def test_bad_durations_name_the_field(duration: object, within: object, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        best_window("GB", duration, within, points=[])  # type: ignore[arg-type]
    assert info.value.field == field


def test_durations_read_text_numbers_and_timedeltas() -> None:
    assert parse_duration("1h30m", "x") == timedelta(minutes=90)
    assert parse_duration("2h", "x") == timedelta(hours=2)
    assert parse_duration("45min", "x") == timedelta(minutes=45)
    assert parse_duration("1d", "x") == timedelta(days=1)
    assert parse_duration(90, "x") == timedelta(seconds=90)
    assert parse_duration(timedelta(hours=3), "x") == timedelta(hours=3)


# ----------------------------------------------------------------------------- llm-energy when


def test_when_prints_the_window(api: ForecastServer, capsys: pytest.CaptureFixture[str]) -> None:
    api.values = [300.0] * 10 + [90.0] * 4 + [250.0] * 82
    assert cli(["when", "--zone", "GB", "--duration", "2h", "--within", "24h",
                "--api-url", api.url]) == 0
    out = capsys.readouterr().out
    window = best_window("GB", "2h", "24h", api_url=api.url)
    assert f"start   {window.start.strftime('%a %d %b %H:%M UTC')}" in out
    assert "90 gCO2e/kWh forecast" in out and "saving" in out
    assert cli(["when", "--zone", "GB", "--duration", "2h", "--within", "24h",
                "--api-url", api.url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["start"] == window.start.isoformat() and doc["gco2e_per_kwh"] == 90.0
    assert doc["saving"] == pytest.approx(window.saving)


def test_when_exits_1_when_the_forecast_is_unavailable(
        api: ForecastServer, capsys: pytest.CaptureFixture[str]) -> None:
    api.mode = "malformed"
    assert cli(["when", "--zone", "GB", "--api-url", api.url]) == 1
    assert "forecast unavailable" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "field"), [
    (["--duration", "forever"], "duration"), (["--within", "1h", "--duration", "2h"], "within"),
])
def test_when_exits_2_naming_the_field(api: ForecastServer, capsys: pytest.CaptureFixture[str],
                                       args: list[str], field: str) -> None:
    assert cli(["when", "--zone", "GB", "--api-url", api.url, *args]) == 2
    assert f"error: {field}:" in capsys.readouterr().err
    assert api.requests == []
