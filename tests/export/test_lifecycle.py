"""Exit and lifecycle: nothing lost at exit, nothing leaked by reconfiguring.

- An application that exports over OTLP and exits without `tracker.shutdown()` still delivers
  its spans, log records and metrics (a subprocess on the running Python, so CI checks it on
  every version; Python 3.12+ refuses new threads in ``atexit`` callbacks).
- `configure(ledger=path)` called many times under a small descriptor limit never runs out of
  file descriptors; `configure(prometheus_port=p)` twice on the same port serves from the second.
- Nested ``with track_energy(...)`` blocks exited out of order leave no span open and no stale
  current scope.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

import tracker
from tracker import _attributes as A
from tracker.recording._scope import current_scope

# ----------------------------------------------------------------------------- exit flush


class _Collector:
    """A minimal OTLP/HTTP receiver: records the paths POSTed to it and answers 200."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.bodies: list[tuple[str, bytes]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                collector.bodies.append((self.path, self.rfile.read(length)))
                collector.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def span_names(self) -> list[str]:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        names = []
        for path, body in self.bodies:
            if path == "/v1/traces":
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                names += [span.name for rs in request.resource_spans for ss in rs.scope_spans
                          for span in ss.spans]
        return names

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def collector() -> Iterator[_Collector]:
    c = _Collector()
    yield c
    c.close()


_EXIT_SCRIPT = """
import threading
import tracker
if {hide_hook}:  # as where the threading exit hook is refused: plain atexit callbacks only
    import opentelemetry.exporter.otlp.proto.http._log_exporter
    import opentelemetry.exporter.otlp.proto.http.metric_exporter
    import opentelemetry.exporter.otlp.proto.http.trace_exporter
    import opentelemetry.sdk._logs
    import opentelemetry.sdk.metrics
    import opentelemetry.sdk.trace

    def refuse(func):
        raise RuntimeError("can't register atexit after shutdown")

    threading._register_atexit = refuse
tracker.configure(otlp_endpoint={url!r}, ledger=None, instrument=False)
with tracker.track_energy("job"):
    tracker.record_usage("gpt-4o", 120, 30, provider="openai")
print("done", flush=True)
"""


@pytest.mark.parametrize("hide_hook", [False, True], ids=["threading_hook", "atexit_only"])
def test_exit_without_shutdown_delivers_every_signal(collector: _Collector,
                                                     hide_hook: bool) -> None:
    script = _EXIT_SCRIPT.format(url=collector.url, hide_hook=hide_hook)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert "Traceback" not in proc.stderr and "can't create new thread" not in proc.stderr
    assert {"/v1/traces", "/v1/logs", "/v1/metrics"} <= set(collector.paths), (
        sys.version, collector.paths, proc.stderr)


_WORKER_SCRIPT = """
import threading, time
import tracker
tracker.configure(otlp_endpoint={url!r}, ledger=None, instrument=False)
tracker.record_usage("gpt-4o", 120, 30, provider="openai")

def late():
    time.sleep(0.5)  # still running when the main thread ends
    tracker.record_usage("gpt-4o-mini", 10, 5, provider="openai")

threading.Thread(target=late).start()
"""


