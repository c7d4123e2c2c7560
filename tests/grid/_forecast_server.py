"""A local HTTP server (127.0.0.1) speaking both forecast APIs, with failure modes.

- GB Carbon Intensity API: ``/intensity/{from}/fw48h`` and
  ``/regional/intensity/{from}/fw48h/regionid/{id}``: half-hour periods from ``{from}``.
- Electricity Maps v3: ``/v3/carbon-intensity/forecast?zone=Z`` (``auth-token`` header): hourly.

`values` are the figures of consecutive periods from the requested start; `mode` switches the
answer to ``429`` (with ``Retry-After: 0``), ``500``, ``malformed`` (a body that is not JSON),
``hang`` (no answer within the client's timeout), ``bad-shape`` or ``401``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

HALF_HOUR = timedelta(minutes=30)


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


class ForecastServer:
    """The fake APIs; `requests` records (path, query, auth-token header) of every request."""

    def __init__(self) -> None:
        self.values: list[float] = [200.0] * 96
        self.mode = "ok"
        self.regionid_answer: int | None = None
        #: First Electricity Maps period (default: the current hour).
        self.em_start: datetime | None = None
        self.requests: list[tuple[str, dict[str, list[str]], str | None]] = []
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- bodies ---------------------------------------------------------------------------
    def uk_periods(self, start: datetime) -> list[dict[str, Any]]:
        return [{"from": stamp(start + i * HALF_HOUR), "to": stamp(start + (i + 1) * HALF_HOUR),
                 "intensity": {"forecast": v, "actual": None, "index": "moderate"}}
                for i, v in enumerate(self.values)]

    def em_body(self, zone: str, start: datetime) -> dict[str, Any]:
        return {"zone": zone, "updatedAt": stamp(start),
                "forecast": [{"carbonIntensity": v,
                              "datetime": (start + timedelta(hours=i)).strftime(
                                  "%Y-%m-%dT%H:%M:%S.000Z")}
                             for i, v in enumerate(self.values)]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                      ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                query = parse_qs(parsed.query)
                server.requests.append((parsed.path, query, self.headers.get("auth-token")))
                mode = server.mode
                if mode == "hang":
                    server._stop.wait(3)
                    return
                if mode == "429":
                    return self._send(429, b'{"error": "rate limited"}', {"Retry-After": "0"})
                if mode == "500":
                    return self._send(500, b"{}")
                if mode == "401":
                    return self._send(401, b'{"error": "bad token"}')
                if mode == "malformed":
                    return self._send(200, b'{"data": [ {"from": ')
                parts = parsed.path.strip("/").split("/")
                if parts[:1] == ["intensity"] and parts[-1] == "fw48h":
                    start = datetime.strptime(parts[1], "%Y-%m-%dT%H:%MZ").replace(
                        tzinfo=timezone.utc)
                    body: Any = {"data": server.uk_periods(start)}
                elif parts[:2] == ["regional", "intensity"] and "regionid" in parts:
                    start = datetime.strptime(parts[2], "%Y-%m-%dT%H:%MZ").replace(
                        tzinfo=timezone.utc)
                    region = int(parts[-1])
                    answered = server.regionid_answer or region
                    body = {"data": {"regionid": answered, "dnoregion": "UKPN London",
                                     "shortname": "London", "data": server.uk_periods(start)}}
                elif parsed.path == "/v3/carbon-intensity/forecast":
                    start = server.em_start or datetime.now(timezone.utc).replace(
                        minute=0, second=0, microsecond=0)
                    body = server.em_body(query.get("zone", [""])[0], start)
                else:
                    return self._send(404, b"{}")
                if mode == "bad-shape":
                    body = {"unexpected": True}
                self._send(200, json.dumps(body).encode())

        return Handler


def serve() -> Iterator[ForecastServer]:
    """A generator for a pytest fixture: the server, closed afterwards."""
    server = ForecastServer()
    try:
        yield server
    finally:
        server.close()
