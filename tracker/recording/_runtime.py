"""The runtime: the one object holding the SDK's process state, and its lifecycle.

A `Runtime` is what one configuration resolved to: the frozen `Config`, its `Telemetry` (tracer,
instruments, logger, ledger), the providers the SDK built itself, the live grid refresher, and
the pricing cache of the calls. `get_runtime()` is the hot path's one read of the configuration
(a module attribute load once configured); `install()` swaps in a new runtime atomically and
releases the old one's resources; `reset()` forgets everything (tests).

Caches that depend on the registries are checked against the registry's generation on use, so
registering a model, accelerator or region takes effect on the very next call.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from tracker import _internal_errors
from tracker.config._options import Config, env_name
from tracker.config._resolve import resolve
from tracker.exceptions import ConfigError
from tracker.export._global_providers import has_real_tracer_provider
from tracker.export._ledger import DEFAULT_LEDGER_PATH, LedgerWriter, validate_ledger_path
from tracker.export._otlp_env import otlp_endpoint_in_env
from tracker.export._telemetry import Telemetry
from tracker.model._deployment import Deployment

__all__ = ["BoundedCache", "Runtime", "build", "build_lenient", "get_runtime", "install",
           "report_set_aside", "reset", "shutdown"]

_PROVIDERS = ("tracer_provider", "meter_provider", "logger_provider")
_FIELDS = frozenset(f.name for f in dataclasses.fields(Config))


class BoundedCache(dict[Any, Any]):
    """The SDK's one cache rule: a dict that empties itself when it reaches `limit` entries.

    Keys are low-cardinality in practice (models, providers, operations); a workload that
    produces unbounded keys costs a rebuild now and then, never unbounded memory.
    """

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: Any, value: Any) -> Any:
        """Store and return `value`, emptying the cache first when it is full."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


@dataclass(eq=False)
class Runtime:
    """Everything one configuration resolved to."""

    config: Config
    telemetry: Telemetry
    deployment: Deployment
    labels: dict[str, Any]
    #: (model, provider) -> priced entry (tracker.recording._calls); see `pricers_for()`.
    pricers: BoundedCache = field(default_factory=lambda: BoundedCache(4096))
    #: (operation, provider, request model, server, local serving) -> (priced entry, its
    #: constant telemetry): what a call of that kind looks up (tracker.recording._calls).
    plans: BoundedCache = field(default_factory=lambda: BoundedCache(4096))
    #: Registry generation the pricers were built against.
    generation: int = -1
    #: Registry name of the region a live grid reading applies to (None: no live grid).
    live_region: str | None = None
    #: The live grid refresher (tracker.grid), when one is configured.
    grid: Any = None
    #: Providers the SDK built itself (tracker.export._providers.OwnedProviders), shut down by it.
    owned: Any = None
    #: The measured-energy meter (tracker.measure.Meter) when `measure_gpus` is set, else None.
    meter: Any = None

    def pricers_for(self, generation: int) -> BoundedCache:
        """The pricing cache, emptied first if the registries changed since it was filled."""
        if generation != self.generation:
            self.pricers.clear()
            self.plans.clear()
            self.generation = generation
        return self.pricers


_lock = threading.RLock()
_runtime: Runtime | None = None


def _ledger_path(value: str | None, tracer_provider: object) -> str | None:
    if value is None:
        return None
    if value == "auto":
        if has_real_tracer_provider(tracer_provider):
            return None
        return os.path.abspath(DEFAULT_LEDGER_PATH)
    return validate_ledger_path(value)


def _owned_providers(config: Config) -> Any:
    """Exporting providers from the options or OTEL_* env when the application has none."""
    if all(getattr(config, name) is not None for name in _PROVIDERS):
        return None
    asked = config.otlp_endpoint is not None or config.prometheus_port is not None
    if not asked and config.protocol is None and not otlp_endpoint_in_env():
        return None  # nothing to export to: the export code stays unloaded
    from tracker.export import _providers

    if not asked and _providers.app_has_providers():
        return None  # the application's global providers are used
    owned = _providers.build_providers(
        otlp_endpoint=config.otlp_endpoint, protocol=config.protocol,
        prometheus_port=config.prometheus_port, service_name=config.service_name)
    if owned is not None:
        atexit.register(owned.shutdown)
    return owned


