"""OpenTelemetry SDK providers the tracker builds for itself: OTLP (HTTP or gRPC) and Prometheus.

Used by ``configure()`` only when the application has not set up OpenTelemetry itself
(`app_has_providers`). Where the data goes comes from the code (``otlp_endpoint=``,
``protocol=``, ``prometheus_port=``, ``service_name=``) or else from the standard environment
variables, which the OTLP exporters mostly read themselves:

- ``OTEL_EXPORTER_OTLP_ENDPOINT`` (all three signals; the HTTP exporters append ``/v1/traces``,
  ``/v1/metrics``, ``/v1/logs``) or ``OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT`` (that
  signal only, full URL); ``OTEL_{TRACES,METRICS,LOGS}_EXPORTER=none`` turns a signal off;
- ``OTEL_EXPORTER_OTLP_PROTOCOL`` (or the per-signal ``..._PROTOCOL``): ``http/protobuf`` (default,
  extra ``otlp``) or ``grpc`` (extra ``grpc``);
- ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``; ``OTEL_EXPORTER_OTLP_HEADERS``,
  ``OTEL_EXPORTER_OTLP_TIMEOUT`` (seconds), compression and certificates, per signal too;
- ``OTEL_BSP_*``, ``OTEL_BLRP_*`` (queue and batch sizes), ``OTEL_METRIC_EXPORT_INTERVAL``.

Nothing here blocks a tracked call: spans and log records go through batching processors whose
queues are bounded (2,048 items by default; ``OTEL_BSP_MAX_QUEUE_SIZE``,
``OTEL_BLRP_MAX_QUEUE_SIZE``; when full, new items are dropped) and are exported on a background
thread; metrics are collected by a periodic reader (every 60 s by default).

Exit time with the collector down: unless ``OTEL_EXPORTER_OTLP_TIMEOUT`` (or a per-signal
timeout) says otherwise, each export attempt gives up after `DEFAULT_EXPORT_TIMEOUT_S` seconds
(3 s, instead of the exporters' own 10 s), and `OwnedProviders.shutdown` flushes the three signals
in parallel and returns after at most `SHUTDOWN_TIMEOUT_S` seconds (4 s) whatever the timeouts,
dropping what could not be sent. So an application whose collector is unreachable (closed port,
or a port that accepts but never answers) still exits within about 4 s of its last line (measured:
4.1-4.2 s from the last call to process exit, benchmarks/speed/collector_down.py).

Errors: a bad value passed in code raises ``ConfigError`` naming the argument; a bad or unusable
environment setting (unknown protocol, exporter extra not installed) only logs a warning and that
signal is not exported, so an environment meant for other tools never breaks ``configure()``.
These providers are never installed as the OpenTelemetry globals.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry._logs import get_logger_provider

from tracker.exceptions import ConfigError
from tracker.export._exit_flush import quietly, register_exit_flush, run_parallel
from tracker.export._prometheus import prometheus_reader

if TYPE_CHECKING:  # the SDK is imported only when providers are built
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.trace import TracerProvider

__all__ = [
    "DEFAULT_EXPORT_TIMEOUT_S",
    "SHUTDOWN_TIMEOUT_S",
    "OwnedProviders",
    "app_has_providers",
    "build_providers",
    "register_exit_flush",
]

_log = logging.getLogger(__name__)

#: Seconds one export (retries included) may take when no ``OTEL_EXPORTER_OTLP*_TIMEOUT`` is set.
DEFAULT_EXPORT_TIMEOUT_S = 3.0
#: Upper bound, in seconds, of `OwnedProviders.shutdown` (the three signals flush in parallel).
SHUTDOWN_TIMEOUT_S = 4.0

SIGNALS = ("traces", "metrics", "logs")
PROTOCOLS = ("http/protobuf", "grpc")
_EXTRA = {"http/protobuf": "otlp", "grpc": "grpc"}
_PKG = {"http/protobuf": "opentelemetry-exporter-otlp-proto-http",
        "grpc": "opentelemetry-exporter-otlp-proto-grpc"}


@dataclass(eq=False)
class OwnedProviders:
    """SDK providers built by the tracker; a signal nobody asked for is ``None``.

    `shutdown` flushes and stops all of them (and the Prometheus HTTP server) within
    ``timeout_s``; it is idempotent, so it can be both called and registered with ``atexit``.
    """

    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    logger_provider: LoggerProvider | None = None
    #: ``(host, port)`` the Prometheus exposition is served on, if any.
    prometheus_address: tuple[str, int] | None = None
    #: What was set up, for a log line: e.g. ``"otlp grpc: traces, metrics, logs"``.
    description: str = ""
    _stoppers: list[Callable[[], object]] = field(default_factory=list, repr=False)
    _done: bool = field(default=False, repr=False)

    def force_flush(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> bool:
        """Export what is queued now (in parallel, at most ``timeout_s``); True if all finished."""
        millis = int(timeout_s * 1000)
        jobs: list[Callable[[], object]] = [
            lambda p=p: p.force_flush(millis) for p in self._providers()]  # type: ignore[misc]
        return run_parallel(jobs, timeout_s)

    def shutdown(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> bool:
        """Flush and stop everything, waiting at most ``timeout_s`` seconds in total.

        Returns True when every signal finished in time; what is still unsent after the deadline
        is dropped (the export threads are daemons and never hold the interpreter at exit).
        """
        if self._done:
            return True
        self._done = True
        atexit.unregister(self.shutdown)
        jobs: list[Callable[[], object]] = [p.shutdown for p in self._providers()]
        finished = run_parallel(jobs, timeout_s)
        for stop in self._stoppers:
            quietly(stop)
        if not finished:
            _log.warning("llm-energy-tracker: telemetry export did not finish within %.1f s; "
                         "the rest was dropped", timeout_s)
        return finished

    def _providers(self) -> list[TracerProvider | MeterProvider | LoggerProvider]:
        found = (self.tracer_provider, self.meter_provider, self.logger_provider)
        return [p for p in found if p is not None]


def _is_real(provider: object) -> bool:
    name = type(provider).__name__
    return not (name.startswith(("Proxy", "_Proxy", "NoOp", "_NoOp", "Default")))


def app_has_providers() -> bool:
    """True when the application already installed global OpenTelemetry providers.

    Any tracer, meter or logger provider other than the API's default proxy or no-op counts (an
    SDK provider or a vendor's); the tracker then uses the globals and builds nothing.
    """
    found = (trace_api.get_tracer_provider(), metrics_api.get_meter_provider(),
             get_logger_provider())
    return any(_is_real(p) for p in found)


# ----------------------------------------------------------------------------- resolution
def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _signals_from_env(env: Mapping[str, str]) -> list[str]:
    """Signals with an OTLP endpoint in the environment and not switched off."""
    general = _env(env, "OTEL_EXPORTER_OTLP_ENDPOINT") is not None
    out = []
    for signal in SIGNALS:
        chosen = (_env(env, f"OTEL_{signal.upper()}_EXPORTER") or "otlp").lower()
        if "none" in [c.strip() for c in chosen.split(",")]:
            continue
        if general or _env(env, f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"):
            out.append(signal)
    return out


def _protocol(signal: str, protocol: str | None, env: Mapping[str, str]) -> str:
    """Argument, then the per-signal variable, then the general one, then http/protobuf."""
    if protocol is not None:
        value, source = protocol, "protocol"
    else:
        name = f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL"
        if _env(env, name) is None:
            name = "OTEL_EXPORTER_OTLP_PROTOCOL"
        value, source = _env(env, name) or "http/protobuf", name
    value = value.strip().lower()
    if value == "http":
        value = "http/protobuf"
    if value not in PROTOCOLS:
        raise ConfigError(source, f"unsupported OTLP protocol {value!r}; use one of {PROTOCOLS}")
    return value


def _timeout(signal: str, env: Mapping[str, str]) -> float | None:
    """None lets the exporter read its own timeout variable; else the tracker's short default."""
    if _env(env, f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT") or _env(
            env, "OTEL_EXPORTER_OTLP_TIMEOUT"):
        return None
    return DEFAULT_EXPORT_TIMEOUT_S


