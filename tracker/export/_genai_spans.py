"""Reading an LLM call out of another instrumentation's span, and the "never twice" bookkeeping.

`read_call(span)` recognises a span that describes one LLM call and returns its `SpanCall`; any
other span gives None. It reads the OpenTelemetry GenAI semantic conventions (current names and
the deprecated ones still in use: the OpenTelemetry instrumentations, OpenLIT, Logfire),
OpenLLMetry's older ``llm.usage.*`` / ``llm.request.type``, and OpenInference
(``openinference.span.kind`` = ``LLM`` with ``llm.token_count.*``, ``llm.model_name``,
``llm.provider``). The span may be any object with ``attributes``, ``kind``,
``instrumentation_scope.name``, ``name`` and ``context`` (a span read back from an OTLP file).
The SDK's own spans (they carry ``energy.kwh``, or come from its instrumentation scope) are never
read, and neither are spans that sum other calls: agent, workflow, task, tool, chain and
retriever spans (``invoke_agent``, ``execute_tool``, OpenLLMetry's ``traceloop.span.kind``,
OpenInference's other span kinds). Only the operations in `PRICED_OPERATIONS` are calls.

When the SDK's own integration and another instrumentation record one call, the SDK's record
wins. The other span is *covered*: `EnergySpanProcessor` and `EnergyEnrichingSpanExporter` leave
it alone. A span is covered when it is the span current when the SDK's call began (the other
instrumentation patched the client after the SDK, so it runs first), or when it was started
inside the SDK's call (it patched before the SDK): `enter_call()` sets a slot (a context
variable) for the duration of the provider call, the processor's ``on_start`` fills it, and the
SDK's span is then made a child of that span, so both land in one trace in either order.
"""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from tracker import _attributes as A
from tracker._text import clean
from tracker._usage import parse_count

__all__ = [
    "PRICED_OPERATIONS",
    "SpanCall",
    "enter_call",
    "is_covered",
    "leave_call",
    "mark_covered",
    "note_started",
    "read_call",
    "recorded_by_sdk",
    "set_instrumented",
]

#: Operation names (after mapping vendor spellings) that are one model call each.
PRICED_OPERATIONS: Final = frozenset({"chat", "text_completion", "generate_content",
                                      "embeddings"})
#: Vendor operation names -> the semantic-convention one (OpenLLMetry's ``llm.request.type``).
_OPERATION_ALIASES: Final = {"completion": "text_completion", "embedding": "embeddings",
                             "completions": "text_completion"}

# Attribute spellings, most current first (then OpenLLMetry's, then OpenInference's).
_INPUT: Final = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
                 "llm.usage.prompt_tokens", "llm.token_count.prompt")
_OUTPUT: Final = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                  "llm.usage.completion_tokens", "llm.token_count.completion")
_TOTAL: Final = ("gen_ai.usage.total_tokens", "llm.usage.total_tokens", "llm.token_count.total")
_CACHE_READ: Final = (A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
                      "gen_ai.usage.cache_read_input_tokens", "llm.usage.cache_read_input_tokens",
                      "llm.token_count.prompt_details.cache_read")
_CACHE_CREATION: Final = (A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
                          A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
                          "gen_ai.usage.cache_creation_input_tokens",
                          "llm.usage.cache_creation_input_tokens",
                          "llm.token_count.prompt_details.cache_write")
_REASONING: Final = (A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "gen_ai.usage.reasoning_tokens",
                     "llm.usage.reasoning_tokens", "llm.token_count.completion_details.reasoning")
_PROVIDER: Final = (A.GEN_AI_PROVIDER_NAME, "gen_ai.system", "llm.provider", "llm.system")
_OPERATION: Final = (A.GEN_AI_OPERATION_NAME, "llm.request.type", "gen_ai.request.type")
_REQUEST_MODEL: Final = (A.GEN_AI_REQUEST_MODEL, "llm.request.model", "llm.model_name")
_RESPONSE_MODEL: Final = (A.GEN_AI_RESPONSE_MODEL, "llm.response.model")
#: OpenInference's span kind: only ``LLM`` spans are calls (and ``EMBEDDING`` ones, embeddings).
_OPENINFERENCE_KIND: Final = "openinference.span.kind"
_OPENINFERENCE_OPERATIONS: Final = {"LLM": "chat", "EMBEDDING": "embeddings"}
#: OpenLLMetry marks workflow, task, agent and tool spans with this; its LLM spans lack it.
_TRACELOOP_KIND: Final = "traceloop.span.kind"
#: Instrumentation scopes whose call spans are INTERNAL and may lack an operation name
#: (Logfire's OpenAI and Anthropic instrumentations).
_INTERNAL_CALL_SCOPES: Final = ("logfire.openai", "logfire.anthropic")
#: Longest model or provider name read from a span (longer ones are ignored).
_MAX_NAME: Final = 256


