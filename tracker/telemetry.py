"""The only module that writes OpenTelemetry data: spans, log records and metrics.

It also hands every per-request record to the local ledger and to the ``tracker.requests``
standard-library logger, so all three outputs carry the same fields. Names come from
`tracker.attributes` (telemetry.md is the contract).

Providers passed to `configure()` are used; otherwise the global ones (through the API's proxies,
so a provider the application sets later is picked up). Nothing is configured globally.

Every emission step is guarded separately: a failing span processor does not stop the log record,
the metrics or the ledger line.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from opentelemetry import _logs, context, metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from tracker import attributes as A
from tracker.internal_errors import report

if TYPE_CHECKING:
    from tracker.energy_model import CallPricer, Estimate
    from tracker.ledger import LedgerWriter

__all__ = ["Telemetry", "has_real_tracer_provider"]

_VERSION = "0.1.0"
_requests_logger = logging.getLogger(A.REQUESTS_LOGGER)
_requests_logger.addHandler(logging.NullHandler())

# The logs API gained `context` and `event_name` on LogRecord in 1.35; older APIs take ids.
_LOG_RECORD_HAS_EVENT_NAME = "event_name" in inspect.signature(_logs.LogRecord.__init__).parameters
_SEVERITY_INFO = _logs.SeverityNumber.INFO
_STATUS_OK_KINDS = (GeneratorExit, StopIteration, StopAsyncIteration)


def has_real_tracer_provider(tracer_provider: object | None) -> bool:
    """Whether spans would go anywhere: a provider was passed or a real one is set globally."""
    if tracer_provider is not None:
        return not isinstance(tracer_provider, trace.NoOpTracerProvider)
    current = trace.get_tracer_provider()
    return not isinstance(current, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


def error_type(exc: BaseException) -> str:
    """The `error.type` value of an exception: its class's qualified name."""
    return type(exc).__qualname__


def _hex(value: int, width: int) -> str | None:
    return format(value, f"0{width}x") if value else None


