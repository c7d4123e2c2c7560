"""`CallStatic`: the attributes of one call's span, log record and ledger line.

What stays the same for every call of one (pricer, operation, provider, request model) is built
once; `call_attributes()` adds one call's figures. Pure dictionary work: nothing here emits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker import _attributes as A

if TYPE_CHECKING:
    from tracker.grid._providers import GridReading
    from tracker.measure import MeasuredEnergy
    from tracker.model._estimate import CallPricer, Estimate

__all__ = ["CallStatic", "add_measured"]


class CallStatic:
    """What stays the same for every call of one (pricer, operation, provider, request model)."""

    __slots__ = ("attrs", "client", "energy_key", "name", "region", "token_in", "token_out")

    def __init__(self, pricer: CallPricer, operation: str, provider: str | None,
                 request_model: str | None) -> None:
        self.name = f"{operation} {request_model}" if request_model else operation
        self.region = pricer.region
        attrs: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: operation}
        if provider:
            attrs[A.GEN_AI_PROVIDER_NAME] = provider
        if request_model:
            attrs[A.GEN_AI_REQUEST_MODEL] = request_model
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

    def call_attributes(self, est: Estimate, response_model: str | None, tokens_estimated: bool,
                        reading: GridReading | None = None) -> dict[str, Any]:
        """All attributes of one call span (and of its log record and ledger line)."""
        attrs = self.attrs.copy()
        if response_model:
            attrs[A.GEN_AI_RESPONSE_MODEL] = response_model
        attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = est.input_tokens
        attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = est.output_tokens
        attrs[A.ENERGY_KWH] = est.energy_kwh
        attrs[A.ENERGY_KWH_MIN] = est.energy_kwh_min
        attrs[A.ENERGY_KWH_MAX] = est.energy_kwh_max
        attrs[A.ENERGY_GCO2E] = est.gco2e
        attrs[A.ENERGY_GCO2E_MIN] = est.gco2e_min
        attrs[A.ENERGY_GCO2E_MAX] = est.gco2e_max
        attrs[A.ENERGY_USD] = est.usd
        attrs[A.ENERGY_WATER_L] = est.water_l
        attrs[A.ENERGY_ACCELERATOR_KWH] = est.accelerator_kwh
        attrs[A.ENERGY_SERVER_KWH] = est.server_kwh
        attrs[A.ENERGY_EMBODIED_GCO2E] = est.embodied_gco2e
        attrs[A.ENERGY_TOKENS_ESTIMATED] = tokens_estimated
        if reading is not None:  # a live intensity was used
            attrs[A.ENERGY_GRID_GCO2E_PER_KWH] = est.carbon_intensity
            attrs[A.ENERGY_GRID_SOURCE] = est.grid_source
            attrs[A.ENERGY_GRID_TIMESTAMP] = reading.timestamp
        return attrs


def add_measured(attrs: dict[str, Any], measured: MeasuredEnergy) -> None:
    """A call's measured energy (``measure_gpus``) beside the estimate: kWh when measured."""
    attrs[A.ENERGY_MEASURED_STATUS] = measured.status
    kwh = measured.kwh
    if kwh is not None:
        attrs[A.ENERGY_MEASURED_KWH] = kwh
