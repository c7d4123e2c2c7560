"""`EnergyEnrichingSpanExporter`: any span exporter, with ``energy.*`` added to GenAI spans.

Wrap the exporter a team already uses (OTLP, console, in-memory)::

    provider.add_span_processor(BatchSpanProcessor(
        tracker.EnergyEnrichingSpanExporter(OTLPSpanExporter())))

On the export thread, every span that describes one LLM call (another instrumentation's span,
see `tracker.export._genai_spans.read_call`) is priced with the configured deployment and
exported with the ``energy.*`` attributes of an SDK call span added, plus ``energy.priced_from``;
its own attributes are kept as they are. An ended span is immutable, so an enriched span is a
copy with the extra attributes; every other span is passed on as it came. The SDK's own spans
already carry ``energy.*``, and a span whose call the SDK's own integration recorded is left
unchanged, so no call is priced twice. A pricing failure is logged once and the batch goes out
unenriched: the wrapped exporter always receives every span.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.util.types import Attributes

from tracker import _attributes as A
from tracker._internal_errors import report
from tracker.export import _genai_spans as G
from tracker.recording._span_pricing import price_call

__all__ = ["EnergyEnrichingSpanExporter"]

_ENERGY_PREFIX = "energy."


def _enriched(span: ReadableSpan, extra: dict[str, Any]) -> ReadableSpan:
    """A copy of ended `span` with `extra` attributes added (its own kept, dropped count kept)."""
    merged: dict[str, Any] = {**extra, **(span.attributes or {})}
    try:
        from opentelemetry.attributes import BoundedAttributes

        old = getattr(span, "_attributes", None)
        attrs: Attributes = BoundedAttributes(attributes=merged, immutable=True,
                                              max_value_len=getattr(old, "max_value_len", None))
        if isinstance(old, BoundedAttributes):
            attrs.dropped = old.dropped  # type: ignore[union-attr]
    except ImportError:  # pragma: no cover - every supported SDK has BoundedAttributes
        attrs = merged
    clone = copy.copy(span)
    clone._attributes = attrs
    return clone


class EnergyEnrichingSpanExporter(SpanExporter):
    """Wraps `exporter`; GenAI spans it receives carry the ``energy.*`` attributes."""

    def __init__(self, exporter: SpanExporter) -> None:
        G.activate()
        self._exporter = exporter

    @property
    def exporter(self) -> SpanExporter:
        """The wrapped exporter."""
        return self._exporter

    def _enrich(self, span: ReadableSpan) -> ReadableSpan:
        attrs = span.attributes
        if not attrs or A.ENERGY_KWH in attrs:
            return span
        ctx = span.context
        if ctx is None or G.is_covered(ctx.span_id):
            return span
        call = G.read_call(span)
        if call is None or G.recorded_by_sdk(call.scope):
            return span
        priced = price_call(call)
        if priced is None:
            return span
        extra = {k: v for k, v in priced[2].items() if k.startswith(_ENERGY_PREFIX)}
        return _enriched(span, extra)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Enrich the GenAI spans of the batch, then export all of it with the wrapped exporter."""
        out: list[ReadableSpan] = []
        for span in spans:
            try:
                out.append(self._enrich(span))
            except Exception as exc:
                report("span_pricing.enrich", exc)
                out.append(span)
        return self._exporter.export(out)

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return self._exporter.force_flush(timeout_millis)
