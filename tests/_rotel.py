"""A real OpenTelemetry collector for the export tests: rotel (``pip install rotel==0.0.1a15``).

It has no query API: it runs with its debug exporter, and `Received` parses what it printed (the
collector's debug layout: ``Span #0``, ``Name :``, ``-> key: Type(value)`` lines).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sysconfig
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests._backends import free_port

# ----------------------------------------------------------------------------- rotel output
_ATTR = re.compile(r"^\s*-> ([^:]+): (Str|Int|Double|Bool)\((.*)\)\s*$")
_FIELD = re.compile(r"^\s*(Trace ID|Parent ID|ID|Span ID|Name|Kind)\s*: ?(.*?)\s*$")


def _value(kind: str, raw: str) -> Any:
    if kind == "Int":
        return int(raw)
    if kind == "Double":
        return float(raw)
    if kind == "Bool":
        return raw == "true"
    return raw


@dataclass
class Item:
    """A span, a log record, or a metric with its data points, as rotel printed it."""

    kind: str
    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    points: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Block:
    signal: str
    resource: dict[str, Any] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)


def parse_debug_output(text: str) -> list[Block]:
    """Parse the collector debug-exporter layout printed by rotel."""
    blocks: list[Block] = []
    block: Block | None = None
    item: Item | None = None
    target: dict[str, Any] | None = None
    for line in text.splitlines():
        head = line.split(" #")[0].strip()
        if head in ("ResourceSpans", "ResourceLog", "ResourceLogs", "ResourceMetrics"):
            block = Block({"ResourceSpans": "traces", "ResourceMetrics": "metrics"}.get(
                head, "logs"))
            blocks.append(block)
            item, target = None, block.resource
        elif block is None:
            continue
        elif head in ("Span", "LogRecord", "Metric"):
            item = Item(head)
            block.items.append(item)
            target = item.attributes
        elif head in ("NumberDataPoints", "HistogramDataPoints") and item is not None:
            item.points.append({"attributes": {}})
            target = item.points[-1]["attributes"]
        elif line.startswith("Exemplars:") or head.startswith("Scope"):
            target = None
        elif (m := _ATTR.match(line)) and target is not None:
            target[m.group(1)] = _value(m.group(2), m.group(3))
        elif item is not None and (m := re.match(r"^\s*-> (Name|Unit): (.*)$", line)):
            item.fields[m.group(1)] = m.group(2).strip()
        elif item is not None and item.points and (m := re.match(r"^(Value|Sum|Count): (.*)$",
                                                                 line)):
            item.points[-1][m.group(1).lower()] = float(m.group(2))
        elif item is not None and (m := _FIELD.match(line)) and target is not None:
            item.fields.setdefault(m.group(1), m.group(2))
        elif item is not None and (m := re.match(r"^EventName: (.*)$", line)):
            item.fields["EventName"] = m.group(1).strip()
    return blocks


@dataclass
class Received:
    spans: list[Item]
    logs: list[Item]
    metrics: dict[str, Item]
    resource: dict[str, Any]


@dataclass
class Rotel:
    http_port: int
    grpc_port: int
    output: Path

    def received(self, service: str) -> Received:
        blocks = [b for b in parse_debug_output(self.output.read_text(errors="replace"))
                  if b.resource.get("service.name") == service]
        resource = blocks[0].resource if blocks else {}
        by = {s: [i for b in blocks if b.signal == s for i in b.items]
              for s in ("traces", "logs", "metrics")}
        metrics = {m.fields.get("Name", ""): m for m in by["metrics"]}
        return Received(by["traces"], by["logs"], metrics, resource)

    def wait_for(self, service: str, done: Callable[[Received], bool],
                 timeout: float = 15.0) -> Received:
        deadline = time.monotonic() + timeout
        while True:
            got = self.received(service)
            if done(got) or time.monotonic() > deadline:
                return got
            time.sleep(0.1)


def rotel_binary() -> Path | None:
    try:
        import rotel  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    path = Path(rotel.__file__).parent / "rotel-agent"
    return path if path.exists() else None


def rotel_env() -> dict[str, str]:
    """The environment for rotel-agent: it links libpython, which a pyenv build keeps in its own
    lib directory rather than the system's."""
    env = dict(os.environ)
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (libdir, env.get("LD_LIBRARY_PATH", "")) if p)
    return env


def app_env(**otel: str) -> dict[str, str]:
    """The current environment without OTEL_*/TRACKER_* settings, plus ``otel``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACKER_"))}
    env.update(otel)
    return env


@contextlib.contextmanager
def start_rotel(tmp: Path) -> Iterator[Rotel]:
    """A real rotel collector on two free loopback ports, printing what it receives."""
    binary = rotel_binary()
    if binary is None:
        raise RuntimeError("rotel is not installed: pip install rotel==0.0.1a15")
    http_port, grpc_port = free_port(), free_port()
    out = tmp / "debug.txt"
    with out.open("ab") as sink:
        proc = subprocess.Popen(
            [str(binary), "start", "--exporter", "blackhole", "--debug-log", "traces",
             "--debug-log", "logs", "--debug-log", "metrics", "--debug-log-verbosity",
             "detailed", "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
             "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
             "--pid-file", str(tmp / "rotel.pid"), "--log-file", str(tmp / "rotel.log")],
            stdout=sink, stderr=subprocess.STDOUT, env=rotel_env())
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                for port in (http_port, grpc_port):
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"rotel did not start: {out.read_text()}") from None
                time.sleep(0.05)
        yield Rotel(http_port, grpc_port, out)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


