"""Live grid intensity: providers, refresher, configuration and CLI against a local fake API.

The fake server (stdlib http.server on 127.0.0.1:0) reproduces the documented response shapes of
Electricity Maps v3 (`/v3/carbon-intensity/latest`) and the GB Carbon Intensity API
(`/intensity`, `/regional/regionid/{id}`) and their failures. No real host is ever contacted.
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tracker.cli import _grid as grid_cli
from tracker.exceptions import ConfigError
from tracker.grid import _refresher as grid
from tracker.grid._network import make_session
from tracker.grid._providers import (
    ElectricityMapsProvider,
    GridError,
    GridReading,
    UKCarbonIntensityProvider,
)
from tracker.grid._refresher import GridRefresher, configure_grid
from tracker.model._registry import get_registry
from tracker.render import _units as U

TOKEN = "canary-TOKEN-7f3a9c1e5d"
HANG = "hang"

# ------------------------------------------------------------------------------ fake API


def em_body(zone: str, value: Any = 302, **extra: Any) -> dict[str, Any]:
    """Electricity Maps v3 /carbon-intensity/latest shape."""
    return {"zone": zone, "carbonIntensity": value, "datetime": "2024-05-01T12:00:00.000Z",
            "updatedAt": "2024-05-01T11:49:01.123Z", "emissionFactorType": "lifecycle",
            "isEstimated": True, "estimationMethod": "TIME_SLICER_AVERAGE", **extra}


def uk_national(actual: Any, forecast: Any = 200) -> dict[str, Any]:
    return {"data": [{"from": "2024-05-01T12:00Z", "to": "2024-05-01T12:30Z",
                      "intensity": {"forecast": forecast, "actual": actual, "index": "moderate"}}]}


def uk_regional(region: int, forecast: Any = 150) -> dict[str, Any]:
    return {"data": [{"regionid": region, "dnoregion": "UKPN London", "shortname": "London",
                      "data": [{"from": "2024-05-01T12:00Z", "to": "2024-05-01T12:30Z",
                                "intensity": {"forecast": forecast, "index": "moderate"},
                                "generationmix": [{"fuel": "gas", "perc": 41.2}]}]}]}


Reply = Any  # (status, body[, headers]) | HANG | callable(query) -> (status, body)


@dataclass
class FakeAPI:
    url: str = ""
    plans: dict[str, list[Reply]] = field(default_factory=dict)
    hits: list[tuple[str, dict[str, list[str]], dict[str, str]]] = field(default_factory=list)
    hanging: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def plan(self, path: str, *replies: Reply) -> None:
        """Answer `path` with `replies` in turn; the last one repeats."""
        self.plans[path] = list(replies)

    def count(self, path: str) -> int:
        return sum(1 for p, _, _ in self.hits if p == path)

    def next_reply(self, path: str) -> Reply:
        replies = self.plans.get(path)
        if not replies:
            return (404, {"error": "not found"})
        return replies.pop(0) if len(replies) > 1 else replies[0]


EM_PATH = "/v3/carbon-intensity/latest"


def _em_echo(query: dict[str, list[str]]) -> tuple[int, Any]:
    return 200, em_body(query["zone"][0])


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    fake = FakeAPI()
    fake.plan(EM_PATH, _em_echo)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            query = parse_qs(parsed.query)
            fake.hits.append((parsed.path, query, dict(self.headers.items())))
            reply = fake.next_reply(parsed.path)
            if reply == HANG:
                fake.hanging.set()
                fake.release.wait(30)
                return
            if callable(reply):
                reply = reply(query)
            status, body, *rest = reply
            headers = rest[0] if rest else {}
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except OSError:
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def sessions() -> Iterator[Callable[..., requests.Session]]:
    made: list[requests.Session] = []

    def make(**kw: Any) -> requests.Session:
        kw.setdefault("timeout", (1.0, 1.0))
        kw.setdefault("backoff_s", 0.01)
        kw.setdefault("max_retry_after_s", 0.05)
        session = make_session(**kw)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


@pytest.fixture
def refreshers(api: FakeAPI) -> Iterator[list[GridRefresher]]:
    made: list[GridRefresher] = []
    yield made
    api.release.set()
    for refresher in made:
        refresher.shutdown()
        if refresher._thread is not None:  # tests may wait; the SDK never does
            refresher._thread.join(5)


@pytest.fixture(autouse=True)
def _no_global_grid() -> Iterator[None]:
    yield
    grid.shutdown()


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError("condition not reached")


# ------------------------------------------------------------------------------ providers


def test_electricitymaps_reading_follows_the_v3_shape(api: FakeAPI, sessions: Any) -> None:
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url, session=sessions())
    reading = provider.fetch("DE")
    assert reading == GridReading(zone="DE", g_per_kwh=302.0,
                                  timestamp="2024-05-01T12:00:00+00:00", source="electricitymaps",
                                  estimated=True, basis="lifecycle")
    path, query, headers = api.hits[-1]
    assert path == EM_PATH and query == {"zone": ["DE"]}
    assert headers.get("auth-token") == TOKEN


@pytest.mark.parametrize(("reply", "needle"), [
    ((401, {"error": "Invalid auth-token"}), "HTTP 401"),
    ((404, {"error": "Zone 'XX' does not exist"}), "HTTP 404"),
    ((500, {"error": "boom"}), "HTTP 500"),
    ((200, b"<html>gateway</html>"), "not valid JSON"),
    ((200, em_body("FR")), "not 'DE'"),
    ((200, em_body("DE", -5)), "outside"),
    ((200, em_body("DE", 2500)), "outside"),
    ((200, b'{"zone": "DE", "carbonIntensity": NaN, "datetime": "2024-05-01T12:00Z"}'), "outside"),
    ((200, em_body("DE", "302")), "not a number"),
    ((200, em_body("DE", None)), "not a number"),
    ((200, em_body("DE", datetime="yesterday")), "ISO 8601"),
    ((200, [1, 2]), "shape"),
])
def test_electricitymaps_rejects_failures_and_bad_answers(
        api: FakeAPI, sessions: Any, reply: Any, needle: str) -> None:
    api.plan(EM_PATH, reply)
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url, session=sessions())
    with pytest.raises(GridError, match=needle) as info:
        provider.fetch("DE")
    assert TOKEN not in str(info.value)


def test_429_retry_after_is_honoured(api: FakeAPI, sessions: Any) -> None:
    api.plan(EM_PATH, (429, {"error": "slow down"}, {"Retry-After": "1"}), _em_echo)
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url,
                                       session=sessions(max_retry_after_s=5.0))
    start = time.monotonic()
    assert provider.fetch("DE").g_per_kwh == 302.0
    assert time.monotonic() - start >= 0.9
    assert api.count(EM_PATH) == 2


def test_retry_after_is_capped_and_retries_are_bounded(api: FakeAPI, sessions: Any) -> None:
    api.plan(EM_PATH, (429, {"error": "slow down"}, {"Retry-After": "3600"}))
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url,
                                       session=sessions(retries=2, max_retry_after_s=0.1))
    start = time.monotonic()
    with pytest.raises(GridError, match="HTTP 429"):
        provider.fetch("DE")
    assert time.monotonic() - start < 2.0
    assert api.count(EM_PATH) == 3


def test_5xx_is_retried_with_backoff_then_succeeds(api: FakeAPI, sessions: Any) -> None:
    api.plan(EM_PATH, (503, {}), (502, {}), _em_echo)
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url, session=sessions(retries=2))
    assert provider.fetch("FR").zone == "FR"
    assert api.count(EM_PATH) == 3


def test_401_is_not_retried(api: FakeAPI, sessions: Any) -> None:
    api.plan(EM_PATH, (401, {"error": "bad token"}))
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url, session=sessions(retries=3))
    with pytest.raises(GridError, match="check the API token"):
        provider.fetch("DE")
    assert api.count(EM_PATH) == 1


def test_hang_past_the_read_timeout_fails_once_without_retry(api: FakeAPI, sessions: Any) -> None:
    api.plan(EM_PATH, HANG)
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url,
                                       session=sessions(timeout=(1.0, 0.3), retries=3))
    start = time.monotonic()
    with pytest.raises(GridError, match="timed out"):
        provider.fetch("DE")
    assert time.monotonic() - start < 1.5
    assert api.count(EM_PATH) == 1


def test_uk_national_uses_actual_then_forecast(api: FakeAPI, sessions: Any) -> None:
    provider = UKCarbonIntensityProvider(base_url=api.url, session=sessions())
    api.plan("/intensity", (200, uk_national(actual=187, forecast=200)))
    measured = provider.fetch("GB")
    assert (measured.g_per_kwh, measured.estimated, measured.source) == \
        (187.0, False, "uk-carbon-intensity")
    assert measured.timestamp == "2024-05-01T12:00:00+00:00"
    api.plan("/intensity", (200, uk_national(actual=None, forecast=211)))
    forecast = provider.fetch("gb")
    assert (forecast.zone, forecast.g_per_kwh, forecast.estimated) == ("GB", 211.0, True)


def test_uk_regional_uses_the_region_forecast(api: FakeAPI, sessions: Any) -> None:
    provider = UKCarbonIntensityProvider(base_url=api.url, session=sessions())
    api.plan("/regional/regionid/13", (200, uk_regional(13, forecast=143)))
    reading = provider.fetch("GB-13")
    assert (reading.zone, reading.g_per_kwh, reading.estimated) == ("GB-13", 143.0, True)
    api.plan("/regional/regionid/13", (200, uk_regional(12)))
    with pytest.raises(GridError, match="region"):
        provider.fetch("GB-13")
    api.plan("/intensity", (200, {"data": []}))
    with pytest.raises(GridError, match="shape"):
        provider.fetch("GB")


@pytest.mark.parametrize("zone", ["GB-18", "GB-0", "GB-NIR", "FR"])
def test_uk_unserved_zone_fails_without_a_request(api: FakeAPI, sessions: Any, zone: str) -> None:
    provider = UKCarbonIntensityProvider(base_url=api.url, session=sessions())
    with pytest.raises(GridError, match="not served"):
        provider.fetch(zone)
    assert api.hits == []


# ------------------------------------------------------------------------------ refresher


def test_refresher_starts_lazily_and_serves_the_reading(
        api: FakeAPI, sessions: Any, refreshers: list[GridRefresher]) -> None:
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url, session=sessions())
    refresher = GridRefresher(provider, ttl_s=60)
    refreshers.append(refresher)
    assert not refresher.running and api.hits == []
    assert refresher.lookup("DE") is None           # first lookup registers the zone
    reading = wait_for(lambda: refresher.lookup("DE"))
    assert (reading.g_per_kwh, reading.source) == (302.0, "electricitymaps")
    assert refresher.running and api.count(EM_PATH) == 1


def test_outage_keeps_last_value_then_drops_it_and_logs_once(
        api: FakeAPI, sessions: Any, refreshers: list[GridRefresher],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url, session=sessions(retries=0))
    refresher = GridRefresher(provider, ttl_s=0.2, retry_s=0.02)   # stale after 3 x ttl
    refreshers.append(refresher)
    refresher.lookup("DE")
    wait_for(lambda: refresher.lookup("DE"))
    fetched = time.monotonic()
    api.plan(EM_PATH, (500, {"error": "down"}))
    wait_for(lambda: api.count(EM_PATH) >= 4)
    assert refresher.lookup("DE") is not None or time.monotonic() - fetched > 0.6
    wait_for(lambda: refresher.lookup("DE") is None)
    assert time.monotonic() - fetched >= 0.55   # kept until 3 x ttl old, then dropped
    count = api.count(EM_PATH)
    wait_for(lambda: api.count(EM_PATH) >= count + 5)
    for _ in range(100):
        assert refresher.lookup("DE") is None
    warnings = [r for r in caplog.records
                if r.name == "tracker.grid._refresher" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "HTTP 500" in warnings[0].getMessage()
    api.plan(EM_PATH, _em_echo)                      # recovery, then a second outage
    wait_for(lambda: refresher.lookup("DE"))
    api.plan(EM_PATH, (200, b"not json"))
    count = api.count(EM_PATH)
    wait_for(lambda: api.count(EM_PATH) >= count + 4)
    messages = [r.getMessage() for r in caplog.records if r.name == "tracker.grid._refresher"]
    assert sum("unavailable" in m for m in messages) == 2
    assert sum("is back" in m for m in messages) == 1
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("reply", [
    (401, {"error": "Invalid auth-token"}),
    (404, {"error": "Zone 'XX' does not exist"}),
    (429, {"error": "rate"}, {"Retry-After": "1"}),
    (200, b"{oops"),
    (200, em_body("FR")),
])
def test_failure_before_any_success_falls_back_to_registry(
        api: FakeAPI, sessions: Any, refreshers: list[GridRefresher],
        caplog: pytest.LogCaptureFixture, reply: Any) -> None:
    api.plan(EM_PATH, reply)
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url, session=sessions(retries=0))
    refresher = GridRefresher(provider, ttl_s=0.05, retry_s=0.02)
    refreshers.append(refresher)
    refresher.lookup("DE")
    wait_for(lambda: api.count(EM_PATH) >= 4)
    assert refresher.lookup("DE") is None
    warnings = [r for r in caplog.records if r.name == "tracker.grid._refresher"]
    assert len(warnings) == 1 and TOKEN not in warnings[0].getMessage()


def test_lookup_never_blocks_while_the_fetch_hangs(
        api: FakeAPI, sessions: Any, refreshers: list[GridRefresher]) -> None:
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url, session=sessions())
    refresher = GridRefresher(provider, ttl_s=0.05)
    refreshers.append(refresher)
    refresher.lookup("DE")
    wait_for(lambda: refresher.lookup("DE"))
    api.plan(EM_PATH, HANG)
    api.hanging.clear()
    assert api.hanging.wait(5)                     # the refresh thread is now stuck in a read
    durations = []
    for _ in range(2000):
        start = time.perf_counter()
        reading = refresher.lookup("DE")
        durations.append(time.perf_counter() - start)
        assert reading is not None and reading.g_per_kwh == 302.0   # last good value kept
    assert statistics.median(durations) < 50e-6
    assert sorted(durations)[int(len(durations) * 0.99)] < 1e-3


def test_process_exits_at_once_while_the_api_hangs(api: FakeAPI) -> None:
    api.plan(EM_PATH, HANG)
    script = textwrap.dedent(f"""
        import sys, time
        from tracker.grid import _refresher as grid
        grid.configure_grid("electricitymaps", {api.url!r}, {TOKEN!r}, "DE", ttl_s=900)
        assert grid.lookup() is None
        sys.stdin.readline()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert api.hanging.wait(15), "the child never reached the API"
        start = time.monotonic()
        out, err = proc.communicate("\n", timeout=10)
        elapsed = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert elapsed < 1.0
    assert TOKEN not in out + err


