"""A local HTTP server answering every POST with one canned response (for loosely valid bodies).

`Canned(body, content_type=..., cut_after=N)` serves `body`; with `cut_after` it announces the
whole length and closes the connection after N bytes (a connection dropped mid-body).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        canned: Canned = self.server.canned
        body = canned.body
        self.send_response(200)
        self.send_header("Content-Type", canned.content_type)
        self.send_header("Content-Length", str(len(body)))
        if canned.cut_after is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body if canned.cut_after is None else body[:canned.cut_after])
        self.wfile.flush()
        if canned.cut_after is not None:
            self.close_connection = True


class Canned:
    """The server (a context manager); `url` is its base URL."""

    def __init__(self, body: bytes, *, content_type: str = "application/json",
                 cut_after: int | None = None) -> None:
        self.body = body
        self.content_type = content_type
        self.cut_after = cut_after
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.canned = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Canned:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