def _validate_pricing(config: Config) -> str | None:
    """Build one pricer from the configured deployment so a bad value raises now.

    Returns the registry name of the configured (or default) region. With no model and no
    deployment option set there is nothing to check (the defaults are the registry's own), so
    the registry and the energy model are left to load on the first priced call: None.
    """
    if config.model is None and config.deployment == Config().deployment:
        return None
    from tracker.model._estimate import pricer

    return pricer(config.model, unknown_model="fallback",
                  **config.deployment.pricer_kwargs()).region


def _configure_grid(config: Config, region: str | None) -> tuple[Any, str | None]:
    if config.grid_api_token is not None or "tracker.grid._forecast" in sys.modules:
        from tracker.grid import _forecast

        _forecast.set_configured_token(config.grid_api_token)
    if config.grid is None and "tracker.grid._refresher" not in sys.modules:
        return None, None  # never configured: do not import the network code
    from tracker.grid import _refresher
    from tracker.model._estimate import pricer
    from tracker.model._registry import get_registry

    if region is None:  # the default deployment (`_validate_pricing`): its region
        region = pricer(None, unknown_model="fallback").region
    zone = config.grid_zone or get_registry().region(region).electricitymaps_zone
    refresher = _refresher.configure_grid(config.grid, config.grid_api_url,
                                          config.grid_api_token, zone, config.grid_ttl_s)
    return refresher, (region if refresher is not None else None)


def build(config: Config, *, with_grid: bool = True) -> Runtime:
    """Resolve `config` into a runtime: registry file, pricing check, providers, ledger, grid."""
    if config.registry_file is not None:
        from tracker.model._registry import load_registry_file

        load_registry_file(config.registry_file)
    region = _validate_pricing(config)
    owned = _owned_providers(config)
    providers = {name: getattr(config, name) for name in _PROVIDERS}
    if owned is not None:  # the app set nothing up: export through the SDK's own providers
        for name in _PROVIDERS:
            if providers[name] is None:
                providers[name] = getattr(owned, name)
    writer = None
    try:
        explicit_ledger = config.ledger not in (None, "auto")
        path = _ledger_path(config.ledger, providers["tracer_provider"])
        config = config.replace(ledger=path)
        if path is not None:
            writer = LedgerWriter(path, open_now=explicit_ledger)
        telemetry = Telemetry(ledger=writer, **providers)
        grid, live_region = _configure_grid(config, region) if with_grid else (None, None)
    except BaseException:
        if writer is not None:
            writer.close()
        if owned is not None:
            owned.shutdown(timeout_s=0.5)
        raise
    return Runtime(config=config, telemetry=telemetry, deployment=config.deployment,
                   labels=dict(config.labels), live_region=live_region, grid=grid, owned=owned,
                   meter=_meter(config))


def _meter(config: Config) -> Any:
    """The measured-energy meter for `measure_gpus` (it never raises; see `Meter.status`)."""
    if not config.measure_gpus:
        return None
    from tracker.measure import start_meter

    return start_meter(config.measure_gpus)


def install(runtime: Runtime) -> None:
    """Make `runtime` current and release what the previous one held."""
    global _runtime
    with _lock:
        _internal_errors.set_strict(runtime.config.strict)
        previous, _runtime = _runtime, runtime
    _release(previous, keep=runtime)


