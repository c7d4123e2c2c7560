"""llm-energy-tracker: energy (kWh), carbon (gCO2e) and cost (USD) of every LLM call."""

from __future__ import annotations

from tracker.config import Config, configure, get_config, reset, shutdown
from tracker.energy_model import CallPricer, Estimate, estimate
from tracker.exceptions import (
    ConfigError,
    IntegrationNotAvailable,
    TrackerError,
    UnknownHardwareError,
    UnknownModelError,
    UnknownRegionError,
)
from tracker.instrumentation import instrument, uninstrument
from tracker.registry import get_registry, load_registry_file, register
from tracker.response_usage import is_recorded, mark_recorded
from tracker.scope import EnergyScope, track_energy
from tracker.specs import HardwareSpec, ModelSpec, RegionSpec
from tracker.usage import LLMCall, record_usage, start_call

__version__ = "0.1.0"

__all__ = [
    "CallPricer",
    "Config",
    "ConfigError",
    "EnergyScope",
    "Estimate",
    "HardwareSpec",
    "IntegrationNotAvailable",
    "LLMCall",
    "ModelSpec",
    "RegionSpec",
    "TrackerError",
    "UnknownHardwareError",
    "UnknownModelError",
    "UnknownRegionError",
    "__version__",
    "configure",
    "estimate",
    "get_config",
    "get_registry",
    "instrument",
    "is_recorded",
    "load_registry_file",
    "mark_recorded",
    "record_usage",
    "register",
    "reset",
    "shutdown",
    "start_call",
    "track_energy",
    "uninstrument",
]