def test_token_never_appears_in_logs_or_errors(
        api: FakeAPI, sessions: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    provider = ElectricityMapsProvider(TOKEN, base_url=api.url,
                                       session=sessions(timeout=(0.5, 0.3), retries=1))
    texts.append(repr(provider))
    for reply in [(401, {"error": f"bad token {TOKEN}"}), (403, {}), (500, {}),
                  (429, {}, {"Retry-After": "0"}), (200, f"<{TOKEN}>".encode()),
                  (200, em_body("FR")), HANG]:
        api.plan(EM_PATH, reply)
        refresher = GridRefresher(provider, ttl_s=60)
        assert refresher.refresh("DE") is False
        with pytest.raises(GridError) as info:
            provider.fetch("DE")
        texts += [str(info.value), repr(info.value)]
    api.release.set()
    closed = ElectricityMapsProvider(TOKEN, base_url="http://127.0.0.1:9", session=sessions())
    with pytest.raises(GridError) as info:
        closed.fetch("DE")
    texts.append(str(info.value))
    texts += [r.getMessage() for r in caplog.records]
    texts += [str(r.exc_info) for r in caplog.records if r.exc_info]
    assert texts and all(TOKEN not in t for t in texts)


# ------------------------------------------------------------------------------ configuration


@pytest.mark.parametrize(("kwargs", "field_name"), [
    ({"provider": "watttime"}, "grid"),
    ({"ttl_s": 0}, "grid_ttl_s"),
    ({"ttl_s": -5}, "grid_ttl_s"),
    ({"ttl_s": float("nan")}, "grid_ttl_s"),
    ({"ttl_s": True}, "grid_ttl_s"),
    ({"api_url": "ftp://example"}, "grid_api_url"),
    ({"api_token": None}, "grid_api_token"),
    ({"zone": None}, "grid_zone"),
    ({"provider": "uk", "zone": "FR"}, "grid_zone"),
])
def test_configure_grid_names_the_bad_field(
        monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], field_name: str) -> None:
    monkeypatch.delenv("ELECTRICITYMAPS_API_TOKEN", raising=False)
    args: dict[str, Any] = {"provider": "electricitymaps", "api_url": None, "api_token": TOKEN,
                            "zone": "DE", "ttl_s": 900.0, **kwargs}
    with pytest.raises(ConfigError) as info:
        configure_grid(**args)
    assert info.value.field == field_name and TOKEN not in str(info.value)
    assert grid.get_refresher() is None


