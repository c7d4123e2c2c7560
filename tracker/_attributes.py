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
#: Input tokens written to a provider-managed cache (included in ``input_tokens``).
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
#: The earlier name of ``cache_write``, also emitted while the `legacy_cache_creation` option is
#: on (the default during the transition).
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
#: Output tokens spent on reasoning (included in ``output_tokens``).
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
#: Input tokens the provider reported per modality (each a subset of ``input_tokens``): set
#: only where the provider reports that modality's count and it is not 0 (OpenAI's
#: ``prompt_tokens_details``, Gemini's ``promptTokensDetails``; Anthropic reports none).
GEN_AI_USAGE_TEXT_INPUT_TOKENS: Final = "gen_ai.usage.text.input_tokens"
GEN_AI_USAGE_IMAGE_INPUT_TOKENS: Final = "gen_ai.usage.image.input_tokens"
GEN_AI_USAGE_AUDIO_INPUT_TOKENS: Final = "gen_ai.usage.audio.input_tokens"
GEN_AI_USAGE_VIDEO_INPUT_TOKENS: Final = "gen_ai.usage.video.input_tokens"
#: Output tokens the provider reported per modality (subsets of ``output_tokens``), likewise.
GEN_AI_USAGE_TEXT_OUTPUT_TOKENS: Final = "gen_ai.usage.text.output_tokens"
GEN_AI_USAGE_AUDIO_OUTPUT_TOKENS: Final = "gen_ai.usage.audio.output_tokens"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
#: Request parameters, as the caller passed them (numbers only, never text).
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
#: Agent attribution (agent frameworks): on an ``invoke_agent`` / ``execute_tool`` span and on
#: every call made inside it. Never metric attributes.
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
#: Whether the call was made in streaming mode.
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
#: Seconds from the request to the first chunk of a streamed response.
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
#: Host and port of the client's base URL (also on the ``gen_ai.client.*`` metric points).
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
#: The API price of the call: what the provider bills at list price, from a maintained price
#: table (genai-prices), with its currency and ``local`` as its source (computed here, not
#: reported by the provider); named as the open GenAI cost proposal names them. Not the
#: electricity (``energy.usd``).
GEN_AI_USAGE_COST_AMOUNT: Final = "gen_ai.usage.cost.amount"
GEN_AI_USAGE_COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
GEN_AI_USAGE_COST_SOURCE: Final = "gen_ai.usage.cost.source"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
ERROR_TYPE: Final = "error.type"
#: Span event of a failed call, with ``exception.type`` (the exception's class) only: a
#: provider's message or traceback may quote the request, so neither is recorded.
EVENT_EXCEPTION: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"

# --------------------------------------------------------------------- energy namespace (ours)
ENERGY_KWH: Final = "energy.kwh"
ENERGY_KWH_MIN: Final = "energy.kwh_min"
ENERGY_KWH_MAX: Final = "energy.kwh_max"
ENERGY_GCO2E: Final = "energy.gco2e"
ENERGY_GCO2E_MIN: Final = "energy.gco2e_min"
ENERGY_GCO2E_MAX: Final = "energy.gco2e_max"
#: The electricity cost of the call in US dollars (shown to people as "electricity"); the API
#: price is ``gen_ai.usage.cost.amount``.
ENERGY_USD: Final = "energy.usd"
ENERGY_WATER_L: Final = "energy.water_l"
#: Manufacturing footprint of the hardware amortised over the call; never summed into gco2e.
ENERGY_EMBODIED_GCO2E: Final = "energy.embodied_gco2e"
#: A training estimate on a tracked scope (`EnergyScope.add_training_tokens`); estimated, always.
ENERGY_TRAINING_TOKENS: Final = "energy.training.tokens"
ENERGY_TRAINING_KWH: Final = "energy.training.kwh"
ENERGY_TRAINING_GCO2E: Final = "energy.training.gco2e"
ENERGY_TRAINING_EMBODIED_GCO2E: Final = "energy.training.embodied_gco2e"
ENERGY_TRAINING_ACCELERATOR_HOURS: Final = "energy.training.accelerator_hours"
ENERGY_TRAINING_METHOD: Final = "energy.training.method"
ENERGY_TRAINING_ESTIMATED: Final = "energy.training.estimated"
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
#: The price table (and its version) the API price came from, e.g. ``genai-prices 0.2.5``.
ENERGY_PRICE_TABLE: Final = "energy.price_table"
ENERGY_TOKENS_ESTIMATED: Final = "energy.tokens_estimated"
ENERGY_MODEL_KNOWN: Final = "energy.model_known"
#: Serving-engine profile the estimate used (`vllm`, `tensorrt-llm`, ..., `mix`).
ENERGY_ENGINE: Final = "energy.engine"
#: Inner boundaries of `energy.kwh`: accelerators alone, and the server (accelerators + host).
ENERGY_ACCELERATOR_KWH: Final = "energy.accelerator_kwh"
ENERGY_SERVER_KWH: Final = "energy.server_kwh"
#: Measured energy of the call (``measure_gpus``): the named GPUs' own energy counter, the share
#: of each sampling interval the call's token work earned; accelerator boundary (compare with
#: `energy.accelerator_kwh`). Set only when measured.
ENERGY_MEASURED_KWH: Final = "energy.measured.kwh"
#: ``measured``, or ``not measured: <reason>`` (no NVML, permission denied, GPU lost, counter
#: wrapped); set on every timed call while ``measure_gpus`` is configured.
ENERGY_MEASURED_STATUS: Final = "energy.measured.status"
#: Number of LLM calls summed on a tracked function's span.
ENERGY_CALLS: Final = "energy.calls"
#: Input and output tokens summed on a tracked function's span. A scope span never carries
#: ``gen_ai.usage.*``: backends that add usage up over a trace would count every token twice.
ENERGY_INPUT_TOKENS: Final = "energy.input_tokens"
ENERGY_OUTPUT_TOKENS: Final = "energy.output_tokens"
#: Name of the innermost tracked function or block (a metric attribute).
ENERGY_FUNCTION: Final = "energy.function"
#: The framework a call was made through (``langchain``, ``litellm``), on its span, log record
#: and ledger line whichever integration recorded it; never a metric attribute.
ENERGY_FRAMEWORK: Final = "energy.framework"
#: The caller's name for that framework call: LangChain's run name, LiteLLM's
#: ``metadata["generation_name"]`` (else ``"trace_name"``); at most 128 characters. Not a metric
#: attribute.
ENERGY_FRAMEWORK_RUN_NAME: Final = "energy.framework.run_name"
#: Prefix of the durations a local server reported for a call (Ollama): ``total``, ``load``,
#: ``prompt_eval``, ``eval``, each as ``energy.server.<name>_duration_s`` (seconds).
ENERGY_SERVER_DURATION_PREFIX: Final = "energy.server."
#: Instrumentation scope name of the span a call was priced from (another instrumentation's span,
#: priced by `EnergySpanProcessor` or `EnergyEnrichingSpanExporter`).
ENERGY_PRICED_FROM: Final = "energy.priced_from"

