"""llm-energy-tracker: energy (kWh), carbon (gCO2e) and cost (USD) of every LLM call.

The public names below load their modules on first use (PEP 562), so ``import tracker`` costs
next to nothing; ``tracker.configure()`` or the first tracked call pays for the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker._version import VERSION as __version__
    from tracker.config._budget_spec import Budget
    from tracker.exceptions import (
        BudgetExceeded,
        ConfigError,
        IntegrationNotAvailable,
        TrackerError,
        UnknownHardwareError,
        UnknownModelError,
        UnknownRegionError,
    )
    from tracker.footprint._price import price_usage
    from tracker.grid._providers import GridError
    from tracker.instrumentation._registry import instrument, uninstrument
    from tracker.model._estimate import CallPricer, Estimate
    from tracker.model._registry import get_registry, load_registry_file, register
    from tracker.model._specs import HardwareSpec, ModelSpec, RegionSpec
    from tracker.model._training import TrainingEstimate, estimate_training
    from tracker.recording._calls import LLMCall, record_usage, start_call
    from tracker.recording._enriching_exporter import EnergyEnrichingSpanExporter
    from tracker.recording._returned import is_recorded, mark_recorded
    from tracker.recording._scope import EnergyScope
    from tracker.recording._span_pricing import EnergySpanProcessor
    from tracker.reduce._compare import compare
    from tracker.reduce._timing import best_window, carbon_aware
    from tracker.reduce._track import track_energy
    from tracker.setup._configure import Config, configure, get_config, reset, shutdown
    from tracker.setup._estimate import estimate


#: public subpackages reachable as attributes of ``tracker`` without importing them first
#: public name -> the module that defines it
_SOURCES: dict[str, str] = {
    **dict.fromkeys(("Config", "configure", "get_config", "reset", "shutdown"),
                    "setup._configure"),
    **dict.fromkeys(("CallPricer", "Estimate"), "model._estimate"),
    "estimate": "setup._estimate",
    **dict.fromkeys(("BudgetExceeded", "ConfigError", "IntegrationNotAvailable", "TrackerError",
                     "UnknownHardwareError", "UnknownModelError", "UnknownRegionError"),
                    "exceptions"),
    **dict.fromkeys(("instrument", "uninstrument"), "instrumentation._registry"),
    **dict.fromkeys(("get_registry", "load_registry_file", "register"), "model._registry"),
    **dict.fromkeys(("is_recorded", "mark_recorded"), "recording._returned"),
    "EnergyScope": "recording._scope",
    "track_energy": "reduce._track",
    **dict.fromkeys(("HardwareSpec", "ModelSpec", "RegionSpec"), "model._specs"),
    **dict.fromkeys(("TrainingEstimate", "estimate_training"), "model._training"),
    **dict.fromkeys(("LLMCall", "record_usage", "start_call"), "recording._calls"),
    "Budget": "config._budget_spec",
    "GridError": "grid._providers",
    "EnergyEnrichingSpanExporter": "recording._enriching_exporter",
    "EnergySpanProcessor": "recording._span_pricing",
    "compare": "reduce._compare",
    "price_usage": "footprint._price",
    **dict.fromkeys(("best_window", "carbon_aware"), "reduce._timing"),
}

#: Public submodules reachable as attributes after a plain ``import tracker``.
_SUBMODULES = ("testing", "integration", "grid")

__all__ = [
    "Budget",
    "BudgetExceeded",
    "CallPricer",
    "Config",
    "ConfigError",
    "EnergyEnrichingSpanExporter",
    "EnergyScope",
    "EnergySpanProcessor",
    "Estimate",
    "GridError",
    "HardwareSpec",
    "IntegrationNotAvailable",
    "LLMCall",
    "ModelSpec",
    "RegionSpec",
    "TrackerError",
    "TrainingEstimate",
    "UnknownHardwareError",
    "UnknownModelError",
    "UnknownRegionError",
    "__version__",
    "best_window",
    "carbon_aware",
    "compare",
    "configure",
    "estimate",
    "estimate_training",
    "get_config",
    "get_registry",
    "instrument",
    "is_recorded",
    "load_registry_file",
    "mark_recorded",
    "price_usage",
    "record_usage",
    "register",
    "reset",
    "shutdown",
    "start_call",
    "track_energy",
    "uninstrument",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # tracker._version, the one place it is written
        from tracker._version import VERSION

        globals()[name] = VERSION
        return VERSION
    if name in _SUBMODULES:  # `import tracker` then `tracker.testing.capture()`
        module = importlib.import_module(f"tracker.{name}")
        globals()[name] = module
        return module
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'tracker' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tracker.{source}"), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