def test_configure_grid_lookup_uses_configured_zone(
        api: FakeAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", TOKEN)   # the documented env fallback
    refresher = configure_grid("electricitymaps", api.url, None, "FR", ttl_s=60)
    assert refresher is not None and not refresher.running  # nothing happens before a lookup
    assert grid.lookup() is None
    reading = wait_for(grid.lookup)
    assert (reading.zone, reading.source) == ("FR", "electricitymaps")
    assert api.hits[0][2].get("auth-token") == TOKEN
    assert configure_grid(None, None, None, None, 900) is None
    assert grid.lookup() is None and grid.lookup("FR") is None
    assert not refresher.running or refresher._stop.is_set()


def test_configure_grid_uk_defaults_to_great_britain(api: FakeAPI) -> None:
    api.plan("/intensity", (200, uk_national(actual=None, forecast=222)))
    configure_grid("uk", api.url, None, None, ttl_s=60)
    reading = wait_for(grid.lookup)
    assert (reading.zone, reading.g_per_kwh, reading.source) == ("GB", 222.0, "uk-carbon-intensity")


# ------------------------------------------------------------------------------ CLI


def test_cli_maps_a_region_to_its_zone_and_prints_both_figures(
        api: FakeAPI, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", TOKEN)
    region = get_registry().region("gcp:us-central1")
    assert region.electricitymaps_zone
    code = grid_cli.main(["gcp:us-central1", "--provider", "electricitymaps", "--api-url", api.url,
                      "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert api.hits[-1][1] == {"zone": [region.electricitymaps_zone]}
    assert out["live"]["gco2e_per_kwh"] == 302.0 and out["live"]["source"] == "electricitymaps"
    assert out["registry"]["gco2e_per_kwh"] == region.gco2e_per_kwh


def test_cli_country_code_maps_to_itself_and_failure_exits_1(
        api: FakeAPI, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", TOKEN)
    api.plan(EM_PATH, (401, {"error": "bad"}))
    code = grid_cli.main(["FR", "--provider", "electricitymaps", "--api-url", api.url])
    out = capsys.readouterr().out
    assert code == 1 and api.hits[-1][1] == {"zone": ["FR"]}
    figure = U.number(get_registry().region("FR").gco2e_per_kwh)
    assert "HTTP 401" in out and f"{figure} gCO2e" in out
    assert TOKEN not in out


def test_cli_uk_region_and_bad_input(api: FakeAPI, capsys: pytest.CaptureFixture[str]) -> None:
    from tracker.cli._app import main as llm_energy

    api.plan("/regional/regionid/13", (200, uk_regional(13, forecast=99)))
    assert llm_energy(["grid", "GB-13", "--provider", "uk", "--api-url", api.url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["live"]["gco2e_per_kwh"] == 99.0
    assert out["registry"]["gco2e_per_kwh"] == get_registry().region("GB").gco2e_per_kwh
    assert grid_cli.main(["FR", "--provider", "uk", "--api-url", api.url]) == 2
    assert "zone" in capsys.readouterr().err
