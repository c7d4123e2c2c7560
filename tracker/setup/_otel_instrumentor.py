"""`TrackerInstrumentor`: the SDK as an OpenTelemetry instrumentor (``opentelemetry-instrument``).

Registered under the ``opentelemetry_instrumentor`` entry point, so
``opentelemetry-instrument python app.py`` turns the SDK on with no code change:
``instrument()`` runs `tracker.configure()` (its settings come from the ``TRACKER_*`` and
``OTEL_*`` environment variables, as always; a bad variable is logged and set aside, the others
apply, and nothing raises into the launcher, which would then skip the instrumentations loaded
after this one; the providers are the global ones the OpenTelemetry
distro set up, or those passed as ``tracer_provider=`` / ``meter_provider=`` /
``logger_provider=``), which instruments every installed client library the SDK has an
integration for, and adds an `EnergySpanProcessor` to the tracer provider, so the GenAI spans of
other instrumentations loaded alongside (the OpenTelemetry GenAI instrumentations, the
``anthropic`` client's own tracing...) are priced too. Calls the SDK's own integrations record are
never priced twice. ``instrument(price_spans=False)`` leaves the processor out.

The base class comes from ``opentelemetry-instrumentation`` (``pip install
llm-energy-tracker[otel]``). This module imports without it; `TrackerInstrumentor().instrument()`
then raises `IntegrationNotAvailable`.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any

from tracker import _internal_errors
from tracker.exceptions import IntegrationNotAvailable

__all__ = ["TrackerInstrumentor"]


class _MissingBase:
    """Stands in for ``BaseInstrumentor`` when opentelemetry-instrumentation is not installed."""

    def instrument(self, **kwargs: Any) -> None:
        """Always raises: the base class is missing."""
        raise IntegrationNotAvailable(
            "TrackerInstrumentor needs `pip install llm-energy-tracker[otel]` "
            "(opentelemetry-instrumentation)")

    def uninstrument(self, **kwargs: Any) -> None:
        """Nothing was instrumented."""


def _base() -> Any:
    try:
        module = importlib.import_module("opentelemetry.instrumentation.instrumentor")
    except ImportError:
        return _MissingBase
    return module.BaseInstrumentor


_Base: Any = _base()


class TrackerInstrumentor(_Base):  # type: ignore[misc]
    """`instrument()` configures the SDK from the environment; `uninstrument()` undoes it."""

    def instrumentation_dependencies(self) -> Collection[str]:
        """None: the SDK works with whichever client libraries are installed."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        # Never raise into the launcher: it would skip every instrumentation loaded after this one.
        with _internal_errors.guard("otel_instrumentor.instrument"):
            self._configure(**kwargs)

    @staticmethod
    def _configure(**kwargs: Any) -> None:
        from tracker.recording._span_pricing import EnergySpanProcessor, install_on_global_provider
        from tracker.setup._configure import configure_leniently

        providers = {key: kwargs[key] for key in ("tracer_provider", "meter_provider",
                                                  "logger_provider") if kwargs.get(key)}
        configure_leniently(**providers)
        if not kwargs.get("price_spans", True):
            return
        tracer_provider = providers.get("tracer_provider")
        if tracer_provider is None:
            install_on_global_provider()
        elif hasattr(tracer_provider, "add_span_processor"):
            tracer_provider.add_span_processor(EnergySpanProcessor())

    def _uninstrument(self, **kwargs: Any) -> None:
        from tracker.instrumentation._registry import uninstrument

        uninstrument()
