"""Pydantic AI integration: agent runs, tool calls and model calls, from Pydantic AI's own tracing.

Pydantic AI describes every agent run (``invoke_agent {agent}``), model request (``chat
{model}``) and tool call (``execute_tool {tool}``) as OpenTelemetry spans, through the tracer of
its ``InstrumentationSettings``. `instrument()` sets, with the public
``Agent.instrument_all(InstrumentationSettings(tracer_provider=...))``, a tracer provider of this
module's own that exports nothing: it only listens. Its spans never become spans of their own
(the current span stays what it was, so every span the SDK emits nests under the application's),
and of what Pydantic AI tells them only names, identifiers and token counts are read (content
recording is turned off):

- an agent run opens an ``invoke_agent {agent}`` INTERNAL scope and a tool call an ``execute_tool
  {tool}`` one (`tracker.recording._agents`), which end with the ``energy.*`` sums of the calls
  made inside (no ``gen_ai.usage.*``);
- a model request is a framework call (`tracker.recording._framework`): when a client integration
  (openai, anthropic, ...) records the HTTP request, that is the one record; otherwise the request's
  own usage (``gen_ai.usage.*`` on Pydantic AI's span) is recorded when it ends.

Every call recorded inside a run carries ``gen_ai.agent.name``, ``gen_ai.conversation.id`` and
``energy.framework`` ``pydantic_ai``.

Pydantic AI's spans sent to OpenTelemetry yourself (``Agent(instrument=True)``,
``Agent.instrument_all()``, Logfire) are priced instead by `tracker.EnergySpanProcessor` on that
tracer provider, with the same numbers (the same token counts, priced by the same code), but
without the agent scopes. Never both: an agent built with ``instrument=`` keeps its own settings
and is not seen by this integration, and `instrument()` leaves an ``instrument_all`` setting made
before it alone (it logs a warning and stays off).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    import pydantic_ai
    from pydantic_ai import Agent
    from pydantic_ai.models.instrumented import InstrumentationSettings
except ImportError as _exc:  # pragma: no cover - exercised only without pydantic-ai
    raise IntegrationNotAvailable(
        "the pydantic_ai integration needs `pip install pydantic-ai-slim>=2.78`"
    ) from _exc

from opentelemetry import metrics, trace
from opentelemetry.util.types import AttributeValue

from integrations._framework_call import FrameworkCall
from tracker.integration import Usage, count, guard, start_call
from tracker.recording import _agents, _framework
from tracker.setup import _configure as _config

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "pydantic_ai"
MIN_VERSION = (2, 78)  # the oldest release tested; 1.x needs an older OpenTelemetry API

if tuple(int(p) for p in pydantic_ai.__version__.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the pydantic_ai integration needs pydantic-ai-slim>="
        f"{'.'.join(map(str, MIN_VERSION))}, found {pydantic_ai.__version__}")

_log = logging.getLogger("tracker.integrations.pydantic_ai")
_MODEL_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
_MAX_NAME = 256


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_NAME else None


class _Heard(trace.NonRecordingSpan):
    """What Pydantic AI believes is its span: it keeps the attributes told, and ends a hook.

    Its span context is the one current when it started, so making it current changes nothing
    for the spans the SDK (or anything else) emits under it.
    """

    def __init__(self, context: trace.SpanContext, attributes: Mapping[str, Any] | None,
                 on_end: Any) -> None:
        super().__init__(context)
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.failed = False
        self._on_end = on_end

    def is_recording(self) -> bool:
        return True

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        self.attributes.update(attributes)

    def set_status(self, status: Any, description: str | None = None) -> None:
        code = getattr(status, "status_code", status)
        self.failed = code == trace.StatusCode.ERROR

    def end(self, end_time: int | None = None) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            with guard("pydantic_ai.span_end"):
                on_end(self)


class _Failed(Exception):
    """Pydantic AI marked the span as failed (its description is not kept: it may quote text)."""


def _usage(attrs: Mapping[str, Any]) -> Usage:
    response_id = _str(attrs.get("gen_ai.response.id"))
    return Usage(count(attrs.get("gen_ai.usage.input_tokens")),
                 count(attrs.get("gen_ai.usage.output_tokens")),
                 _str(attrs.get("gen_ai.response.model")),
                 cache_read_input_tokens=count(attrs.get("gen_ai.usage.cache_read.input_tokens")),
                 cache_creation_input_tokens=count(
                     attrs.get("gen_ai.usage.cache_write.input_tokens")),
                 reasoning_output_tokens=count(
                     attrs.get("gen_ai.usage.details.reasoning_tokens")),
                 response_id=response_id)


def _begin(name: str, attributes: Mapping[str, Any] | None) -> Any:
    """Open what a Pydantic AI span stands for; returns the hook its end runs, or None."""
    if not _state.active or not _config.get_config().enabled:
        return None
    attrs = attributes or {}
    operation = attrs.get("gen_ai.operation.name")
    if operation == "invoke_agent" or operation == "execute_tool":
        agent = operation == "invoke_agent"
        scope = _agents.open_scope(
            operation, attrs.get("gen_ai.agent.name" if agent else "gen_ai.tool.name"),
            framework=NAME, conversation_id=attrs.get("gen_ai.conversation.id"),
            tool_call_id=None if agent else attrs.get("gen_ai.tool.call.id"),
            tool_type=None if agent else "function")
        if scope is None:
            return None
        return lambda span: _agents.close_scope(scope, _Failed() if span.failed else None)
    if operation in _MODEL_OPERATIONS:
        names = _framework.attribution_of(NAME, None)
        token = _framework.announce(names)
        try:
            model = name.split(" ", 1)[1] if " " in name else None
            call = start_call(provider=_str(attrs.get("gen_ai.provider.name")),
                              operation=operation, request_model=model)
        finally:
            _framework.withdraw(token)
        entry = FrameworkCall(call, _framework.open_frame(names))
        return lambda span: _end_model(entry, span)
    return None


def _end_model(entry: FrameworkCall, span: _Heard) -> None:
    _framework.close_frame(entry.frame)
    if entry.claimed():  # a client integration recorded the request
        return
    attrs = span.attributes
    call = entry.call
    provider = _str(attrs.get("gen_ai.provider.name")) or _str(attrs.get("gen_ai.system"))
    if provider is not None and call.provider is None:
        call.provider = provider
    model = _str(attrs.get("gen_ai.request.model"))
    if model is not None:
        call.model = model
    call.finish_usage(_usage(attrs), error=_Failed() if span.failed else None)


class _Tracer(trace.Tracer):
    """Hands Pydantic AI's spans to `_begin`; they become `_Heard` spans (see there)."""

    def start_span(self, name: str, context: Any = None,
                   kind: trace.SpanKind = trace.SpanKind.INTERNAL,
                   attributes: Any = None, links: Any = None, start_time: int | None = None,
                   record_exception: bool = True, set_status_on_exception: bool = True
                   ) -> trace.Span:
        on_end = None
        with guard("pydantic_ai.span_start"):
            on_end = _begin(name, attributes)
        current = trace.get_current_span().get_span_context()
        return _Heard(current, attributes, on_end)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]  # the API's own decorator is private
            self, name: str, context: Any = None,
                              kind: trace.SpanKind = trace.SpanKind.INTERNAL,
                              attributes: Any = None, links: Any = None,
                              start_time: int | None = None, record_exception: bool = True,
                              set_status_on_exception: bool = True, end_on_exit: bool = True
                              ) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(span, end_on_exit=end_on_exit, record_exception=False,
                            set_status_on_exception=set_status_on_exception) as current:
            yield current