def test_calls_of_threads_still_running_at_exit_are_delivered(collector: _Collector) -> None:
    pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    proc = subprocess.run([sys.executable, "-c", _WORKER_SCRIPT.format(url=collector.url)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(collector.span_names()) == ["chat gpt-4o", "chat gpt-4o-mini"]


# ----------------------------------------------------------------------------- descriptors


_FD_SCRIPT = """
import os, resource, sys
import tracker
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
base = sys.argv[1]
for i in range(300):
    tracker.configure(ledger=os.path.join(base, f"ledger-{i % 3}.jsonl"), instrument=False)
    tracker.record_usage("gpt-4o", 10, 5, provider="openai")
with open(os.path.join(base, "app-file.txt"), "w") as f:  # the application's own open()
    f.write("ok")
print(len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1)
"""


def test_reconfiguring_the_ledger_never_exhausts_descriptors(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _FD_SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    open_fds = int(proc.stdout.strip())
    assert open_fds < 32, open_fds
    lines = sum(len((tmp_path / f"ledger-{i}.jsonl").read_text().splitlines()) for i in range(3))
    assert lines == 300


def test_reconfiguring_the_ledger_in_process_keeps_the_descriptor_count(tmp_path: Path) -> None:
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        pytest.skip("needs /proc/self/fd")
    tracker.configure(ledger=tmp_path / "a.jsonl", instrument=False)
    before = len(list(fd_dir.iterdir()))
    for i in range(50):
        tracker.configure(ledger=tmp_path / f"l{i % 2}.jsonl", instrument=False)
        tracker.record_usage("gpt-4o", 1, 1)
    assert len(list(fd_dir.iterdir())) <= before + 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return str(resp.read().decode())


def test_configure_prometheus_port_twice_releases_the_old_server() -> None:
    pytest.importorskip("opentelemetry.exporter.prometheus")
    port = _free_port()
    tracker.configure(prometheus_port=port, ledger=None, instrument=False, labels={"run": "one"})
    tracker.record_usage("gpt-4o", 100, 10, provider="openai")
    config = tracker.configure(prometheus_port=port, ledger=None, instrument=False,
                               labels={"run": "two"})
    assert config.prometheus_port == port
    tracker.record_usage("gpt-4o", 100, 10, provider="openai")
    text = _scrape(port)
    assert "energy_consumption" in text  # the second configuration's reader answers
    tracker.shutdown()
    with pytest.raises(OSError):
        _scrape(port)


# ----------------------------------------------------------------------------- nested scopes


def _internal(otel: Any) -> dict[str, Any]:
    return {s.name: s for s in otel.spans() if s.kind == SpanKind.INTERNAL}


def test_outer_block_exited_first_ends_both_spans_and_clears_the_scope(configured: Any) -> None:
    outer, inner = tracker.track_energy("outer"), tracker.track_energy("inner")
    outer.__enter__()
    inner_scope = inner.__enter__()
    tracker.record_usage("gpt-4o", 100, 10)
    outer.__exit__(None, None, None)  # out of order
    assert current_scope() is None
    spans = _internal(configured)
    assert set(spans) == {"outer", "inner"}
    assert spans["inner"].parent is not None
    assert spans["inner"].parent.span_id == spans["outer"].context.span_id
    assert spans["outer"].attributes[A.ENERGY_CALLS] == 1
    inner.__exit__(None, None, None)  # late exit: nothing more to end, nothing re-activated
    assert current_scope() is None
    assert len(_internal(configured)) == 2
    assert inner_scope.calls == 1
    tracker.record_usage("gpt-4o", 1, 1)  # outside every block now
    assert inner_scope.calls == 1


def test_middle_block_exited_first_restores_the_outer_one(configured: Any) -> None:
    a, b, c = (tracker.track_energy(n) for n in ("a", "b", "c"))
    scope_a = a.__enter__()
    b.__enter__()
    c.__enter__()
    b.__exit__(None, None, None)
    assert current_scope() is scope_a
    assert set(_internal(configured)) == {"b", "c"}
    c.__exit__(None, None, None)
    assert current_scope() is scope_a
    tracker.record_usage("gpt-4o", 10, 1)
    a.__exit__(None, None, None)
    assert current_scope() is None
    spans = _internal(configured)
    assert set(spans) == {"a", "b", "c"}
    assert spans["a"].attributes[A.ENERGY_CALLS] == 1


def test_one_block_object_entered_twice_nested(configured: Any) -> None:
    block = tracker.track_energy("same")
    with block as first:
        with block as second:
            assert current_scope() is second and second.parent is first
        assert current_scope() is first
    assert current_scope() is None
    assert len(_internal(configured)) == 0 or all(
        s.name == "same" for s in configured.spans())
    assert len([s for s in configured.spans() if s.name == "same"]) == 2


def test_block_across_yields_of_a_tracked_generator_ends_its_span(configured: Any) -> None:
    @tracker.track_energy
    def produce() -> Iterator[int]:
        with tracker.track_energy("inside"):
            yield 1
            tracker.record_usage("gpt-4o", 5, 5)
            yield 2

    assert list(produce()) == [1, 2]
    assert current_scope() is None
    spans = _internal(configured)
    assert "inside" in spans and spans["inside"].end_time is not None
    (outer,) = [s for name, s in spans.items() if name.endswith("<locals>.produce")]
    assert outer.attributes[A.ENERGY_CALLS] == 1


def test_in_order_exits_are_unchanged(configured: Any) -> None:
    with tracker.track_energy("outer") as outer:
        with tracker.track_energy("inner") as inner:
            tracker.record_usage("gpt-4o", 10, 2)
            assert current_scope() is inner
        assert current_scope() is outer
    assert current_scope() is None
    assert outer.calls == inner.calls == 1


def test_ledger_lines_survive_many_reconfigurations(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    for i in range(20):
        tracker.configure(ledger=path, instrument=False, labels={"i": str(i)})
        tracker.record_usage("gpt-4o", 10, 5)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["labels"]["i"] for r in rows] == [str(i) for i in range(20)]
    assert os.path.getsize(path) > 0
