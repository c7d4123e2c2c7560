"""The Prometheus scrape endpoint of the SDK's own meter provider (``prometheus_port=``).

Each reader gets its own ``CollectorRegistry`` (where the exporter allows it) and HTTP server. A
server this process started is remembered by address, so a later `configure()` asking for the same
host and port stops the earlier one before binding ("Address already in use" otherwise): the
configuration that owned it is being replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tracker.exceptions import ConfigError
from tracker.export._exit_flush import quietly

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricReader

__all__ = ["prometheus_reader"]

#: Prometheus servers started by this process, by (host, port): a later configure() asking for
#: the same address stops the earlier one before binding (its configuration is being replaced).
_servers: dict[tuple[str, int], Callable[[], None]] = {}


def prometheus_reader(port: int, host: str, stoppers: list[Callable[[], object]]
                      ) -> tuple[MetricReader, tuple[str, int]]:
    """A reader served on ``http://{host}:{port}/metrics`` and the address it is served on.

    Appends the server's stop function to `stoppers`. Raises ``ConfigError("prometheus_port")``
    when the extra is missing or the address cannot be bound.
    """
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import CollectorRegistry, start_http_server
    except ImportError as exc:
        raise ConfigError("prometheus_port", "serving metrics to Prometheus needs the "
                          "opentelemetry-exporter-prometheus package: pip install "
                          f"'llm-energy-tracker[prometheus]' ({exc})") from exc
    registry = CollectorRegistry(auto_describe=True)
    try:
        reader = PrometheusMetricReader(registry=registry)
    except TypeError:  # older exporter versions always use the global registry
        from prometheus_client import REGISTRY

        registry, reader = REGISTRY, PrometheusMetricReader()
    if port:  # a server this process started on this address earlier: release it first
        previous = _servers.pop((host, port), None)
        if previous is not None:
            quietly(previous)
    try:
        started = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        quietly(reader.shutdown)
        raise ConfigError("prometheus_port", f"cannot serve on {host}:{port}: {exc}") from exc
    address = (host, port)
    if isinstance(started, tuple):  # prometheus-client >= 0.20 returns (server, thread)
        server = started[0]
        address = (host, int(server.server_address[1]))
        stopped: list[bool] = []

        def stop() -> None:
            if stopped:
                return
            stopped.append(True)
            if _servers.get(address) is stop:
                del _servers[address]
            server.shutdown()
            server.server_close()

        stoppers.append(stop)
        _servers[address] = stop
    return reader, address