def _release(runtime: Runtime | None, keep: Runtime | None = None) -> None:
    """Close an old runtime's ledger and shut down the providers it built (bounded)."""
    if runtime is None:
        return
    ledger = runtime.telemetry.ledger
    if ledger is not None and (keep is None or keep.telemetry.ledger is not ledger):
        with _internal_errors.guard("config.release_ledger"):
            ledger.close()
    if runtime.owned is not None and (keep is None or keep.owned is not runtime.owned):
        with _internal_errors.guard("config.release_providers"):
            runtime.owned.shutdown()
    if runtime.meter is not None and (keep is None or keep.meter is not runtime.meter):
        runtime.meter.close()


def get_runtime() -> Runtime:
    """The current runtime, building the default (environment-only) one on first use."""
    runtime = _runtime
    if runtime is not None:
        return runtime
    return _lazy_default()


def build_lenient(config: Config, errors: list[Exception]) -> Runtime:
    """`build(config)`, setting aside each setting that fails validation and keeping the others.

    A `ConfigError` naming a setting that differs from its default puts that one setting back to
    its default (a ledger path: no ledger) and builds again (each setting at most once); any
    other failure falls back to the defaults with the settings that cannot fail kept (on/off,
    strict mode, labels).
    """
    defaults = Config()
    for _ in range(len(dataclasses.fields(Config)) + 1):
        try:
            return build(config)
        except ConfigError as exc:
            errors.append(exc)
            name = exc.field.split(".", 1)[0]
            if name not in _FIELDS or getattr(config, name) == getattr(defaults, name):
                break
            # a ledger path that cannot be written is set aside, not moved to the working directory
            config = config.replace(**{name: None if name == "ledger" else getattr(defaults, name)})
        except Exception as exc:  # a bad environment must not break the application
            errors.append(exc)
            if config.registry_file is None:
                break
            # the registry file is the one thing build() loads: set it aside, keep the rest
            # (TRACKER_LEDGER="" keeps the ledger off)
            config = config.replace(registry_file=None)
    safe = defaults.replace(enabled=config.enabled, strict=config.strict, labels=config.labels)
    try:
        return build(safe, with_grid=False)
    except Exception as exc:
        errors.append(exc)
        return build(defaults.replace(enabled=config.enabled, ledger=None), with_grid=False)


def report_set_aside(errors: list[Exception]) -> None:
    """Log each setting `build_lenient` (or the lenient `resolve`) set aside, once."""
    for error in errors:
        if isinstance(error, ConfigError):
            _internal_errors.logger.warning(
                "llm-energy-tracker: ignoring %s (%s); the other settings apply",
                env_name(error.field.split(".", 1)[0]), error)
        else:
            _internal_errors.report("config.environment", error)


def _lazy_default() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            errors: list[Exception] = []
            config_errors: list[ConfigError] = []
            try:
                config = resolve({}, errors=config_errors)
            except Exception as exc:  # a bad environment must not break the application
                errors.append(exc)
                config = Config()
            errors.extend(config_errors)
            runtime = build_lenient(config, errors)
            report_set_aside(errors)
            _internal_errors.set_strict(runtime.config.strict)
            _runtime = runtime
        return _runtime


def shutdown() -> None:
    """Flush and close what the SDK owns: its own exporting providers, the ledger, the grid."""
    runtime = _runtime
    if runtime is not None and runtime.telemetry.ledger is not None:
        with _internal_errors.guard("shutdown.ledger"):
            runtime.telemetry.ledger.close()
    if runtime is not None and runtime.owned is not None:
        with _internal_errors.guard("shutdown.providers"):
            runtime.owned.shutdown()
    if runtime is not None and runtime.meter is not None:
        runtime.meter.close()
    grid = sys.modules.get("tracker.grid._refresher")
    if grid is not None:
        with _internal_errors.guard("shutdown.grid"):
            grid.shutdown()


def reset() -> None:
    """Forget the configuration and close what it held (for tests); the next use rebuilds it."""
    global _runtime
    with _lock:
        shutdown()
        _runtime = None
        _internal_errors.set_strict(False)
        _internal_errors.reset_seen()
