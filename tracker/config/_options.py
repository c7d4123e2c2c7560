"""The one table of configuration options: `Config`, whose fields are the options.

Each field of `Config` is declared once, with `option()`: its type (the annotation), its default,
the parser that validates a value (from an argument, or from ``TRACKER_<NAME>`` as a string) and
its help text. Everything else comes from this table: `configure()`'s keyword arguments and their
validation (`tracker.setup._configure`), the environment variables (`env_name()`), `repr()` with
secrets hidden, and the configuration reference in ``docs/configuration.md``
(`options_markdown()`, checked by a test). Adding an option is adding one field here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from tracker.config import _parsers as P
from tracker.config._budget_spec import Budget, budgets_option
from tracker.model._deployment import Deployment

__all__ = ["Config", "Option", "env_name", "option_specs", "options_markdown"]


@dataclass(frozen=True, slots=True)
class Option:
    """How one option is read: its parser, help text, and whether the environment sets it."""

    parse: Callable[[str, object], Any]
    help: str
    #: False for options that only code can pass (OpenTelemetry provider objects).
    env: bool = True
    #: Never shown by `repr()` or the docs' default column (tokens).
    secret: bool = False
    #: Shown in the docs' default column instead of the Python default.
    shown_default: str | None = None


def option(default: Any, parse: Callable[[str, object], Any], help: str, *, env: bool = True,
           secret: bool = False, factory: Callable[[], Any] | None = None,
           shown_default: str | None = None) -> Any:
    """A `Config` field: the option's default, parser and help (its table row)."""
    meta = {"option": Option(parse, help, env, secret, shown_default)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta, repr=not secret)
    return field(default=default, metadata=meta, repr=not secret)


_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