class _Provider(trace.TracerProvider):
    def get_tracer(self, instrumenting_module_name: str,
                   instrumenting_library_version: str | None = None,
                   schema_url: str | None = None,
                   attributes: Any = None) -> trace.Tracer:
        return _tracer


class _State:
    def __init__(self) -> None:
        self.active = False
        self.previous: object = False
        self.lock = threading.Lock()


_state = _State()
_tracer = _Tracer()


def _settings() -> InstrumentationSettings:
    options: dict[str, Any] = {"tracer_provider": _Provider(),
                               "meter_provider": metrics.NoOpMeterProvider(),
                               "include_content": False, "include_binary_content": False}
    try:
        return InstrumentationSettings(**options)
    except TypeError:  # an option this release does not have
        return InstrumentationSettings(tracer_provider=options["tracer_provider"])


def instrument() -> None:
    """Listen to every agent's tracing (``Agent.instrument_all``) and turn the hooks on."""
    with _state.lock:
        if _state.active:
            return
        previous = getattr(Agent, "_instrument_default", False)
        if previous not in (False, None):  # the application sends Pydantic AI's spans somewhere
            _log.warning("Pydantic AI's tracing is already set (Agent.instrument_all): the "
                         "pydantic_ai integration stays off; price those spans with "
                         "tracker.EnergySpanProcessor")
            return
        _state.previous = previous
        Agent.instrument_all(_settings())
        _state.active = True


def uninstrument() -> None:
    """Put the previous ``instrument_all`` setting back; nothing more is recorded."""
    with _state.lock:
        if not _state.active:
            return
        _state.active = False
        previous = _state.previous
        Agent.instrument_all(previous if isinstance(previous, (bool, InstrumentationSettings))
                             else False)
