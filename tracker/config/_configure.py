"""`configure()`: the SDK's one configuration, validated eagerly, replaced atomically.

Precedence for every option: the keyword argument, then the environment variable
``TRACKER_<OPTION>`` (e.g. ``TRACKER_PUE=1.1``), then the default. Deployment values (hardware,
region, PUE, water) have one more layer below the configured value: the assumed deployment of the
call's provider (`tracker.deployments`), then the energy model's defaults.

A bad value raises `tracker.ConfigError` (a `ValueError`) naming the field, at configure time,
never later inside a tracked call. Without any `configure()` call the SDK builds a default
configuration from the environment on first use (that lazy path logs a bad environment value
instead of raising, and does not auto-instrument).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Final

from tracker import _internal_errors as internal_errors
from tracker.config._parsers import PARSERS, LabelValue, env_value, parse_instrument, parse_labels
from tracker.exceptions import ConfigError
from tracker.export._ledger import DEFAULT_LEDGER_PATH, LedgerWriter, validate_ledger_path
from tracker.export._telemetry import Telemetry, has_real_tracer_provider

__all__ = ["UNSET", "Config", "configure", "get_config", "reset", "shutdown"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: "Not given" for `ledger`, where None means "disabled".
UNSET: Final = _Unset()

_LEDGER_OFF = {"", "0", "false", "no", "off", "none"}


@dataclass(frozen=True)
class Config:
    """The SDK's effective configuration (frozen; `configure()` returns a new one)."""

    #: Default model name for calls that report none (TRACKER_MODEL).
    model: str | None = None
    #: Accelerator name from the hardware registry; None: provider default, else h100.
    hardware: str | None = None
    #: Grid region (registry name or country code); None: provider default, else world average.
    region: str | None = None
    #: Data-centre PUE (>= 1); None: provider default, else 1.2.
    pue: float | None = None
    #: Host CPU/DRAM/idle energy as a fraction of accelerator energy; None: 0.6 calibrated, 0 flops.
    host_overhead: float | None = None
    #: Energy method: "calibrated" (fitted to measured serving energy) or "flops" (seed floor).
    method: str = "calibrated"
    #: Concurrent sequences per replica; None: the calibrated default with a range around it.
    batch_size: float | None = None
    #: Serving precision (bf16, fp8, ...); None: the model's registry precision.
    precision: str | None = None
    #: Accelerators per model replica; None: derived from model size and accelerator memory.
    gpus: int | None = None
    #: Grid intensity in gCO2e/kWh, overriding the region's value.
    carbon_intensity: float | None = None
    #: Electricity price in USD/kWh, overriding the region's price.
    price_usd_per_kwh: float | None = None
    #: On-site water, litres per IT kWh; None: provider default, else 1.0.
    wue: float | None = None
    #: Labels added to every span, log record and ledger line (env: JSON or k=v,k=v).
    labels: Mapping[str, LabelValue] = field(default_factory=lambda: MappingProxyType({}))
    #: Master switch; False makes every wrapper call straight through.
    enabled: bool = True
    #: OpenTelemetry TracerProvider to use; None: the global one.
    tracer_provider: Any = None
    #: OpenTelemetry MeterProvider to use; None: the global one.
    meter_provider: Any = None
    #: OpenTelemetry LoggerProvider to use; None: the global one.
    logger_provider: Any = None
    #: Absolute path of the JSON Lines ledger, or None when off. Option values: "auto" (default:
    #: ./llm-energy-ledger.jsonl only when no real TracerProvider is passed or set globally),
    #: a path, or None/False/"" to disable.
    ledger: str | None = None
    #: Re-raise the SDK's internal errors instead of logging them (for tests only).
    strict: bool = False
    #: Instrument installed provider libraries on configure(): True (all), False, or names.
    instrument: bool | tuple[str, ...] = True
    #: Let integrations add stream_options={"include_usage": True} to streaming requests.
    stream_usage: bool = False
    #: TOML or JSON file of extra registry entries, loaded on configure().
    registry_file: str | None = None
    #: Live grid intensity provider: "electricitymaps", "uk", or None (registry figures only).
    grid: str | None = None
    #: Base URL of the grid provider's API (None: the provider's public URL).
    grid_api_url: str | None = None
    #: Electricity Maps API token (else ELECTRICITYMAPS_API_TOKEN); never shown or emitted.
    grid_api_token: str | None = field(default=None, repr=False)
    #: Grid zone to follow (None: the region's Electricity Maps zone; "GB" for "uk").
    grid_zone: str | None = None
    #: Seconds between live grid refreshes (>= 1).
    grid_ttl_s: float = 900.0
    #: OTLP base URL for all three signals when the app has no OTel providers (else OTEL_* env).
    otlp_endpoint: str | None = None
    #: OTLP protocol, "http/protobuf" or "grpc" (None: OTEL_EXPORTER_OTLP_PROTOCOL, else HTTP).
    protocol: str | None = None
    #: Serve metrics for Prometheus on 127.0.0.1:<port>/metrics (0: a free port); None: off.
    prometheus_port: int | None = None
    #: service.name of the providers the SDK builds itself (else OTEL_SERVICE_NAME).
    service_name: str | None = None