@dataclass(frozen=True)
class Config:
    """The SDK's effective configuration (frozen; `configure()` returns a new one)."""

    # -- the deployment each call is priced for (see `Deployment`)
    model: str | None = option(None, P.text, "Default model name for calls that report none.")
    hardware: str | None = option(
        None, P.text, "Accelerator from the hardware registry; unset: the provider's assumed "
        "hardware, else h100.")
    region: str | None = option(
        None, P.text, "Grid region (registry name such as `gcp:us-central1`, or a country code); "
        "unset: the provider's assumed region, else the world average.")
    pue: float | None = option(None, P.number, "Data-centre PUE (>= 1); unset: the provider's "
                               "figure, else 1.2.")
    host_overhead: float | None = option(
        None, P.number, "Host (CPUs, memory, fans, power supply) as a fraction of accelerator "
        "energy, replacing the modelled host; unset: modelled (`calibrated`), 0 (`flops`).")
    method: str = option("calibrated", P.text, "Energy method: `calibrated` (fitted to measured "
                         "serving energy) or `flops` (the seed formula, a floor).")
    batch_size: float | None = option(
        None, P.number, "Concurrent sequences per replica; unset: the calibrated default with a "
        "range around it.")
    precision: str | None = option(None, P.text, "Serving precision (bf16, fp8, ...); unset: the "
                                   "model's registry precision.")
    gpus: int | None = option(None, P.integer, "Accelerators per model replica; unset: derived "
                              "from model size and accelerator memory.")
    engine: str | None = option(
        None, P.text, "Serving engine profile: `vllm`, `vllm-async`, `vllm-0.4`, `sglang`, "
        "`tensorrt-llm`, `transformers`, `llama.cpp` or `mix` (unset: `mix`, the hosted-API mix "
        "whose spread widens the range).")
    power_limit_w: float | None = option(
        None, P.number, "Per-accelerator power cap in watts for capped deployments; unset: the "
        "TDP.")
    fleet_idle: float | None = option(
        None, P.number, "Provisioned idle capacity of a production fleet, as a share of server "
        "energy; unset: 0.12 (`calibrated`), 0 (`flops`); 0 for a dedicated busy server.")
    carbon_intensity: float | None = option(
        None, P.number, "Grid intensity in gCO2e/kWh, overriding the region's value.")
    price_usd_per_kwh: float | None = option(
        None, P.number, "Electricity price in USD/kWh, overriding the region's price.")
    wue: float | None = option(None, P.number, "On-site water, litres per IT kWh; unset: the "
                               "provider's figure, else 1.0.")
    # -- measured energy where the GPU is ours (the `measure` extra: nvidia-ml-py)
    measure_gpus: tuple[int, ...] | None = option(
        None, P.gpu_indices, "GPU indices whose energy counter (NVML) is read and divided between "
        "the calls in flight (`energy.measured.kwh`), for in-process or local self-hosted "
        "inference: a list or `0,1`; unset: nothing measured.")
    # -- what is recorded and where it goes
    labels: Mapping[str, P.LabelValue] = option(
        None, P.labels, "Labels added to every span, log record and ledger line (JSON object or "
        "`k=v,k=v`).", factory=lambda: MappingProxyType({}), shown_default="{}")
    enabled: bool = option(True, P.boolean, "Master switch; false makes every wrapper call "
                           "straight through.")
    ledger: str | None = option(
        "auto", P.ledger, "JSON Lines ledger path; `auto` writes `./llm-energy-ledger.jsonl` "
        "only when no real TracerProvider is set; empty, `false` or None: off.")
    instrument: bool | tuple[str, ...] = option(
        True, P.instrument, "Instrument installed client libraries on configure(): true (all), "
        "false, or names (`openai,anthropic`).")
    stream_usage: bool = option(
        False, P.boolean, "Let integrations ask streaming requests for a final usage chunk "
        "(`stream_options.include_usage`).")
    legacy_cache_creation: bool = option(
        True, P.boolean, "Also emit cache writes under their earlier GenAI name "
        "`gen_ai.usage.cache_creation.input_tokens`, beside `gen_ai.usage.cache_write."
        "input_tokens`, for dashboards not yet moved; false: the current name only.")
    chunk_metrics: bool = option(
        False, P.boolean, "Record `gen_ai.client.operation.time_per_output_chunk`: one histogram "
        "measurement per streamed chunk (about 100k instructions each in the OpenTelemetry SDK, "
        "several times a whole call's cost on a long stream); the time to the first chunk is "
        "always recorded.")
    registry_file: str | None = option(None, P.text, "TOML or JSON file of extra registry "
                                       "entries, loaded on configure().")
    strict: bool = option(False, P.boolean, "Re-raise the SDK's internal errors instead of "
                          "logging them (for tests).")
    budgets: tuple[Budget, ...] = option(
        None, budgets_option, "Carbon, energy and cost budgets per label and period: "
        "`tracker.Budget` specs, or text such as `team=search:500gCO2e/day,10USD/hour!raise`.",
        factory=tuple, shown_default="()")
    # -- OpenTelemetry
    tracer_provider: Any = option(None, P.tracer_provider, "OpenTelemetry TracerProvider; "
                                  "unset: the global one.", env=False)
    meter_provider: Any = option(None, P.meter_provider, "OpenTelemetry MeterProvider; unset: "
                                 "the global one.", env=False)
    logger_provider: Any = option(None, P.logger_provider, "OpenTelemetry LoggerProvider; "
                                  "unset: the global one.", env=False)
    otlp_endpoint: str | None = option(
        None, P.url, "OTLP base URL for all three signals when the application set up no "
        "providers (else the `OTEL_*` variables).")
    protocol: str | None = option(None, P.text, "OTLP protocol, `http/protobuf` or `grpc`; "
                                  "unset: OTEL_EXPORTER_OTLP_PROTOCOL, else HTTP.")
    prometheus_port: int | None = option(
        None, P.port, "Serve metrics for Prometheus on 127.0.0.1:PORT/metrics (0: a free port).")
    service_name: str | None = option(None, P.text, "`service.name` of the providers the SDK "
                                      "builds itself (else OTEL_SERVICE_NAME).")
    price_spans: bool = option(
        False, P.boolean, "Add an `EnergySpanProcessor` to the global tracer provider: price the "
        "GenAI spans other instrumentations emit.")
    # -- live grid intensity
    grid: str | None = option(None, P.text, "Live grid intensity provider: `electricitymaps`, "
                              "`uk`, or unset (registry figures only).")
    grid_api_url: str | None = option(None, P.url, "Base URL of the grid provider's API; unset: "
                                      "its public URL.")
    grid_api_token: str | None = option(
        None, P.text, "Electricity Maps API token (else ELECTRICITYMAPS_API_TOKEN); never shown "
        "or emitted.", secret=True)
    grid_zone: str | None = option(None, P.text, "Grid zone to follow; unset: the region's "
                                   "Electricity Maps zone (`GB` for `uk`).")
    grid_ttl_s: float = option(900.0, P.ttl, "Seconds between live grid refreshes (>= 1).")

    def __repr__(self) -> str:
        """The options, with secrets left out and credentials in URLs masked."""
        parts = []
        for f in fields(self):
            if not f.repr:
                continue
            value = getattr(self, f.name)
            if isinstance(value, str):
                value = _URL_CREDENTIALS.sub("***@", value)
            if isinstance(value, MappingProxyType):
                value = dict(value)
            parts.append(f"{f.name}={value!r}")
        return f"Config({', '.join(parts)})"

    @property
    def deployment(self) -> Deployment:
        """The deployment every call is priced for, as configured.

        Provider defaults apply underneath to what is unset.
        """
        return Deployment(**{name: getattr(self, name) for name in Deployment.field_names()})

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (no validation: for the SDK's own use)."""
        return dataclasses.replace(self, **changes)


def env_name(name: str) -> str:
    """The environment variable of option `name`."""
    return f"TRACKER_{name.upper()}"


def option_specs() -> list[tuple[dataclasses.Field[Any], Option]]:
    """Every option, in table order, with its spec."""
    return [(f, f.metadata["option"]) for f in fields(Config)]


def _shown_default(f: dataclasses.Field[Any], spec: Option) -> str:
    if spec.shown_default is not None:
        return spec.shown_default
    value = f.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def options_markdown() -> str:
    """The configuration reference table (Markdown), generated from `Config`."""
    rows = ["| option | environment variable | default | meaning |", "|---|---|---|---|"]
    for f, spec in option_specs():
        env = f"`{env_name(f.name)}`" if spec.env else "(code only)"
        rows.append(f"| `{f.name}` | {env} | `{_shown_default(f, spec)}` | {spec.help} |")
    return "\n".join(rows) + "\n"
