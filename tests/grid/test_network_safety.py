"""The network module's guarantees: no credential across origins, a total deadline per request,
async callers never blocked, and overlapping forecast periods counted once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import tracker
from tests.grid._forecast_server import ForecastServer, serve
from tracker.grid import _forecast
from tracker.grid._forecast import ForecastPoint
from tracker.grid._providers import GridError
from tracker.reduce._timing import best_window, carbon_aware

TOKEN = "canary-TOKEN-em-7d21"
NOW = datetime(2026, 3, 14, 21, 0, tzinfo=timezone.utc)


class _Server:
    """A local server whose GET handler is `handle(handler)`."""

    def __init__(self, handle: Any) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with contextlib.suppress(OSError):  # the client gave up: fine
                    handle(self, outer)

        self.stop = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def target() -> Iterator[ForecastServer]:
    _forecast.clear_cache()
    yield from serve()
    _forecast.clear_cache()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_another_origin_never_receives_the_token(target: ForecastServer,
                                                               status: int) -> None:
    def redirect(handler: Any, _server: Any) -> None:
        handler.send_response(status)
        handler.send_header("Location", target.url + handler.path)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    origin = _Server(redirect)
    try:
        with pytest.raises(GridError) as info:
            tracker.grid.forecast("DE", provider="electricitymaps", api_url=origin.url,
                                  api_token=TOKEN, use_cache=False)
    finally:
        origin.close()
    assert TOKEN not in str(info.value)
    assert all(token != TOKEN for _, _, token in target.requests)


def test_a_trickling_server_is_cut_at_the_total_deadline() -> None:
    def trickle(handler: Any, server: Any) -> None:
        body = b'{"zone": "DE", "forecast": []}' * 10
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for byte in body:  # one byte every 0.3 s: every read is well within its timeout
            if server.stop.wait(0.3):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    slow = _Server(trickle)
    _forecast.clear_cache()
    started = time.monotonic()
    try:
        with pytest.raises(GridError, match="timed out"):
            tracker.grid.forecast("DE", provider="electricitymaps", api_url=slow.url,
                                  api_token=TOKEN, timeout=1, use_cache=False)
    finally:
        slow.close()
    assert time.monotonic() - started < 3.05 + 1 + 1.5  # connect + read timeout, and slack


def test_an_async_job_never_blocks_the_event_loop() -> None:
    points = [ForecastPoint(NOW + i * timedelta(hours=1), NOW + (i + 1) * timedelta(hours=1),
                            200.0) for i in range(24)]

    def slow_forecast(_zone: str) -> list[ForecastPoint]:
        time.sleep(0.6)  # a slow request, synchronous as the network module is
        return points

    async def no_wait(_seconds: float) -> None:
        return None

    @carbon_aware(max_delay="6h", zone="GB", duration="1h", clock=lambda: NOW,
                  async_sleep=no_wait, forecast_source=slow_forecast)
    async def job() -> str:
        return "done"

    async def main() -> tuple[str, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        result = await job()
        task.cancel()
        return result, ticks

    result, ticks = asyncio.run(main())
    assert result == "done"
    assert ticks >= 10  # the loop kept running while the forecast was fetched


def test_a_period_listed_twice_counts_once() -> None:
    hour = timedelta(hours=1)
    once = [ForecastPoint(NOW + i * hour, NOW + (i + 1) * hour, 100.0 + 10 * i)
            for i in range(6)]
    inside = ForecastPoint(NOW + timedelta(minutes=15), NOW + timedelta(minutes=45), 999.0)
    twice = [*once, *once[:3], inside]
    a = best_window("GB", "2h", "6h", now=NOW, points=once)
    b = best_window("GB", "2h", "6h", now=NOW, points=twice)
    assert (b.start, b.gco2e_per_kwh, b.now_gco2e_per_kwh) == (a.start, a.gco2e_per_kwh,
                                                               a.now_gco2e_per_kwh)


def test_forecast_drops_overlapping_periods(target: ForecastServer) -> None:
    target.values = [100.0, 200.0, 300.0, 400.0]
    original = target.uk_periods

    def doubled(start: datetime) -> list[dict[str, Any]]:
        periods = original(start)
        return periods + periods[:2]

    target.uk_periods = doubled  # type: ignore[method-assign]
    points = tracker.grid.forecast("GB", api_url=target.url, use_cache=False)
    assert len(points) == 4
    assert all(a.end <= b.start for a, b in itertools.pairwise(points))