def _exporter(signal: str, protocol: str, endpoint: str | None, timeout: float | None) -> Any:
    """One OTLP exporter; ``endpoint=None`` lets it read the environment."""
    grpc = protocol == "grpc"
    kwargs: dict[str, Any] = {}
    if endpoint is not None:
        base = endpoint if "://" in endpoint else f"http://{endpoint}"
        kwargs["endpoint"] = base if grpc else f"{base.rstrip('/')}/v1/{signal}"
    if timeout is not None:
        kwargs["timeout"] = timeout
    if grpc:
        if signal == "traces":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            return OTLPSpanExporter(**kwargs)
        if signal == "metrics":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            return OTLPMetricExporter(**kwargs)
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        return OTLPLogExporter(**kwargs)
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HTTPSpanExporter,
        )
        return HTTPSpanExporter(**kwargs)
    if signal == "metrics":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HTTPMetricExporter,
        )
        return HTTPMetricExporter(**kwargs)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (
        OTLPLogExporter as HTTPLogExporter,
    )
    return HTTPLogExporter(**kwargs)


def _otlp_exporters(otlp_endpoint: str | None, protocol: str | None,
                    env: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    """``{signal: (exporter, protocol)}``; raises for code arguments, warns for the environment."""
    explicit = otlp_endpoint is not None
    signals = list(SIGNALS) if explicit else _signals_from_env(env)
    out: dict[str, tuple[Any, str]] = {}
    for signal in signals:
        try:
            proto = _protocol(signal, protocol, env)
        except ConfigError as exc:
            if explicit or protocol is not None:
                raise
            _log.warning("llm-energy-tracker: %s; %s not exported", exc, signal)
            continue
        try:
            exporter = _exporter(signal, proto, otlp_endpoint, _timeout(signal, env))
        except ImportError as exc:
            hint = (f"OTLP {proto} export needs the {_PKG[proto]} package: "
                    f"pip install 'llm-energy-tracker[{_EXTRA[proto]}]' ({exc})")
            if explicit:
                raise ConfigError("protocol" if proto == "grpc" else "otlp_endpoint", hint) from exc
            _log.warning("llm-energy-tracker: %s; %s not exported", hint, signal)
            continue
        out[signal] = (exporter, proto)
    return out


def build_providers(*, otlp_endpoint: str | None = None, protocol: str | None = None,
                    prometheus_port: int | None = None, service_name: str | None = None,
                    prometheus_host: str = "127.0.0.1",
                    env: Mapping[str, str] | None = None) -> OwnedProviders | None:
    """Build the SDK providers the tracker owns, or None when no export is asked for.

    ``otlp_endpoint`` (a base URL such as ``http://collector:4318``, or ``host:4317`` for gRPC)
    sends traces, metrics and logs there; without it the ``OTEL_EXPORTER_OTLP_*`` environment
    decides which signals are exported. ``protocol`` is ``"http/protobuf"`` or ``"grpc"``
    (default: ``OTEL_EXPORTER_OTLP_PROTOCOL``, else HTTP). ``prometheus_port`` serves the metrics
    at ``http://{prometheus_host}:{port}/metrics`` (port 0 picks a free one; see
    ``prometheus_address``). ``service_name`` wins over ``OTEL_SERVICE_NAME`` and
    ``OTEL_RESOURCE_ATTRIBUTES``. ``env`` replaces ``os.environ`` for deciding what to build.

    Raises ``ConfigError`` naming ``otlp_endpoint``, ``protocol`` or ``prometheus_port`` when a
    code argument is invalid or its optional extra is missing. ``shutdown`` runs at interpreter
    exit (`register_exit_flush`) unless called earlier.
    """
    env = os.environ if env is None else env
    if otlp_endpoint is not None and (not isinstance(otlp_endpoint, str)
                                      or not otlp_endpoint.strip()):
        raise ConfigError("otlp_endpoint", f"expected a URL such as 'http://localhost:4318', "
                          f"got {otlp_endpoint!r}")
    if prometheus_port is not None and (isinstance(prometheus_port, bool)
                                        or not isinstance(prometheus_port, int)
                                        or not 0 <= prometheus_port <= 65535):
        raise ConfigError("prometheus_port",
                          f"expected a TCP port 0-65535, got {prometheus_port!r}")
    if protocol is not None:
        _protocol("traces", protocol, env)  # validate even when nothing else is configured
    otlp = _otlp_exporters(otlp_endpoint.strip() if otlp_endpoint else None, protocol, env)
    if not otlp and prometheus_port is None:
        return None

    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: service_name} if service_name else {})
    owned = OwnedProviders()
    parts = []
    if otlp:
        protos = sorted({proto for _, proto in otlp.values()})
        parts.append(f"otlp {'/'.join(protos)}: {', '.join(otlp)}")
    if "traces" in otlp:
        owned.tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        owned.tracer_provider.add_span_processor(BatchSpanProcessor(otlp["traces"][0]))
    if "logs" in otlp:
        owned.logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        owned.logger_provider.add_log_record_processor(BatchLogRecordProcessor(otlp["logs"][0]))
    readers: list[MetricReader] = []
    if "metrics" in otlp:
        readers.append(PeriodicExportingMetricReader(otlp["metrics"][0]))
    if prometheus_port is not None:
        try:
            reader, owned.prometheus_address = prometheus_reader(
                prometheus_port, prometheus_host, owned._stoppers)
        except ConfigError:
            owned.shutdown(timeout_s=0.5)
            raise
        readers.append(reader)
        parts.append("prometheus http://{}:{}/metrics".format(*owned.prometheus_address))
    if readers:
        owned.meter_provider = MeterProvider(metric_readers=readers, resource=resource,
                                             shutdown_on_exit=False)
    owned.description = "; ".join(parts)
    register_exit_flush(owned)
    return owned
