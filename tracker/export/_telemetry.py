"""The only module that writes OpenTelemetry data: spans, log records and metrics.

It also hands every per-request record to the local ledger and to the ``tracker.requests``
standard-library logger, so all three outputs carry the same fields. Names come from
`tracker._attributes` (telemetry.md is the contract).

Providers passed to `configure()` are used; otherwise the global ones, followed: each call reads
which global tracer, meter and logger providers are set (three module attributes of the
OpenTelemetry API, read without calling it) and, when one was set or replaced since the last
call, takes its tracer, meter instruments or logger before emitting, so the next call's span goes
to the provider set last, even one replaced after `configure()`. Nothing is configured globally.
A signal whose provider is neither passed nor set globally (or is a no-op one) is not emitted at
all: with no provider and no ledger, a recorded call makes no OpenTelemetry API call. Every
emission step is guarded separately: a failing span processor does not stop the log record, the
metrics or the ledger line.

Cost per call (the hot path; see benchmarks/speed/overhead.py): everything that depends only on the
(pricer, operation, provider, request model) is built once into a `CallStatic`
(`tracker.export._call_attributes`); a call span is started once, at the end of the call, with all
its attributes and its real start time (one attribute validation pass in the SDK instead of one
per `set_attribute`); the metric instruments live in `tracker.export._instruments`.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from opentelemetry import _logs, context, metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from tracker import _attributes as A
from tracker._internal_errors import report
from tracker._version import VERSION
from tracker.export._call_attributes import CallStatic
from tracker.export._global_providers import PROVIDER_ENV, global_providers, is_real
from tracker.export._instruments import MAX_ENERGY_SETS, metrics_for
from tracker.export._ledger import encode_line

if TYPE_CHECKING:
    from tracker.export._ledger import LedgerWriter

__all__ = ["CallStatic", "Telemetry"]

_VERSION = VERSION
_requests_logger = logging.getLogger(A.REQUESTS_LOGGER)
_requests_logger.addHandler(logging.NullHandler())

# The logs API gained `context` and `event_name` on LogRecord in 1.35; older APIs take ids.
_LOG_RECORD_HAS_EVENT_NAME = "event_name" in inspect.signature(_logs.LogRecord.__init__).parameters
_SEVERITY_INFO = _logs.SeverityNumber.INFO
_STATUS_OK_KINDS = (GeneratorExit, StopIteration, StopAsyncIteration)
_CLIENT = SpanKind.CLIENT
_INFO = logging.INFO
_API = A.GEN_AI_USAGE_COST_AMOUNT  # a call's API price, added to its counter when it has one


def error_type(exc: BaseException) -> str:
    """The `error.type` value of an exception: its class's qualified name."""
    return type(exc).__qualname__


def _exception_event(span: Any, exc: BaseException) -> None:
    """The conventions' ``exception`` event, with the class only (a message may quote text)."""
    cls = type(exc)
    module = cls.__module__
    name = cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
    span.add_event(A.EVENT_EXCEPTION, {A.EXCEPTION_TYPE: name})


def _hex(value: int, width: int) -> str | None:
    return format(value, f"0{width}x") if value else None