@dataclass(frozen=True)
class Runtime:
    """What one configuration resolved to: the Config, its telemetry and its pricer caches."""

    config: Config
    telemetry: Telemetry
    labels: dict[str, LabelValue]
    #: (model, provider) -> priced entry; filled lazily by tracker.usage, dropped on configure().
    pricers: dict[Any, Any] = field(default_factory=dict)
    #: Registry name of the region a live grid reading applies to (None: no live grid).
    live_region: str | None = None
    #: Providers the SDK built itself (tracker.exporters.OwnedProviders), shut down by it.
    owned: Any = None


_lock = threading.RLock()
_runtime: Runtime | None = None


_PROVIDERS = ("tracer_provider", "meter_provider", "logger_provider")


def _resolve(options: dict[str, Any], *, use_env: bool = True) -> dict[str, Any]:
    """Apply argument > environment > default and parse every value (raises ConfigError)."""
    values: dict[str, Any] = {}
    for f in fields(Config):
        name = f.name
        arg = options.get(name, UNSET if name == "ledger" else None)
        raw = arg
        missing = arg is UNSET if name == "ledger" else arg is None
        if missing and use_env and name not in _PROVIDERS:
            env = env_value(name)
            if env is not None:
                raw = env
        if name == "ledger":
            values[name] = "auto" if raw is UNSET else raw
        elif name == "labels":
            values[name] = MappingProxyType(parse_labels(raw) if raw is not None else {})
        elif name == "instrument":
            values[name] = True if raw is None else parse_instrument(raw)
        elif raw is None:
            values[name] = f.default
        elif name in PARSERS:
            values[name] = PARSERS[name](name, raw)
        else:
            values[name] = raw
    return values


def _ledger_path(value: object, tracer_provider: object) -> str | None:
    if value is None or value is False:
        return None
    if isinstance(value, str) and value.strip().lower() in _LEDGER_OFF:
        return None
    if isinstance(value, str) and value.strip().lower() == "auto":
        if has_real_tracer_provider(tracer_provider):
            return None
        return str(os.path.abspath(DEFAULT_LEDGER_PATH))
    if value is True:
        return validate_ledger_path(DEFAULT_LEDGER_PATH)
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError("ledger", f"must be a path, 'auto', or None/False, got {value!r}")
    return validate_ledger_path(value)


def _validate_pricing(values: Mapping[str, Any]) -> str:
    """Build one pricer from the configured deployment so a bad value raises now.

    Returns the registry name of the configured (or default) region.
    """
    from tracker.model._estimate import pricer

    return pricer(
        values["model"], hardware=values["hardware"], precision=values["precision"],
        gpus=values["gpus"], batch_size=values["batch_size"], method=values["method"],
        pue=values["pue"], host_overhead=values["host_overhead"], region=values["region"],
        carbon_intensity=values["carbon_intensity"],
        price_usd_per_kwh=values["price_usd_per_kwh"], wue=values["wue"], unknown_model="fallback",
    ).region


def _configure_grid(values: Mapping[str, Any], region: str) -> str | None:
    """Start (or stop) live grid intensity; returns the region it applies to."""
    if values["grid"] is None and "tracker.grid._refresher" not in sys.modules:
        return None  # never configured: do not import the network code
    from tracker.grid import _refresher as grid
    from tracker.model._registry import get_registry

    zone = values["grid_zone"] or get_registry().region(region).electricitymaps_zone
    refresher = grid.configure_grid(values["grid"], values["grid_api_url"],
                                    values["grid_api_token"], zone, values["grid_ttl_s"])
    return region if refresher is not None else None


def _build(options: dict[str, Any], *, use_env: bool = True, configure_grid: bool = True,
           ) -> Runtime:
    values = _resolve(options, use_env=use_env)
    if values["registry_file"] is not None:
        from tracker.model._registry import load_registry_file

        load_registry_file(values["registry_file"])
    region = _validate_pricing(values)
    explicit_ledger = values["ledger"] not in ("auto", "AUTO")
    owned = _owned_providers(values)
    providers = {name: values[name] for name in _PROVIDERS}
    if owned is not None:  # the app set nothing up: export through the SDK's own providers
        for name in _PROVIDERS:
            if providers[name] is None:
                providers[name] = getattr(owned, name)
    try:
        ledger_path = _ledger_path(values["ledger"], providers["tracer_provider"])
        values["ledger"] = ledger_path
        config = Config(**values)
        writer = None
        if config.ledger is not None:
            writer = LedgerWriter(config.ledger, open_now=explicit_ledger)
        telemetry = Telemetry(ledger=writer, **providers)
        live_region = _configure_grid(values, region) if configure_grid else None
    except BaseException:
        if owned is not None:
            owned.shutdown(timeout_s=0.5)
        raise
    return Runtime(config=config, telemetry=telemetry, labels=dict(config.labels),
                   live_region=live_region, owned=owned)


