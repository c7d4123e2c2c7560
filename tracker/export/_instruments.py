"""The metric instruments of a meter provider, and the sums the asynchronous ones report.

The three energy counters, and the API-price counter (`gen_ai.client.operation.cost`), are
asynchronous counters: each call adds to a running sum here under one short lock, and the SDK
observes the sums at collection time, so a call makes three metric measurements (the
histograms), not seven. The API-price counter observes only the attribute sets of calls that had
an API price (the price table knew the model): an unpriced call is absent from it, not zero.
The `energy.budget.utilization` gauge observes the budget shares `tracker.reduce` sets.
`tracker.export._telemetry` (the one module that emits) records through these instruments.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from tracker import _attributes as A
from tracker._version import VERSION
from tracker.model._api_prices import CURRENCY

__all__ = [
    "MAX_ENERGY_SETS",
    "Metrics",
    "clear_budget_utilization",
    "metrics_for",
    "set_budget_utilization",
]

#: Distinct energy-metric attribute sets kept per meter provider (the SDK's default cardinality
#: limit); further sets are summed under ``otel.metric.overflow=true``, as the SDK does.
MAX_ENERGY_SETS = 2000
_OVERFLOW: dict[str, Any] = {"otel.metric.overflow": True}



class Metrics:
    """The instruments of one meter provider, and the running energy sums its counters report.

    One per meter provider (not per configuration): a second `configure()` with the same provider
    reuses it, so instruments are never registered twice and counters keep counting.
    """

    def __init__(self, meter: metrics.Meter) -> None:
        self._lock = threading.Lock()
        #: (provider, model, region, function) -> ([kWh, gCO2e, USD, API price, priced calls],
        #: attributes)
        self._rows: dict[tuple[Any, ...], tuple[list[float], dict[str, Any]]] = {}
        for index, (name, unit, description) in enumerate((
            (A.METRIC_CONSUMPTION, A.UNIT_KWH, "Facility energy of LLM calls"),
            (A.METRIC_EMISSIONS, A.UNIT_GCO2E, "Emissions of LLM calls"),
            (A.METRIC_COST, A.UNIT_USD, "Electricity cost of LLM calls"),
        )):
            meter.create_observable_counter(name, callbacks=[self._observer(index)], unit=unit,
                                            description=description)
        meter.create_observable_counter(
            A.METRIC_API_COST, callbacks=[self._observe_api], unit=A.UNIT_USD,
            description="API price of LLM calls (list price, from the price table)")
        self.tokens = meter.create_histogram(
            A.METRIC_TOKEN_USAGE, unit=A.UNIT_TOKEN,
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(A.TOKEN_USAGE_BUCKETS),
        )
        self.duration = meter.create_histogram(
            A.METRIC_OPERATION_DURATION, unit=A.UNIT_SECONDS,
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(A.OPERATION_DURATION_BUCKETS),
        )
        self.first_chunk = meter.create_histogram(
            A.METRIC_TIME_TO_FIRST_CHUNK, unit=A.UNIT_SECONDS,
            description="Time to receive the first chunk of a streamed response",
            explicit_bucket_boundaries_advisory=list(A.OPERATION_DURATION_BUCKETS),
        )
        self.per_chunk = meter.create_histogram(
            A.METRIC_TIME_PER_OUTPUT_CHUNK, unit=A.UNIT_SECONDS,
            description="Time per output chunk after the first of a streamed response",
            explicit_bucket_boundaries_advisory=list(A.TIME_PER_OUTPUT_CHUNK_BUCKETS),
        )
        meter.create_observable_gauge(
            A.METRIC_BUDGET_UTILIZATION, callbacks=[_observe_budgets], unit=A.UNIT_RATIO,
            description="Share of an energy, carbon or cost budget spent in its period")

    def add(self, key: tuple[Any, ...], kwh: float, gco2e: float, usd: float,
            api: float | None = None) -> None:
        """Add one call to the counters of `key` (provider, model, region, function).

        `api`: the call's API price in US dollars (``gen_ai.usage.cost.amount``), None when it
        has none.
        """
        entry = self._rows.get(key)
        if entry is None:
            entry = self._new_row(key)
        row = entry[0]
        with self._lock:
            row[0] += kwh
            row[1] += gco2e
            row[2] += usd
            if api is not None:
                row[3] += api
                row[4] += 1.0

    def _new_row(self, key: tuple[Any, ...]) -> tuple[list[float], dict[str, Any]]:
        provider, model, region, function = key
        attrs: dict[str, Any] = {A.ENERGY_REGION: region}
        if provider:
            attrs[A.GEN_AI_PROVIDER_NAME] = provider
        if model:
            attrs[A.GEN_AI_REQUEST_MODEL] = model
        if function:
            attrs[A.ENERGY_FUNCTION] = function
        with self._lock:
            entry = self._rows.get(key)
            if entry is None:
                if len(self._rows) >= MAX_ENERGY_SETS:
                    key, attrs = ("overflow",), dict(_OVERFLOW)
                    entry = self._rows.get(key)
                if entry is None:
                    entry = self._rows[key] = ([0.0, 0.0, 0.0, 0.0, 0.0], attrs)
        return entry

    def _observer(self, index: int) -> Any:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            with self._lock:
                values = [(row[index], attrs) for row, attrs in self._rows.values()]
            return [Observation(value, attrs) for value, attrs in values]

        return observe

    def _observe_api(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            values = [(row[3], attrs) for row, attrs in self._rows.values() if row[4]]
        return [Observation(value, {**attrs, A.GEN_AI_USAGE_COST_CURRENCY: CURRENCY})
                for value, attrs in values]


#: Budget utilisation per (key, period, unit), set by `tracker.reduce` and observed by the gauge.
_budget_values: dict[tuple[str, str, str], float] = {}
_budget_lock = threading.Lock()


def set_budget_utilization(key: str, period: str, unit: str, value: float | None) -> None:
    """Set (None: drop) the `energy.budget.utilization` value of one budget."""
    with _budget_lock:
        if value is None:
            _budget_values.pop((key, period, unit), None)
        elif (key, period, unit) in _budget_values or len(_budget_values) < MAX_ENERGY_SETS:
            _budget_values[(key, period, unit)] = value


def clear_budget_utilization() -> None:
    """Drop every budget utilisation value (budgets replaced or reset)."""
    with _budget_lock:
        _budget_values.clear()


def _observe_budgets(options: CallbackOptions) -> Iterable[Observation]:
    with _budget_lock:
        values = list(_budget_values.items())
    return [Observation(value, {A.ENERGY_BUDGET_KEY: key, A.ENERGY_BUDGET_PERIOD: period,
                                A.ENERGY_BUDGET_UNIT: unit})
            for (key, period, unit), value in values]


_metrics_lock = threading.Lock()
_metrics_by_provider: weakref.WeakKeyDictionary[Any, Metrics] = weakref.WeakKeyDictionary()
_global_metrics: list[tuple[Any, Metrics]] = []  # (the global provider at the time, its metrics)


def _is_proxy(provider: Any) -> bool:
    """The API's proxy provider (none set yet): its instruments forward to the one set later."""
    return "Proxy" in type(provider).__name__


def metrics_for(meter_provider: Any) -> Metrics:
    """The instruments of `meter_provider` (None: the global one), created on first use."""
    name, version = A.INSTRUMENTATION_NAME, VERSION
    current = metrics.get_meter_provider()
    provider = current if meter_provider is None else meter_provider
    with _metrics_lock:
        try:
            found = _metrics_by_provider.get(provider)
        except TypeError:  # not weak-referenceable: build instruments without caching
            return Metrics(provider.get_meter(name, version))
        if found is None and provider is current and _global_metrics:
            # Made through the global proxy before the application set its provider: those
            # instruments now forward to this provider, so registering them again would clash.
            found = _global_metrics[0][1]
            _metrics_by_provider[provider] = found
        if found is None:
            found = Metrics(provider.get_meter(name, version))
            _metrics_by_provider[provider] = found
            if provider is current and not _global_metrics and _is_proxy(provider):
                _global_metrics.append((provider, found))
        return found


