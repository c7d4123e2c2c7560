"""`CallStatic`: the attributes of one call's span, log record and ledger line.

What stays the same for every call of one (pricer, operation, provider, request model) is built
once; `call_attributes()` adds one call's figures. Pure dictionary work: nothing here emits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tracker import _attributes as A
from tracker._usage import MAX_TOKENS, Usage, count

if TYPE_CHECKING:
    from tracker.grid._providers import GridReading
    from tracker.measure import MeasuredEnergy
    from tracker.model._api_prices import ApiPrice
    from tracker.model._estimate import CallPricer, Estimate

__all__ = ["CallStatic", "add_api_price", "add_measured", "add_reported", "add_usage_details",
           "request_parameters"]

#: Response models kept per `CallStatic` (a request model answers under one or two names).
_MAX_RESPONSE_MODELS = 16


class CallStatic:
    """What stays the same for every call of one (pricer, operation, provider, request model)."""

    __slots__ = ("_by_response", "attrs", "client", "energy_key", "energy_row", "name", "region",
                 "token_in", "token_out")

    def __init__(self, pricer: CallPricer, operation: str, provider: str | None,
                 request_model: str | None,
                 server: tuple[str, int | None] | None = None) -> None:
        self.name = f"{operation} {request_model}" if request_model else operation
        self.region = pricer.region
        attrs: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: operation}
        if provider:
            attrs[A.GEN_AI_PROVIDER_NAME] = provider
        if request_model:
            attrs[A.GEN_AI_REQUEST_MODEL] = request_model
        if server is not None:
            attrs[A.SERVER_ADDRESS] = server[0]
            if server[1] is not None:
                attrs[A.SERVER_PORT] = server[1]
        client = dict(attrs)
        attrs.update({
            A.ENERGY_METHOD: pricer.method, A.ENERGY_MODEL: pricer.model,
            A.ENERGY_HARDWARE: pricer.hardware, A.ENERGY_REGION: pricer.region,
            A.ENERGY_PUE: pricer.pue, A.ENERGY_GRID_GCO2E_PER_KWH: pricer.carbon_intensity,
            A.ENERGY_PRICE_USD_PER_KWH: pricer.price_usd_per_kwh,
            A.ENERGY_GRID_SOURCE: pricer.grid_source, A.ENERGY_MODEL_KNOWN: pricer.model_known,
            A.ENERGY_ENGINE: pricer.engine,
        })
        #: Constant call-span attributes.
        self.attrs = attrs
        #: Attributes of the duration histogram, and of the token histogram per token type.
        self.client = client
        self.token_in = {**client, A.GEN_AI_TOKEN_TYPE: "input"}
        self.token_out = {**client, A.GEN_AI_TOKEN_TYPE: "output"}
        #: Energy-counter key, less the function: (provider, request model, region).
        self.energy_key = (provider, request_model, pricer.region)
        #: The energy-counter key of a call outside any tracked function.
        self.energy_row = (provider, request_model, pricer.region, None)
        #: response model -> (duration, input-token, output-token) metric attributes with it.
        self._by_response: dict[str, tuple[dict[str, Any], ...]] = {}

    def metric_attributes(self, response_model: str | None) -> tuple[dict[str, Any], ...]:
        """(duration, input tokens, output tokens) metric attributes, with the response model.

        Built once per response model (a few per request model), so a call only looks them up.
        """
        if not response_model:
            return self.client, self.token_in, self.token_out
        found = self._by_response.get(response_model)
        if found is None:
            if len(self._by_response) >= _MAX_RESPONSE_MODELS:
                self._by_response.clear()
            client = {**self.client, A.GEN_AI_RESPONSE_MODEL: response_model}
            found = self._by_response[response_model] = (
                client, {**client, A.GEN_AI_TOKEN_TYPE: "input"},
                {**client, A.GEN_AI_TOKEN_TYPE: "output"})
        return found

    def call_attributes(self, est: Estimate, response_model: str | None, tokens_estimated: bool,
                        reading: GridReading | None = None) -> dict[str, Any]:
        """All attributes of one call span (and of its log record and ledger line)."""
        return self.attributes(
            (est.energy_kwh, est.energy_kwh_min, est.energy_kwh_max, est.gco2e, est.gco2e_min,
             est.gco2e_max, est.usd, est.water_l, est.accelerator_kwh, est.server_kwh,
             est.embodied_gco2e, 0.0, 0.0), est.input_tokens, est.output_tokens, response_model,
            tokens_estimated, reading, est.carbon_intensity, est.grid_source)

    def attributes(self, figures: Sequence[float], input_tokens: int, output_tokens: int,
                   response_model: str | None, tokens_estimated: bool,
                   reading: GridReading | None = None, carbon_intensity: float = 0.0,
                   grid_source: str = "") -> dict[str, Any]:
        """`call_attributes()` from a call's figures, with no `Estimate` built.

        `figures` as `tracker.model._call_figures.call_figures` returns them; `carbon_intensity`
        and `grid_source` are read only when `reading` (a live grid figure) is given.
        """
        # (a copy and stores under module constants: cheaper than a dict display merged in)
        attrs = self.attrs.copy()
        if response_model:
            attrs[_RESPONSE_MODEL] = response_model
        attrs[_INPUT] = input_tokens
        attrs[_OUTPUT] = output_tokens
        (attrs[_KWH], attrs[_KWH_MIN], attrs[_KWH_MAX], attrs[_GCO2E], attrs[_GCO2E_MIN],
         attrs[_GCO2E_MAX], attrs[_USD], attrs[_WATER], attrs[_ACC], attrs[_SRV], attrs[_EMB],
         _, _) = figures
        attrs[_ESTIMATED] = tokens_estimated
        if reading is not None:  # a live intensity was used
            attrs[A.ENERGY_GRID_GCO2E_PER_KWH] = carbon_intensity
            attrs[A.ENERGY_GRID_SOURCE] = grid_source
            attrs[A.ENERGY_GRID_TIMESTAMP] = reading.timestamp
        return attrs


_RESPONSE_MODEL, _INPUT, _OUTPUT = (A.GEN_AI_RESPONSE_MODEL, A.GEN_AI_USAGE_INPUT_TOKENS,
                                    A.GEN_AI_USAGE_OUTPUT_TOKENS)
_KWH, _KWH_MIN, _KWH_MAX = A.ENERGY_KWH, A.ENERGY_KWH_MIN, A.ENERGY_KWH_MAX
_GCO2E, _GCO2E_MIN, _GCO2E_MAX = A.ENERGY_GCO2E, A.ENERGY_GCO2E_MIN, A.ENERGY_GCO2E_MAX
_USD, _WATER, _ACC, _SRV, _EMB = (A.ENERGY_USD, A.ENERGY_WATER_L, A.ENERGY_ACCELERATOR_KWH,
                                  A.ENERGY_SERVER_KWH, A.ENERGY_EMBODIED_GCO2E)
_ESTIMATED = A.ENERGY_TOKENS_ESTIMATED


def add_measured(attrs: dict[str, Any], measured: MeasuredEnergy) -> None:
    """A call's measured energy (``measure_gpus``) beside the estimate: kWh when measured."""
    attrs[A.ENERGY_MEASURED_STATUS] = measured.status
    kwh = measured.kwh
    if kwh is not None:
        attrs[A.ENERGY_MEASURED_KWH] = kwh