def _owned_providers(values: Mapping[str, Any]) -> Any:
    """Build exporting providers from the options or OTEL_* env when the app has none."""
    if all(values[name] is not None for name in _PROVIDERS):
        return None
    from tracker.export import _providers as exporters

    asked = values["otlp_endpoint"] is not None or values["prometheus_port"] is not None
    if not asked and exporters.app_has_providers():
        return None  # the application's global providers are used
    owned = exporters.build_providers(
        otlp_endpoint=values["otlp_endpoint"], protocol=values["protocol"],
        prometheus_port=values["prometheus_port"], service_name=values["service_name"])
    if owned is not None:
        atexit.register(owned.shutdown)
    return owned


def _release(runtime: Runtime | None) -> None:
    """Shut down the providers an old runtime built (bounded; see tracker.exporters)."""
    if runtime is not None and runtime.owned is not None:
        with internal_errors.guard("config.release_providers"):
            runtime.owned.shutdown()


def _instrument_providers(instrument: bool | tuple[str, ...]) -> None:
    if instrument is False:
        return
    try:
        from tracker.instrumentation import _registry as instrumentation
    except ImportError:
        return
    if instrument is True:
        with internal_errors.guard("configure.instrument"):
            instrumentation.instrument()
    else:
        instrumentation.instrument(*instrument)


# ----------------------------------------------------------------------------- public API


def configure(
    *,
    model: str | None = None,
    hardware: str | None = None,
    region: str | None = None,
    pue: float | None = None,
    host_overhead: float | None = None,
    method: str | None = None,
    batch_size: float | None = None,
    precision: str | None = None,
    gpus: int | None = None,
    carbon_intensity: float | None = None,
    price_usd_per_kwh: float | None = None,
    wue: float | None = None,
    labels: Mapping[str, LabelValue] | str | None = None,
    enabled: bool | None = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    logger_provider: Any = None,
    ledger: str | os.PathLike[str] | bool | _Unset | None = UNSET,
    strict: bool | None = None,
    instrument: bool | Sequence[str] | None = None,
    stream_usage: bool | None = None,
    registry_file: str | os.PathLike[str] | None = None,
    grid: str | None = None,
    grid_api_url: str | None = None,
    grid_api_token: str | None = None,
    grid_zone: str | None = None,
    grid_ttl_s: float | None = None,
    otlp_endpoint: str | None = None,
    protocol: str | None = None,
    prometheus_port: int | None = None,
    service_name: str | None = None,
) -> Config:
    """Configure the SDK and return the frozen `Config`; replaces any previous configuration.

    Every option falls back to ``TRACKER_<OPTION>`` in the environment, then to its default
    (see `Config` for each option's meaning and default). Raises `ConfigError` naming the field.
    With `instrument` true (the default) the installed provider integrations are enabled.
    """
    options = {k: v for k, v in locals().items()}
    global _runtime
    with _lock:
        runtime = _build(options)
        internal_errors.set_strict(runtime.config.strict)
        previous, _runtime = _runtime, runtime
    _release(previous)
    _instrument_providers(runtime.config.instrument)
    return runtime.config


def get_runtime() -> Runtime:
    """The current runtime, building the default (environment-only) one on first use."""
    runtime = _runtime
    if runtime is not None:
        return runtime
    return _lazy_default()


def _lazy_default() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            try:
                runtime = _build({})
            except Exception as exc:  # a bad environment must not break the application
                try:
                    internal_errors.report("config.environment", exc)
                finally:
                    runtime = _build({}, use_env=False, configure_grid=False)
            internal_errors.set_strict(runtime.config.strict)
            _runtime = runtime
        return _runtime


def get_config() -> Config:
    """The current configuration (the lazily built default when `configure()` was not called)."""
    return get_runtime().config


def shutdown() -> None:
    """Flush and close what the SDK owns: its own exporting providers, the ledger, the grid thread.

    Tracking keeps working afterwards (the ledger reopens on the next write, intensities come
    from the registry), but the SDK's own exporters stay stopped until the next `configure()`.
    Providers passed to `configure()` belong to the application: shut them down yourself.
    """
    runtime = _runtime
    if runtime is not None and runtime.telemetry.ledger is not None:
        with internal_errors.guard("shutdown.ledger"):
            runtime.telemetry.ledger.close()
    _release(runtime)
    grid = sys.modules.get("tracker.grid._refresher")
    if grid is not None:
        with internal_errors.guard("shutdown.grid"):
            grid.shutdown()


def reset() -> None:
    """Forget the configuration and close the ledger (for tests); the next use rebuilds it."""
    global _runtime
    with _lock:
        shutdown()
        _runtime = None
        internal_errors.set_strict(False)
        internal_errors.reset_seen()