class Telemetry:
    """Tracer, meter instruments, logger and ledger of one configuration."""

    def __init__(
        self,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        logger_provider: Any = None,
        ledger: LedgerWriter | None = None,
    ) -> None:
        name, version = A.INSTRUMENTATION_NAME, _VERSION
        self.tracer: trace.Tracer = (
            tracer_provider.get_tracer(name, version) if tracer_provider is not None
            else trace.get_tracer(name, version)
        )
        meter: metrics.Meter = (
            meter_provider.get_meter(name, version) if meter_provider is not None
            else metrics.get_meter(name, version)
        )
        self.logger: _logs.Logger = (
            logger_provider.get_logger(name, version) if logger_provider is not None
            else _logs.get_logger(name, version)
        )
        self.ledger = ledger
        self._consumption = meter.create_counter(
            A.METRIC_CONSUMPTION, unit=A.UNIT_KWH, description="Facility energy of LLM calls")
        self._emissions = meter.create_counter(
            A.METRIC_EMISSIONS, unit=A.UNIT_GCO2E, description="Emissions of LLM calls")
        self._cost = meter.create_counter(
            A.METRIC_COST, unit=A.UNIT_USD, description="Electricity cost of LLM calls")
        self._tokens = meter.create_histogram(
            A.METRIC_TOKEN_USAGE, unit=A.UNIT_TOKEN,
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(A.TOKEN_USAGE_BUCKETS),
        )
        self._duration = meter.create_histogram(
            A.METRIC_OPERATION_DURATION, unit=A.UNIT_SECONDS,
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(A.OPERATION_DURATION_BUCKETS),
        )
        # Low-cardinality metric attribute sets, built once per distinct key.
        self._energy_attrs: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._client_attrs: dict[tuple[Any, ...], tuple[dict[str, Any], ...]] = {}

    # ----------------------------------------------------------------------- attributes
    @staticmethod
    def static_attributes(
        pricer: CallPricer, operation: str, provider: str | None, request_model: str | None
    ) -> dict[str, Any]:
        """The call-span attributes that depend only on the configuration (built once)."""
        attrs: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: operation}
        if provider:
            attrs[A.GEN_AI_PROVIDER_NAME] = provider
        if request_model:
            attrs[A.GEN_AI_REQUEST_MODEL] = request_model
        attrs.update({
            A.ENERGY_METHOD: pricer.method, A.ENERGY_MODEL: pricer.model,
            A.ENERGY_HARDWARE: pricer.hardware, A.ENERGY_REGION: pricer.region,
            A.ENERGY_PUE: pricer.pue, A.ENERGY_GRID_GCO2E_PER_KWH: pricer.carbon_intensity,
            A.ENERGY_PRICE_USD_PER_KWH: pricer.price_usd_per_kwh,
            A.ENERGY_GRID_SOURCE: pricer.grid_source, A.ENERGY_MODEL_KNOWN: pricer.model_known,
        })
        return attrs

    @staticmethod
    def call_attributes(
        static: Mapping[str, Any], est: Estimate, response_model: str | None, tokens_estimated: bool
    ) -> dict[str, Any]:
        """All attributes of one call span (and of its log record and ledger line)."""
        attrs = dict(static)
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
        attrs[A.ENERGY_TOKENS_ESTIMATED] = tokens_estimated
        if est.grid_source != static.get(A.ENERGY_GRID_SOURCE):  # a live intensity was used
            attrs[A.ENERGY_GRID_GCO2E_PER_KWH] = est.carbon_intensity
            attrs[A.ENERGY_GRID_SOURCE] = est.grid_source
        return attrs

    # ----------------------------------------------------------------------- call spans
    def start_call_span(self, name: str, attrs: Mapping[str, Any]) -> trace.Span:
        """Start a CLIENT span for one LLM call, child of the current span (not made current)."""
        return self.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attrs)

    def end_failed_call(self, span: trace.Span | None, error: BaseException,
                        duration_s: float | None, metric_key: tuple[Any, ...]) -> None:
        """End a call span whose call failed before reporting any usage."""
        if span is not None:
            try:
                span.set_attribute(A.ERROR_TYPE, error_type(error))
                span.set_status(Status(StatusCode.ERROR, error_type(error)))
                span.end()
            except Exception as exc:
                report("telemetry.call_span", exc)
        if duration_s is not None:
            try:
                attrs = dict(self._client_metric_attrs(metric_key)[0])
                attrs[A.ERROR_TYPE] = error_type(error)
                self._duration.record(duration_s, attrs)
            except Exception as exc:
                report("telemetry.metrics", exc)

    def emit_call(
        self,
        span: trace.Span | None,
        attrs: dict[str, Any],
        labels: Mapping[str, Any],
        *,
        function: str | None,
        region: str,
        metric_key: tuple[Any, ...],
        duration_s: float | None,
        error: BaseException | None,
        start_name: str | None = None,
    ) -> None:
        """Finish one priced call: span, log record, metrics, ledger line, stdlib log record.

        `metric_key` is ``(operation, provider, request_model)``. With `span` None and
        `start_name` given, the span is started here with all its attributes and ended at once.
        """
        full = {**labels, **attrs} if labels else attrs
        now_ns = time.time_ns()
        span_ctx = None
        if span is None and start_name is not None:
            try:
                span = self.tracer.start_span(start_name, kind=SpanKind.CLIENT, attributes=full)
            except Exception as exc:
                report("telemetry.call_span", exc)
            started_here = True
        else:
            started_here = False
        if span is not None:
            try:
                if not started_here:
                    span.set_attributes(full)
                if error is not None:
                    span.set_attribute(A.ERROR_TYPE, error_type(error))
                    span.set_status(Status(StatusCode.ERROR, error_type(error)))
                span_ctx = span.get_span_context()
                span.end()
            except Exception as exc:
                report("telemetry.call_span", exc)
        try:
            self._emit_log(span, full, now_ns)
        except Exception as exc:
            report("telemetry.log", exc)
        try:
            self._record_metrics(attrs, function, region, metric_key, duration_s, error)
        except Exception as exc:
            report("telemetry.metrics", exc)
        ledger = self.ledger
        if ledger is not None or _requests_logger.isEnabledFor(logging.INFO):
            try:
                self._write_record(ledger, attrs, labels, function, span_ctx, now_ns)
            except Exception as exc:
                report("telemetry.ledger", exc)

    def _emit_log(self, span: trace.Span | None, attrs: dict[str, Any], now_ns: int) -> None:
        ctx = trace.set_span_in_context(span) if span is not None else None
        if _LOG_RECORD_HAS_EVENT_NAME:
            record = _logs.LogRecord(
                timestamp=now_ns, context=ctx, severity_text="INFO",
                severity_number=_SEVERITY_INFO, attributes=attrs, event_name=A.EVENT_REQUEST,
            )
        else:  # pragma: no cover - opentelemetry-api < 1.35
            sc = span.get_span_context() if span is not None else None
            record = _logs.LogRecord(
                timestamp=now_ns, trace_id=sc.trace_id if sc else None,
                span_id=sc.span_id if sc else None, trace_flags=sc.trace_flags if sc else None,
                severity_text="INFO", severity_number=_SEVERITY_INFO,
                attributes={**attrs, "event.name": A.EVENT_REQUEST},
            )
        self.logger.emit(record)

    def _client_metric_attrs(self, key: tuple[Any, ...]) -> tuple[dict[str, Any], ...]:
        cached = self._client_attrs.get(key)
        if cached is None:
            operation, provider, model = key
            base: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: operation}
            if provider:
                base[A.GEN_AI_PROVIDER_NAME] = provider
            if model:
                base[A.GEN_AI_REQUEST_MODEL] = model
            cached = (base, {**base, A.GEN_AI_TOKEN_TYPE: "input"},
                      {**base, A.GEN_AI_TOKEN_TYPE: "output"})
            self._client_attrs[key] = cached
        return cached

    def _record_metrics(
        self, attrs: Mapping[str, Any], function: str | None, region: str,
        metric_key: tuple[Any, ...], duration_s: float | None, error: BaseException | None,
    ) -> None:
        ekey = (metric_key[1], metric_key[2], region, function)
        energy_attrs = self._energy_attrs.get(ekey)
        if energy_attrs is None:
            energy_attrs = {A.ENERGY_REGION: region}
            if ekey[0]:
                energy_attrs[A.GEN_AI_PROVIDER_NAME] = ekey[0]
            if ekey[1]:
                energy_attrs[A.GEN_AI_REQUEST_MODEL] = ekey[1]
            if function:
                energy_attrs[A.ENERGY_FUNCTION] = function
            self._energy_attrs[ekey] = energy_attrs
        self._consumption.add(attrs[A.ENERGY_KWH], energy_attrs)
        self._emissions.add(attrs[A.ENERGY_GCO2E], energy_attrs)
        self._cost.add(attrs[A.ENERGY_USD], energy_attrs)
        base, token_in, token_out = self._client_metric_attrs(metric_key)
        self._tokens.record(attrs[A.GEN_AI_USAGE_INPUT_TOKENS], token_in)
        self._tokens.record(attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS], token_out)
        if duration_s is not None:
            if error is not None:
                base = {**base, A.ERROR_TYPE: error_type(error)}
            self._duration.record(duration_s, base)

    def _write_record(
        self, ledger: LedgerWriter | None, attrs: Mapping[str, Any], labels: Mapping[str, Any],
        function: str | None, span_ctx: trace.SpanContext | None, now_ns: int,
    ) -> None:
        record: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(now_ns / 1e9, tz=timezone.utc).isoformat(),
            "event": A.EVENT_REQUEST,
            "trace_id": _hex(span_ctx.trace_id, 32) if span_ctx is not None else None,
            "span_id": _hex(span_ctx.span_id, 16) if span_ctx is not None else None,
            "function": function,
            "labels": dict(labels),
        }
        record.update(attrs)
        line = json.dumps(record, separators=(",", ":"), default=str)
        if ledger is not None:
            ledger.write_line((line + "\n").encode("utf-8"))
        if _requests_logger.isEnabledFor(logging.INFO):
            _requests_logger.info(line, extra={"energy_record": record})

    # ----------------------------------------------------------------------- scope spans
    def start_scope_span(self, name: str, labels: Mapping[str, Any]) -> tuple[trace.Span, Any]:
        """Start the INTERNAL span of a tracked function or block; returns it and its context."""
        span = self.tracer.start_span(name, kind=SpanKind.INTERNAL, attributes=labels or None)
        return span, trace.set_span_in_context(span)

    @staticmethod
    def end_scope_span(span: trace.Span, sums: Mapping[str, Any],
                       error: BaseException | None) -> None:
        """Set a scope's sums on its span and end it (ERROR status when `error` is given)."""
        try:
            span.set_attributes(sums)
            if error is not None and not isinstance(error, _STATUS_OK_KINDS):
                span.set_attribute(A.ERROR_TYPE, error_type(error))
                span.set_status(Status(StatusCode.ERROR, error_type(error)))
        finally:
            span.end()

    @staticmethod
    def attach(ctx: Any) -> object:
        """Make a span context current (returns the token for `detach`)."""
        return context.attach(ctx)

    @staticmethod
    def detach(token: object) -> None:
        """Undo `attach`."""
        context.detach(token)  # type: ignore[arg-type]