_MAX_ID = 256
_SERVER_DURATIONS = frozenset(("total", "load", "prompt_eval", "eval"))


def add_usage_details(attrs: dict[str, Any], usage: Usage, legacy_cache_creation: bool) -> None:
    """The semantic-convention details a provider reported beyond the two counts.

    Cache writes go out as ``cache_write``, and also under the earlier ``cache_creation`` name
    when `legacy_cache_creation` (the transition option) is on.
    """
    add_reported(attrs, usage, legacy_cache_creation, None, 0, 0)


def add_reported(attrs: dict[str, Any], usage: Usage, legacy_cache_creation: bool,
                 api: ApiPrice | None, n_in: int, n_out: int) -> None:
    """`add_usage_details()`, then `add_api_price()` when `api` is given: one pass over `usage`."""
    # (count() inline: this runs on every recorded call)
    read = usage.cache_read_input_tokens
    if read is not None:
        if type(read) is int and 0 <= read <= MAX_TOKENS:
            attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = read
        else:
            read = None
    written = usage.cache_creation_input_tokens
    if written is not None:
        if type(written) is int and 0 <= written <= MAX_TOKENS:
            attrs[A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = written
        else:
            written = None
    value = usage.reasoning_output_tokens
    if value is not None and type(value) is int and 0 <= value <= MAX_TOKENS:
        attrs[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = value
    if legacy_cache_creation and written is not None:
        attrs[A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = written
    response_id = usage.response_id
    if type(response_id) is str and len(response_id) <= _MAX_ID:
        attrs[A.GEN_AI_RESPONSE_ID] = response_id
    durations = usage.server_durations
    if durations:
        for name, seconds in durations:
            if name in _SERVER_DURATIONS and type(seconds) is float and 0 <= seconds < 1e7:
                attrs[f"{A.ENERGY_SERVER_DURATION_PREFIX}{name}_duration_s"] = seconds
    modalities = usage.modality_tokens
    if modalities:
        for key, n in modalities:
            if key in _MODALITIES and count(n):
                attrs[key] = n
    reasons = usage.finish_reasons
    if reasons:
        if (type(reasons) is tuple and len(reasons) == 1 and type(reason := reasons[0]) is str
                and len(reason) <= 64):
            attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]  # (the usual one choice)
        else:
            attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = [
                r for r in reasons if type(r) is str and len(r) <= 64][:16]
    if api is not None:
        attrs[A.GEN_AI_USAGE_COST_AMOUNT] = api.amount(n_in, n_out, read or 0, written or 0)
        attrs.update(_API_PRICE_CONSTANTS or _api_price_constants())


#: The per-modality usage names the conventions define (the only ones a call may carry).
_MODALITIES = frozenset((
    A.GEN_AI_USAGE_TEXT_INPUT_TOKENS, A.GEN_AI_USAGE_IMAGE_INPUT_TOKENS,
    A.GEN_AI_USAGE_AUDIO_INPUT_TOKENS, A.GEN_AI_USAGE_VIDEO_INPUT_TOKENS,
    A.GEN_AI_USAGE_TEXT_OUTPUT_TOKENS, A.GEN_AI_USAGE_AUDIO_OUTPUT_TOKENS))

#: Request keyword -> the conventions' name (client libraries' spellings of the same parameter).
_REQUEST_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("max_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("max_completion_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("max_output_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("temperature", A.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", A.GEN_AI_REQUEST_TOP_P),
    ("top_k", A.GEN_AI_REQUEST_TOP_K),
    ("frequency_penalty", A.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", A.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("seed", A.GEN_AI_REQUEST_SEED),
    ("n", A.GEN_AI_REQUEST_CHOICE_COUNT),
)
_INTEGRAL = frozenset((A.GEN_AI_REQUEST_MAX_TOKENS, A.GEN_AI_REQUEST_SEED,
                       A.GEN_AI_REQUEST_CHOICE_COUNT))
_KEYWORDS = frozenset(key for key, _name in _REQUEST_PARAMETERS)
_STREAM_ON = {A.GEN_AI_REQUEST_STREAM: True}
_STREAM_OFF = {A.GEN_AI_REQUEST_STREAM: False}


def request_parameters(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The conventions' request parameters found in a call's keyword arguments, or None.

    Numbers only (finite; whole numbers for counts and the seed) and the ``stream`` flag: no
    text parameter (stop sequences, instructions) is ever read.
    """
    if kwargs.keys().isdisjoint(_KEYWORDS):  # the usual call: no parameter but the stream flag
        stream = kwargs.get("stream")
        if type(stream) is bool:
            return (_STREAM_ON if stream else _STREAM_OFF).copy()
        return None
    out: dict[str, Any] | None = None
    for key, name in _REQUEST_PARAMETERS:
        value = kwargs.get(key)
        if value is None:
            continue
        kind = type(value)
        if kind is int:
            if not -(2**63) <= value < 2**63:
                continue
        elif kind is not float or name in _INTEGRAL or not math.isfinite(value):
            continue
        if out is None:
            out = {}
        out[name] = value
    stream = kwargs.get("stream")
    if type(stream) is bool:
        if out is None:
            out = {}
        out[A.GEN_AI_REQUEST_STREAM] = stream
    return out


_API_PRICE_CONSTANTS: dict[str, Any] | None = None


def _api_price_constants() -> dict[str, Any]:
    global _API_PRICE_CONSTANTS
    from tracker.model._api_prices import CURRENCY, table_version

    _API_PRICE_CONSTANTS = {
        A.GEN_AI_USAGE_COST_CURRENCY: CURRENCY, A.GEN_AI_USAGE_COST_SOURCE: "local",
        A.ENERGY_PRICE_TABLE: table_version() or "genai-prices"}
    return _API_PRICE_CONSTANTS


def add_api_price(attrs: dict[str, Any], api: ApiPrice, n_in: int, n_out: int,
                  usage: Usage) -> None:
    """The call's API price (``gen_ai.usage.cost.*``) and the table it came from."""
    attrs[A.GEN_AI_USAGE_COST_AMOUNT] = api.amount(
        n_in, n_out, count(usage.cache_read_input_tokens) or 0,
        count(usage.cache_creation_input_tokens) or 0)
    attrs.update(_API_PRICE_CONSTANTS or _api_price_constants())