#: Which budget: a tracked block's name, ``label=value`` of a configuration budget, or ``all``.
ENERGY_BUDGET_KEY: Final = "energy.budget.key"
#: The budget's period: ``scope`` (one run of a tracked block), ``hour``, ``day`` or ``month``.
ENERGY_BUDGET_PERIOD: Final = "energy.budget.period"
#: The budget's unit: ``gCO2e``, ``kWh`` or ``USD``.
ENERGY_BUDGET_UNIT: Final = "energy.budget.unit"
#: The budget's limit per period, in its unit.
ENERGY_BUDGET_LIMIT: Final = "energy.budget.limit"
#: Spent in the current period when the limit was crossed, in the budget's unit.
ENERGY_BUDGET_SPENT: Final = "energy.budget.spent"

# --------------------------------------------------------------------- events and metrics
#: Event name of the per-request log record (and of each ledger line).
EVENT_REQUEST: Final = "energy.request"
#: Event name of the ledger line of a tracked scope's training estimate.
EVENT_TRAINING: Final = "energy.training"

#: Span event (and WARNING log record) of a budget crossed.
EVENT_BUDGET_EXCEEDED: Final = "energy.budget.exceeded"

#: Counters of the calls' facility energy, usage emissions and electricity cost (``energy.kwh``,
#: ``energy.gco2e``, ``energy.usd`` summed) by provider, model, region and tracked function.
METRIC_CONSUMPTION: Final = "energy.consumption"
METRIC_EMISSIONS: Final = "energy.emissions"
#: The electricity cost (``energy.usd``), not the API price (`gen_ai.client.operation.cost`).
METRIC_COST: Final = "energy.cost"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
#: Histograms of streamed calls: seconds to the first chunk, and between later chunks.
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"
#: Counter of the API price of calls (``gen_ai.usage.cost.amount`` summed), named after the open
#: GenAI cost proposal (not yet in the conventions), with ``gen_ai.usage.cost.currency`` and the
#: energy counters' attributes on each point; a call without an API price (a model the price
#: table does not know, or the `prices` extra not installed) adds nothing, and an attribute set
#: with no priced call has no point. The electricity cost is ``energy.cost``.
METRIC_API_COST: Final = "gen_ai.client.operation.cost"
#: Gauge: share of a budget spent in its current period (1 = the limit).
METRIC_BUDGET_UTILIZATION: Final = "energy.budget.utilization"

UNIT_KWH: Final = "kWh"
UNIT_GCO2E: Final = "gCO2e"
UNIT_USD: Final = "USD"
UNIT_TOKEN: Final = "{token}"
UNIT_SECONDS: Final = "s"
UNIT_RATIO: Final = "1"

#: Semantic-convention bucket boundaries of `gen_ai.client.token.usage` (powers of 4).
TOKEN_USAGE_BUCKETS: Final[tuple[float, ...]] = tuple(float(4**i) for i in range(14))
#: Semantic-convention bucket boundaries of `gen_ai.client.operation.duration` (seconds).
OPERATION_DURATION_BUCKETS: Final[tuple[float, ...]] = tuple(
    round(0.01 * 2**i, 2) for i in range(14))
#: Bucket boundaries of `gen_ai.client.operation.time_per_output_chunk` (seconds), those the
#: conventions advise for the server's time per output token.
TIME_PER_OUTPUT_CHUNK_BUCKETS: Final[tuple[float, ...]] = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)

#: Instrumentation scope name used for the tracer, meter and logger.
INSTRUMENTATION_NAME: Final = "llm-energy-tracker"
#: Standard-library logger that receives every per-request record (NullHandler by default).
REQUESTS_LOGGER: Final = "tracker.requests"
