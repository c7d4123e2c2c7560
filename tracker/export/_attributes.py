"""Every attribute, metric and event name the SDK emits: the public contract of telemetry.md.

This is the one module that defines the ``energy.`` namespace. Standard facts use the
OpenTelemetry GenAI semantic conventions (``gen_ai.*``, ``error.type``). Renaming anything here is
a breaking change for every dashboard and alert built on it.
"""

from __future__ import annotations

from typing import Final

# --------------------------------------------------------------------- GenAI semantic conventions
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
ERROR_TYPE: Final = "error.type"

# --------------------------------------------------------------------- energy namespace (ours)
ENERGY_KWH: Final = "energy.kwh"
ENERGY_KWH_MIN: Final = "energy.kwh_min"
ENERGY_KWH_MAX: Final = "energy.kwh_max"
ENERGY_GCO2E: Final = "energy.gco2e"
ENERGY_GCO2E_MIN: Final = "energy.gco2e_min"
ENERGY_GCO2E_MAX: Final = "energy.gco2e_max"
ENERGY_USD: Final = "energy.usd"
ENERGY_WATER_L: Final = "energy.water_l"
ENERGY_METHOD: Final = "energy.method"
ENERGY_MODEL: Final = "energy.model"
ENERGY_HARDWARE: Final = "energy.hardware"
ENERGY_REGION: Final = "energy.region"
ENERGY_PUE: Final = "energy.pue"
ENERGY_GRID_GCO2E_PER_KWH: Final = "energy.grid_gco2e_per_kwh"
ENERGY_PRICE_USD_PER_KWH: Final = "energy.price_usd_per_kwh"
ENERGY_GRID_SOURCE: Final = "energy.grid_source"
#: When the live grid figure used was valid (ISO 8601, as the provider stated it); set only when a
#: live figure replaced the registry's.
ENERGY_GRID_TIMESTAMP: Final = "energy.grid_timestamp"
ENERGY_TOKENS_ESTIMATED: Final = "energy.tokens_estimated"
ENERGY_MODEL_KNOWN: Final = "energy.model_known"
#: Number of LLM calls summed on a tracked function's span.
ENERGY_CALLS: Final = "energy.calls"
#: Name of the innermost tracked function or block (a metric attribute).
ENERGY_FUNCTION: Final = "energy.function"

# --------------------------------------------------------------------- events and metrics
#: Event name of the per-request log record (and of each ledger line).
EVENT_REQUEST: Final = "energy.request"

METRIC_CONSUMPTION: Final = "energy.consumption"
METRIC_EMISSIONS: Final = "energy.emissions"
METRIC_COST: Final = "energy.cost"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"

UNIT_KWH: Final = "kWh"
UNIT_GCO2E: Final = "gCO2e"
UNIT_USD: Final = "USD"
UNIT_TOKEN: Final = "{token}"
UNIT_SECONDS: Final = "s"

#: Semantic-convention bucket boundaries of `gen_ai.client.token.usage` (powers of 4).
TOKEN_USAGE_BUCKETS: Final[tuple[float, ...]] = tuple(float(4**i) for i in range(14))
#: Semantic-convention bucket boundaries of `gen_ai.client.operation.duration` (seconds).
OPERATION_DURATION_BUCKETS: Final[tuple[float, ...]] = tuple(
    round(0.01 * 2**i, 2) for i in range(14))

#: Instrumentation scope name used for the tracer, meter and logger.
INSTRUMENTATION_NAME: Final = "llm-energy-tracker"
#: Standard-library logger that receives every per-request record (NullHandler by default).
REQUESTS_LOGGER: Final = "tracker.requests"
