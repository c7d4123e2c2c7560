"""Which tracer, meter and logger providers are set globally, read without calling the API.

`tracker.export._telemetry` follows the global providers (a provider the application sets, or
replaces, after `configure()` receives the next call's signals); it compares these three slots
on every call, so reading them must cost no more than three attribute loads, and must not call
the OpenTelemetry API (a call that emits nothing makes no API call).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry._logs import _internal as _logs_state
from opentelemetry.metrics import _internal as _metrics_state

__all__ = ["NO_OPS", "PROVIDER_ENV", "global_providers", "has_real_tracer_provider", "is_real"]

NO_OPS = (trace.NoOpTracerProvider, metrics.NoOpMeterProvider, _logs.NoOpLoggerProvider)
PROVIDER_ENV = ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER",
                "OTEL_PYTHON_LOGGER_PROVIDER")
#: The API's global provider slots can be read without calling it (opentelemetry-api >= 1.15);
#: otherwise the public getters are called (proxies then count as unset).
_READABLE = (hasattr(trace, "_TRACER_PROVIDER") and hasattr(_metrics_state, "_METER_PROVIDER")
             and hasattr(_logs_state, "_LOGGER_PROVIDER"))


def global_providers() -> tuple[Any, Any, Any]:
    """The global (tracer, meter, logger) providers as set; None where none is."""
    if _READABLE:
        return (trace._TRACER_PROVIDER,
                _metrics_state._METER_PROVIDER, _logs_state._LOGGER_PROVIDER)
    found = (trace.get_tracer_provider(), metrics.get_meter_provider(),  # pragma: no cover
             _logs.get_logger_provider())
    return tuple(None if "Proxy" in type(p).__name__ else p for p in found)  # type: ignore


def is_real(provider: Any) -> bool:
    """A provider that emits: set, and not a no-op one."""
    return provider is not None and not isinstance(provider, NO_OPS)


def has_real_tracer_provider(tracer_provider: object | None) -> bool:
    """Whether spans would go anywhere: a provider was passed or a real one is set globally."""
    if tracer_provider is not None:
        return not isinstance(tracer_provider, trace.NoOpTracerProvider)
    current = trace.get_tracer_provider()
    return not isinstance(current, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))
