"""Instrumentation: the integration registry and the generic wrapper integrations are built on."""

from tracker.instrumentation._registry import (
    DISABLES,
    INTEGRATIONS,
    instrument,
    instrumented,
    uninstrument,
)
from tracker.instrumentation._wrapper import Endpoint, Patcher, Usage, make_wrapper

__all__ = [
    "DISABLES",
    "INTEGRATIONS",
    "Endpoint",
    "Patcher",
    "Usage",
    "instrument",
    "instrumented",
    "make_wrapper",
    "uninstrument",
]