@dataclass(frozen=True, slots=True)
class SpanCall:
    """One LLM call as another instrumentation's span described it (no text, only counts)."""

    operation: str
    provider: str | None
    request_model: str | None
    response_model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cache_read_input_tokens: int | None
    cache_creation_input_tokens: int | None
    reasoning_output_tokens: int | None
    #: Instrumentation scope name of the span (``energy.priced_from``).
    scope: str
    trace_id: int
    span_id: int
    start_ns: int | None
    end_ns: int | None


def _first(attrs: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        value = attrs.get(name)
        if value is not None:
            return value
    return None


def _name(value: Any) -> str | None:
    """A name from a foreign span as safe plain text (`tracker._text.clean`), or None."""
    return clean(value, _MAX_NAME) if type(value) is str and 0 < len(value) <= _MAX_NAME else None


#: OpenInference's ``llm.provider`` values -> the conventions' ``gen_ai.provider.name``.
_PROVIDER_ALIASES: Final = {"azure": "azure.ai.openai", "aws": "aws.bedrock",
                            "mistralai": "mistral_ai", "xai": "x_ai"}


def _provider(attrs: Any) -> str | None:
    name = _name(_first(attrs, _PROVIDER))
    return _PROVIDER_ALIASES.get(name, name) if name is not None else None


def scope_name(span: Any) -> str:
    """The instrumentation scope name of a span ("" when it has none)."""
    scope = getattr(span, "instrumentation_scope", None)
    name = getattr(scope, "name", None)
    return name if isinstance(name, str) else ""


def _operation(attrs: Any, kind: Any, scope: str) -> str | None:
    if attrs.get(_TRACELOOP_KIND) is not None:
        return None  # an OpenLLMetry workflow, task, agent or tool span
    openinference = attrs.get(_OPENINFERENCE_KIND)
    if openinference is not None:
        if type(openinference) is not str:
            return None
        return _OPENINFERENCE_OPERATIONS.get(openinference.upper())
    raw = _first(attrs, _OPERATION)
    if raw is None:
        # No operation name: a CLIENT span naming a provider and reporting tokens is a chat call,
        # and so is a Logfire LLM span (INTERNAL).
        if _first(attrs, _PROVIDER) is None:
            return None
        return "chat" if kind == SpanKind.CLIENT or scope in _INTERNAL_CALL_SCOPES else None
    if type(raw) is not str:
        return None
    raw = raw.lower()
    return _OPERATION_ALIASES.get(raw, raw)


def read_call(span: Any) -> SpanCall | None:
    """The LLM call `span` (an ended ReadableSpan) describes, or None when it is not one."""
    attrs = span.attributes
    if not attrs or A.ENERGY_KWH in attrs:
        return None
    scope = scope_name(span)
    if scope == A.INSTRUMENTATION_NAME:
        return None
    scope = clean(scope, _MAX_NAME)
    operation = _operation(attrs, getattr(span, "kind", None), scope)
    if operation not in PRICED_OPERATIONS:
        return None
    attrs = dict(attrs)  # one copy: lookups on a plain dict are several times faster
    n_in = parse_count(_first(attrs, _INPUT))
    n_out = parse_count(_first(attrs, _OUTPUT))
    if n_out is None and n_in is not None:
        total = parse_count(_first(attrs, _TOTAL))
        if total is not None and total >= n_in:
            n_out = total - n_in
    if n_in is None and n_out is None:
        return None  # no usage at all: nothing to price (a failed call, a span still lacking it)
    if n_out is None and operation == "embeddings":
        n_out = 0  # an embedding has no output tokens; instrumentations leave the count out
    ctx = getattr(span, "context", None)
    if ctx is None:
        return None
    return SpanCall(
        operation=operation,
        provider=_provider(attrs),
        request_model=_name(_first(attrs, _REQUEST_MODEL)),
        response_model=_name(_first(attrs, _RESPONSE_MODEL)),
        input_tokens=n_in,
        output_tokens=n_out,
        cache_read_input_tokens=parse_count(_first(attrs, _CACHE_READ)),
        cache_creation_input_tokens=parse_count(_first(attrs, _CACHE_CREATION)),
        reasoning_output_tokens=parse_count(_first(attrs, _REASONING)),
        scope=scope,
        trace_id=ctx.trace_id,
        span_id=ctx.span_id,
        start_ns=getattr(span, "start_time", None),
        end_ns=getattr(span, "end_time", None),
    )


# ----------------------------------------------------------------------------- never twice

#: True once an `EnergySpanProcessor` or `EnergyEnrichingSpanExporter` exists: until then the
#: SDK's integrations skip the bookkeeping below entirely.
ACTIVE = False
_MAX_COVERED: Final = 16384
_covered: OrderedDict[int, None] = OrderedDict()
_covered_lock = threading.Lock()


def activate() -> None:
    """Turn the bookkeeping on (called when a processor or exporter wrapper is created)."""
    global ACTIVE
    ACTIVE = True


def mark_covered(span_id: int) -> None:
    """Record that the SDK's own integration recorded the call of span `span_id`."""
    with _covered_lock:
        _covered[span_id] = None
        if len(_covered) > _MAX_COVERED:
            _covered.popitem(last=False)


def is_covered(span_id: int) -> bool:
    """Whether the call of span `span_id` was recorded by the SDK's own integration."""
    with _covered_lock:
        return span_id in _covered


#: Client libraries the SDK's own integrations have patched (``openai``, ``anthropic``...).
_instrumented: set[str] = set()


def set_instrumented(library: str, active: bool) -> None:
    """Record that the SDK's integration of `library` was applied (or removed)."""
    if active:
        _instrumented.add(library)
    else:
        _instrumented.discard(library)


def recorded_by_sdk(scope: str) -> bool:
    """Whether the instrumentation `scope` instruments a client library the SDK records itself.

    Every call through such a library is the SDK's own record, so that instrumentation's spans
    are never priced, including those the coverage above cannot tie to a call (Logfire logs a
    stream's usage as a separate span once the stream ends). A scope names its library as a
    dotted part: ``opentelemetry.instrumentation.genai.openai``, ``logfire.anthropic``.
    """
    return bool(_instrumented) and not _instrumented.isdisjoint(scope.split("."))


class _Slot:
    """Filled by the processor's ``on_start`` with the first foreign span started in a call."""

    __slots__ = ("span",)

    def __init__(self) -> None:
        self.span: Any = None


# A context variable of our own, not an OpenTelemetry context value: an instrumentation inside
# the call may attach a context it detaches only when its stream ends, after the call returned;
# resetting ours never disturbs that.
_SLOT: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar(
    "llm_energy_tracker_sdk_call", default=None)


def _foreign_call_span(span: Any, *, started: bool = False) -> bool:
    """Whether `span` is another instrumentation's span of an LLM call.

    With `started`, any span of another instrumentation qualifies: it was just started inside an
    SDK call (so it instruments that call: OpenInference and Logfire make INTERNAL spans, the
    others CLIENT ones) and may not carry its attributes yet. Otherwise it must be a CLIENT span
    with GenAI attributes, or an OpenInference LLM span.
    """
    if scope_name(span) == A.INSTRUMENTATION_NAME:
        return False
    if started:
        return True
    attrs = getattr(span, "attributes", None)
    if not attrs:
        return False
    if attrs.get(_OPENINFERENCE_KIND) == "LLM":
        return True
    return getattr(span, "kind", None) == SpanKind.CLIENT \
        and _first(attrs, (*_OPERATION, *_PROVIDER)) is not None


def enter_call() -> tuple[_Slot, contextvars.Token[_Slot | None]]:
    """Begin the provider call of a call the SDK's own integration records.

    Covers the current span when it is another instrumentation's span of this call, and puts a
    slot in the context for spans started inside the call. Returns what `leave_call` takes.
    """
    current = trace.get_current_span()
    if current.is_recording() and _foreign_call_span(current):
        mark_covered(current.get_span_context().span_id)
    slot = _Slot()
    return slot, _SLOT.set(slot)


def leave_call(entered: tuple[_Slot, contextvars.Token[_Slot | None]]) -> trace.SpanContext | None:
    """End what `enter_call` began; returns the GenAI span started inside the call, if any.

    The first CLIENT span another instrumentation started inside the call is taken when, by now,
    it carries GenAI attributes (an instrumentation may set them after starting the span); an
    HTTP client span is not.
    """
    slot, token = entered
    _SLOT.reset(token)
    span = slot.span
    if span is None or not _foreign_call_span(span, started=False):
        return None
    return span.get_span_context()  # type: ignore[no-any-return]


def note_started(span: Any, parent_context: Any) -> None:
    """Processor ``on_start`` hook: cover a foreign CLIENT span started inside an SDK call.

    Covered as it starts (its attributes may come later): a covered span that turns out not
    to be a GenAI call is never priced anyway.
    """
    slot = _SLOT.get()
    if slot is None or not _foreign_call_span(span, started=True):
        return
    mark_covered(span.get_span_context().span_id)
    if slot.span is None:
        slot.span = span
