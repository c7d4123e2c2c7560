"""OTLP JSON trace files: the collector's ``file`` exporter, one ExportTraceServiceRequest a line.

Each span is adapted into the shape of an ended SDK span (``attributes``, ``kind``,
``instrumentation_scope``, ``context``, ``start_time``, ``end_time``) and handed to the SDK's one
reader of foreign spans, `tracker.export._genai_spans.read_call`: it knows the GenAI
semantic-convention names and the vendor spellings, skips agent, workflow and tool spans, and
skips the SDK's own priced spans (they carry ``energy.kwh``), so nothing is priced twice. Only
scalar attributes are adapted, and strings longer than a name never are: message text stays in
the file. The resource's ``service.name`` is the row's project.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind

from tracker.export._genai_spans import read_call
from tracker.footprint._schema import MAX_NAME, UsageRow, name, timestamp

if TYPE_CHECKING:
    from tracker.footprint.formats import ReadContext

NAME = "otlp-json"
KIND = "json"
#: OTLP's SpanKind enum (1 INTERNAL ... 5 CONSUMER; 0 unspecified) -> the API's.
_KINDS = {1: SpanKind.INTERNAL, 2: SpanKind.SERVER, 3: SpanKind.CLIENT, 4: SpanKind.PRODUCER,
          5: SpanKind.CONSUMER, "SPAN_KIND_INTERNAL": SpanKind.INTERNAL,
          "SPAN_KIND_SERVER": SpanKind.SERVER, "SPAN_KIND_CLIENT": SpanKind.CLIENT,
          "SPAN_KIND_PRODUCER": SpanKind.PRODUCER, "SPAN_KIND_CONSUMER": SpanKind.CONSUMER}
_MAX_ATTRIBUTES = 256


@dataclass(frozen=True, slots=True)
class _Scope:
    name: str


@dataclass(frozen=True, slots=True)
class _Context:
    trace_id: int
    span_id: int


@dataclass(frozen=True, slots=True)
class _Span:
    """An OTLP JSON span as `read_call` reads an SDK span."""

    name: str
    attributes: dict[str, Any]
    kind: SpanKind
    instrumentation_scope: _Scope
    context: _Context
    start_time: int | None
    end_time: int | None


def sniff(first: Any) -> bool:
    """An ExportTraceServiceRequest."""
    return isinstance(first, dict) and isinstance(first.get("resourceSpans"), list)


def _value(v: Any) -> Any:
    """An AnyValue's scalar (strings only up to a name's length), else None."""
    if not isinstance(v, dict):
        return None
    if "stringValue" in v:
        s = v["stringValue"]
        return s if type(s) is str and len(s) <= MAX_NAME else None
    if "intValue" in v:  # int64 is a string in OTLP JSON
        raw = v["intValue"]
        try:
            return int(raw) if type(raw) in (int, str) and len(str(raw)) <= 20 else None
        except ValueError:
            return None
    if "doubleValue" in v:
        d = v["doubleValue"]
        return float(d) if type(d) in (int, float) else None
    if "boolValue" in v:
        b = v["boolValue"]
        return b if type(b) is bool else None
    return None


def _attributes(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(items, list):
        return out
    for item in items[:_MAX_ATTRIBUTES]:
        if isinstance(item, dict) and type(item.get("key")) is str:
            value = _value(item.get("value"))
            if value is not None:
                out[item["key"]] = value
    return out


def _hex(value: Any) -> int:
    try:
        return int(value, 16) if type(value) is str and len(value) <= 32 else 0
    except ValueError:
        return 0


def _nanos(value: Any) -> int | None:
    try:
        return int(value) if type(value) in (int, str) and len(str(value)) <= 20 else None
    except ValueError:
        return None


def _spans(request: dict[str, Any]) -> Iterator[tuple[str | None, _Span]]:
    for rs in request.get("resourceSpans") or ():
        if not isinstance(rs, dict):
            continue
        resource = rs.get("resource")
        service = name(_attributes(resource.get("attributes")).get("service.name")
                       if isinstance(resource, dict) else None)
        for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or ():
            if not isinstance(ss, dict):
                continue
            scope = ss.get("scope") or ss.get("instrumentationLibrary") or {}
            scope_name = scope.get("name") if isinstance(scope, dict) else None
            for span in ss.get("spans") or ():
                if not isinstance(span, dict):
                    continue
                yield service, _Span(
                    name=str(span.get("name", ""))[:MAX_NAME],
                    attributes=_attributes(span.get("attributes")),
                    kind=_KINDS.get(span.get("kind"), SpanKind.INTERNAL),
                    instrumentation_scope=_Scope(scope_name if type(scope_name) is str else ""),
                    context=_Context(_hex(span.get("traceId")), _hex(span.get("spanId"))),
                    start_time=_nanos(span.get("startTimeUnixNano")),
                    end_time=_nanos(span.get("endTimeUnixNano")))


def read(records: Iterable[tuple[int, Any]], ctx: ReadContext) -> Iterator[UsageRow]:
    """One row per span that describes one LLM call."""
    for line, rec in records:
        if not isinstance(rec, dict) or not isinstance(rec.get("resourceSpans"), list):
            ctx.missing(line, "resourceSpans")
            continue
        ctx.ok()
        for service, span in _spans(rec):
            call = read_call(span)
            if call is None:
                continue
            yield UsageRow(
                timestamp=timestamp(span.start_time) if span.start_time else None,
                provider=call.provider, model=call.response_model or call.request_model,
                requests=1, input_tokens=call.input_tokens or 0,
                output_tokens=call.output_tokens or 0,
                cached_input_tokens=call.cache_read_input_tokens or 0, project=service)