#: Called with (telemetry, call attributes, labels, parent context) after each priced call when
#: configuration-level budgets are set (`tracker.reduce._budgets`); None costs one check per call.
spend_hook: Any = None


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
        self.ledger = ledger
        self._failed_attrs: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._given = (tracer_provider, meter_provider, logger_provider)
        #: Whether a global provider is used (then `_follow()` watches the globals).
        self._following = any(p is None for p in self._given)
        if self._following and any(env in os.environ for env in PROVIDER_ENV):
            # providers named in the environment: the API's getters load and set them
            trace.get_tracer_provider(), metrics.get_meter_provider(), _logs.get_logger_provider()
        self._seen: tuple[Any, Any, Any] = (None, None, None)
        self._bind(global_providers())

    def _bind(self, seen: tuple[Any, Any, Any]) -> None:
        """Take the tracer, instruments and logger of the given or global providers."""
        name, version = A.INSTRUMENTATION_NAME, _VERSION
        tracer_p, meter_p, logger_p = (given if given is not None else found
                                       for given, found in zip(self._given, seen, strict=True))
        #: Whether call spans, log records, metrics go anywhere (False: not emitted at all).
        self.spans_on = is_real(tracer_p)
        self.logs_on = is_real(logger_p)
        self.metrics_on = is_real(meter_p)
        #: Whether a call needs its parent context: a span or log record is emitted.
        self.traced = self.spans_on or self.logs_on
        self.tracer: trace.Tracer = (tracer_p.get_tracer(name, version) if self.spans_on
                                     else trace.get_tracer(name, version))
        self.logger: _logs.Logger = (logger_p.get_logger(name, version) if self.logs_on
                                     else _logs.get_logger(name, version))
        # Without a real provider the energy sums still count (no API call per call), so a
        # provider the application sets later reports every call (`metrics_for`, the proxy's).
        self._metrics = metrics_for(meter_p)
        self._seen = seen

    def _follow(self) -> None:
        """Rebind when a global provider was set or replaced since the last call."""
        if self._following:
            seen = global_providers()
            if seen != self._seen:
                self._bind(seen)

    # ----------------------------------------------------------------------- call spans
    def end_failed_call(self, name: str, attrs: Mapping[str, Any], error: BaseException,
                        parent: Any, start_ns: int | None, duration_s: float | None,
                        metric_key: tuple[Any, ...]) -> None:
        """Emit the ERROR span (and duration) of a call that failed before reporting any usage."""
        kind = error_type(error)
        self._follow()
        try:
            if self.spans_on:
                span = self.tracer.start_span(name, context=parent, kind=_CLIENT,
                                              attributes={**attrs, A.ERROR_TYPE: kind},
                                              start_time=start_ns)
                span.set_status(Status(StatusCode.ERROR, kind))
                _exception_event(span, error)
                span.end()
        except Exception as exc:
            report("telemetry.call_span", exc)
        if duration_s is not None and self.metrics_on:
            try:
                base = self._failed_attrs.get(metric_key)
                if base is None:
                    if len(self._failed_attrs) >= MAX_ENERGY_SETS:
                        self._failed_attrs.clear()
                    operation, provider, model, server = metric_key
                    base = {A.GEN_AI_OPERATION_NAME: operation}
                    if provider:
                        base[A.GEN_AI_PROVIDER_NAME] = provider
                    if model:
                        base[A.GEN_AI_REQUEST_MODEL] = model
                    if server is not None:
                        base[A.SERVER_ADDRESS] = server[0]
                        if server[1] is not None:
                            base[A.SERVER_PORT] = server[1]
                    self._failed_attrs[metric_key] = base
                self._metrics.duration.record(duration_s, {**base, A.ERROR_TYPE: kind})
            except Exception as exc:
                report("telemetry.metrics", exc)

    def emit_call(
        self,
        static: CallStatic,
        attrs: dict[str, Any],
        labels: Mapping[str, Any],
        function: str | None = None,
        parent: Any = None,
        start_ns: int | None = None,
        duration_s: float | None = None,
        error: BaseException | None = None,
        chunks: tuple[float, list[float]] | None = None,
    ) -> None:
        """Emit one priced call: span, log record, metrics, ledger line, stdlib log record.

        The CLIENT span is started and ended here, as a child of `parent` (the context current
        when the call began; None: the current one) with start time `start_ns` (None: now).
        `chunks`, for a stream that delivered any: (seconds to the first chunk, seconds between
        each later chunk and the one before it).
        """
        if self._following:
            self._follow()
        full = {**labels, **attrs} if labels else attrs
        span: Any = None
        try:
            if self.spans_on:
                span_attrs = full if error is None else {**full, A.ERROR_TYPE: error_type(error)}
                span = self.tracer.start_span(static.name, context=parent, kind=_CLIENT,
                                              attributes=span_attrs, start_time=start_ns)
                if error is not None:
                    span.set_status(Status(StatusCode.ERROR, error_type(error)))
                    _exception_event(span, error)
                span.end()
        except Exception as exc:
            report("telemetry.call_span", exc)
        now_ns = time.time_ns()
        try:
            if self.logs_on:
                self._emit_log(span, full, now_ns)
        except Exception as exc:
            report("telemetry.log", exc)
        try:
            if self.metrics_on:
                self._record_metrics(static, attrs, function, duration_s, error, chunks)
            else:
                self._metrics.add((*static.energy_key, function), attrs[A.ENERGY_KWH],
                                  attrs[A.ENERGY_GCO2E], attrs[A.ENERGY_USD], attrs.get(_API))
        except Exception as exc:
            report("telemetry.metrics", exc)
        hook = spend_hook
        if hook is not None:
            try:
                hook(self, attrs, labels, parent)
            except Exception as exc:
                report("telemetry.budgets", exc)
        ledger = self.ledger
        if ledger is not None or _requests_logger.isEnabledFor(_INFO):
            try:
                span_ctx = span.get_span_context() if span is not None else None
                self._write_record(ledger, attrs, labels, function, span_ctx, now_ns)
            except Exception as exc:
                report("telemetry.ledger", exc)

    def emit_priced_span(self, static: CallStatic, attrs: dict[str, Any],
                         labels: Mapping[str, Any], span_context: trace.SpanContext) -> None:
        """Emit a call priced from another instrumentation's span: no span of our own.

        The log record goes out in that span's trace context, the ledger line carries its trace
        and span ids, and the energy counters count the call. The ``gen_ai.client.*`` histograms
        are left to the instrumentation that made the span (it records them itself).
        """
        self._follow()
        full = {**labels, **attrs} if labels else attrs
        span = trace.NonRecordingSpan(span_context)
        now_ns = time.time_ns()
        try:
            if self.logs_on:
                self._emit_log(span, full, now_ns)
        except Exception as exc:
            report("telemetry.log", exc)
        try:
            self._metrics.add((*static.energy_key, None), attrs[A.ENERGY_KWH],
                              attrs[A.ENERGY_GCO2E], attrs[A.ENERGY_USD], attrs.get(_API))
        except Exception as exc:
            report("telemetry.metrics", exc)
        hook = spend_hook
        if hook is not None:  # configured budgets count these calls too
            try:
                hook(self, attrs, labels, trace.set_span_in_context(span))
            except Exception as exc:
                report("telemetry.budgets", exc)
        ledger = self.ledger
        if ledger is not None or _requests_logger.isEnabledFor(_INFO):
            try:
                self._write_record(ledger, attrs, labels, None, span_context, now_ns)
            except Exception as exc:
                report("telemetry.ledger", exc)

    def _emit_log(self, span: trace.Span | None, attrs: dict[str, Any], now_ns: int) -> None:
        if _LOG_RECORD_HAS_EVENT_NAME:
            record = _logs.LogRecord(
                timestamp=now_ns,
                context=trace.set_span_in_context(span) if span is not None else None,
                severity_text="INFO", severity_number=_SEVERITY_INFO, attributes=attrs,
                event_name=A.EVENT_REQUEST,
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

    def _record_metrics(self, static: CallStatic, attrs: Mapping[str, Any], function: str | None,
                        duration_s: float | None, error: BaseException | None,
                        chunks: tuple[float, list[float]] | None = None) -> None:
        (instruments := self._metrics).add(
            static.energy_row if function is None else (*static.energy_key, function),
            attrs[A.ENERGY_KWH], attrs[A.ENERGY_GCO2E], attrs[A.ENERGY_USD], attrs.get(_API))
        base, token_in, token_out = static.metric_attributes(attrs.get(A.GEN_AI_RESPONSE_MODEL))
        tokens = instruments.tokens
        tokens.record(attrs[A.GEN_AI_USAGE_INPUT_TOKENS], token_in)
        tokens.record(attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS], token_out)
        if chunks is not None:
            instruments.first_chunk.record(chunks[0], base)
            per_chunk = instruments.per_chunk
            for gap in chunks[1]:
                per_chunk.record(gap, base)
        if duration_s is not None:
            if error is not None:
                base = {**base, A.ERROR_TYPE: error_type(error)}
            instruments.duration.record(duration_s, base)

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
        line = encode_line(record)  # strict JSON: a NaN label or figure is written as null
        if ledger is not None:
            ledger.write_line((line + "\n").encode("utf-8"))
        if _requests_logger.isEnabledFor(_INFO):
            _requests_logger.info(line, extra={"energy_record": record})

    def write_training_record(self, span: Any, attrs: Mapping[str, Any],
                              labels: Mapping[str, Any], function: str | None) -> None:
        """Write a scope's training estimate as one ledger line (event ``energy.training``)."""
        if self.ledger is None:
            return
        span_ctx = span.get_span_context() if span is not None else None
        record: dict[str, Any] = {
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "event": A.EVENT_TRAINING,
            "trace_id": _hex(span_ctx.trace_id, 32) if span_ctx is not None else None,
            "span_id": _hex(span_ctx.span_id, 16) if span_ctx is not None else None,
            "function": function,
            "labels": dict(labels),
        }
        record.update(attrs)
        self.ledger.write_line((encode_line(record) + "\n").encode("utf-8"))

    def budget_exceeded(self, span: Any, attrs: Mapping[str, Any], *, parent: Any = None) -> None:
        """Emit `energy.budget.exceeded`: an event on `span` and a WARNING log record.

        `span` None: the span current in `parent` (a context; None: the current context).
        """
        if span is None:
            span = trace.get_current_span(parent)
        try:
            if span is not None and span.is_recording():
                span.add_event(A.EVENT_BUDGET_EXCEEDED, dict(attrs))
        except Exception as exc:
            report("telemetry.budget_event", exc)
        try:
            ctx = trace.set_span_in_context(span) if span is not None else None
            if _LOG_RECORD_HAS_EVENT_NAME:
                record = _logs.LogRecord(
                    timestamp=time.time_ns(), context=ctx, severity_text="WARN",
                    severity_number=_logs.SeverityNumber.WARN, attributes=dict(attrs),
                    event_name=A.EVENT_BUDGET_EXCEEDED, body=A.EVENT_BUDGET_EXCEEDED,
                )
            else:  # pragma: no cover - opentelemetry-api < 1.35
                record = _logs.LogRecord(
                    timestamp=time.time_ns(), severity_text="WARN",
                    severity_number=_logs.SeverityNumber.WARN, body=A.EVENT_BUDGET_EXCEEDED,
                    attributes={**attrs, "event.name": A.EVENT_BUDGET_EXCEEDED},
                )
            self.logger.emit(record)
        except Exception as exc:
            report("telemetry.budget_log", exc)

    # ----------------------------------------------------------------------- scope spans
    def start_scope_span(self, name: str, labels: Mapping[str, Any]) -> tuple[trace.Span, Any]:
        """Start the INTERNAL span of a tracked function or block; returns it and its context."""
        self._follow()
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
