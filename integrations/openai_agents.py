"""OpenAI Agents SDK integration: agent runs, tool calls and model calls, through a trace processor.

`EnergyTraceProcessor` is an ``agents.tracing.TracingProcessor``; `instrument()` adds it to the
SDK's trace provider (``agents.add_trace_processor``), beside the processors already there. It
reads the spans the SDK opens on its own, and nothing else:

- an agent span (one per agent turn sequence: a hand-off ends one agent's span and starts the
  next agent's) opens an ``invoke_agent {agent name}`` INTERNAL span; a function span (a tool
  call) an ``execute_tool {tool name}`` span. Both are scopes (`tracker.recording._agents`): every
  LLM call inside rolls up into them, and they end with the ``energy.*`` sums of their calls (no
  ``gen_ai.usage.*``: the tokens are on the calls' CLIENT spans).
- a model call (a response span for ``OpenAIResponsesModel``, a generation span for
  ``OpenAIChatCompletionsModel`` and the other chat-completions models) is a framework call
  (`tracker.recording._framework`): when the openai client integration is on, its record of the
  HTTP request is the one record; otherwise the span's own usage (``input_tokens``,
  ``output_tokens``, cached and reasoning details) is recorded when the span ends.

Every call recorded inside an agent run carries ``gen_ai.agent.name``, ``gen_ai.conversation.id``
(the run's ``group_id``, when the application set one), ``energy.framework`` ``openai_agents`` and
``energy.framework.run_name`` (the run's workflow name, ``RunConfig.workflow_name``). Nothing of
the inputs, outputs or instructions is read.

Limits: the SDK calls no processor when tracing is disabled (``RunConfig(tracing_disabled=True)``,
``OPENAI_AGENTS_DISABLE_TRACING=1``, ``set_tracing_disabled(True)``): the model calls are then
still priced by the openai integration, without the agent's name. The SDK has no public way to
remove a processor: `uninstrument()` turns this one off (it then records and opens nothing), and
`instrument()` turns the same one on again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    import agents
    from agents.tracing import TracingProcessor
except ImportError as _exc:  # pragma: no cover - exercised only without openai-agents
    raise IntegrationNotAvailable(
        "the openai_agents integration needs `pip install openai-agents>=0.3.3`"
    ) from _exc

from integrations._compatible_hosts import provider_from_url
from tracker.integration import LLMCall, Usage, count, guard, start_call
from tracker.recording import _agents, _framework
from tracker.setup import _configure as _config

__all__ = ["MIN_VERSION", "NAME", "EnergyTraceProcessor", "instrument", "uninstrument"]

NAME = "openai_agents"
MIN_VERSION = (0, 3)  # the oldest release tested (0.3.3, with openai 1.109)

try:
    from importlib.metadata import version as _version

    _found = tuple(int(p) for p in _version("openai-agents").split(".")[:2] if p.isdigit())
except Exception:  # pragma: no cover - a source checkout without metadata
    _found = MIN_VERSION
if _found < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the openai_agents integration needs openai-agents>="
        f"{'.'.join(map(str, MIN_VERSION))}, found {'.'.join(map(str, _found))}")

#: Spans and traces in flight that one processor keeps; beyond, the oldest are dropped.
_MAX_OPEN = 4096
_MODEL_SPANS = ("generation", "response")


class _ModelCall:
    __slots__ = ("call", "frame")

    def __init__(self, call: LLMCall, frame: _framework.Frame) -> None:
        self.call = call
        self.frame = frame


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _usage(data: Any) -> Usage:
    """A model span's usage (None counts when the SDK recorded none)."""
    usage = _get(data, "usage")
    response = _get(data, "response")
    if usage is None and response is not None:
        usage = _get(response, "usage")
    model = _get(response, "model") if response is not None else None
    model = model if isinstance(model, str) else None
    response_id = _get(response, "id") if response is not None else None
    return Usage(
        count(_get(usage, "input_tokens")), count(_get(usage, "output_tokens")), model,
        cache_read_input_tokens=count(_get(_get(usage, "input_tokens_details"), "cached_tokens")),
        reasoning_output_tokens=count(_get(_get(usage, "output_tokens_details"),
                                           "reasoning_tokens")),
        response_id=response_id if isinstance(response_id, str) else None)


def _provider(data: Any) -> str:
    config = _get(data, "model_config")
    base_url = _get(config, "base_url") if isinstance(config, Mapping) else None
    return provider_from_url(base_url) if isinstance(base_url, str) else "openai"


class EnergyTraceProcessor(TracingProcessor):
    """Prices an Agents SDK run: agent and tool scopes, and each model call once.

    Every hook is guarded: nothing raises into the SDK. Add it yourself with
    ``agents.add_trace_processor(EnergyTraceProcessor())`` (then leave this integration off), or
    let `instrument()` add the shared one.
    """

    def __init__(self) -> None:
        """A processor with nothing in flight."""
        self.active = True
        self._lock = threading.Lock()
        self._traces: dict[str, tuple[str | None, str | None]] = {}  # id -> (workflow, group)
        self._scopes: dict[str, _agents.AgentScope] = {}
        self._calls: dict[str, _ModelCall] = {}

    @staticmethod
    def _keep(table: dict[str, Any], key: str, value: Any) -> None:
        if len(table) >= _MAX_OPEN:
            table.pop(next(iter(table)))
        table[key] = value

    def on_trace_start(self, trace: Any) -> None:
        """A run (or a `trace()` block) starts: keep its workflow name and group id."""
        if not self.active:
            return
        with guard("openai_agents.trace_start"):
            group = getattr(trace, "group_id", None)
            if group is None:
                exported = trace.export()
                group = exported.get("group_id") if isinstance(exported, Mapping) else None
            name = getattr(trace, "name", None)
            with self._lock:
                self._keep(self._traces, str(trace.trace_id), (
                    name if isinstance(name, str) else None,
                    group if isinstance(group, str) else None))

    def on_trace_end(self, trace: Any) -> None:
        """The run ended."""
        with guard("openai_agents.trace_end"), self._lock:
            self._traces.pop(str(trace.trace_id), None)

    def _trace(self, span: Any) -> tuple[str | None, str | None]:
        with self._lock:
            return self._traces.get(str(span.trace_id), (None, None))

    def on_span_start(self, span: Any) -> None:
        """An agent, tool or model span starts."""
        if not self.active or not _config.get_config().enabled:
            return
        with guard("openai_agents.span_start"):
            data = span.span_data
            kind = getattr(data, "type", None)
            if kind == "agent" or kind == "function":
                workflow, group = self._trace(span)
                scope = _agents.open_scope(
                    "invoke_agent" if kind == "agent" else "execute_tool", data.name,
                    framework=NAME, conversation_id=group,
                    tool_type="function" if kind == "function" else None)
                if scope is not None:
                    with self._lock:
                        self._keep(self._scopes, str(span.span_id), scope)
            elif kind in _MODEL_SPANS:
                workflow, _ = self._trace(span)
                names = _framework.attribution_of(NAME, workflow)
                token = _framework.announce(names)
                try:
                    model = _get(data, "model")
                    call = start_call(provider=_provider(data), operation="chat",
                                      request_model=model if isinstance(model, str) else None)
                finally:
                    _framework.withdraw(token)
                entry = _ModelCall(call, _framework.open_frame(names))
                with self._lock:
                    self._keep(self._calls, str(span.span_id), entry)

    def on_span_end(self, span: Any) -> None:
        """The span ended: close its scope, or record its model call unless a client did."""
        with guard("openai_agents.span_end"):
            key = str(span.span_id)
            with self._lock:
                scope = self._scopes.pop(key, None)
                entry = self._calls.pop(key, None)
            error = AgentSpanError() if getattr(span, "error", None) else None
            if scope is not None:
                _agents.close_scope(scope, error)
            if entry is not None:
                _framework.close_frame(entry.frame)
                if not entry.frame.claimed:  # no client integration recorded the request
                    entry.call.finish_usage(_usage(span.span_data), error=error)

    def shutdown(self) -> None:
        """Nothing buffered: spans are emitted by the OpenTelemetry SDK."""

    def force_flush(self) -> None:
        """Nothing buffered."""


class AgentSpanError(Exception):
    """The Agents SDK marked the span as failed (its message is not kept: it may quote text)."""


_processor = EnergyTraceProcessor()
_processor.active = False
_registered = False
_registration = threading.Lock()


def instrument() -> None:
    """Add the shared processor to the SDK's trace provider (once), and turn it on."""
    global _registered
    with _registration:
        if not _registered:
            agents.add_trace_processor(_processor)
            _registered = True
        _processor.active = True


def uninstrument() -> None:
    """Turn the shared processor off; scopes and calls still open are ended now."""
    _processor.active = False
    with _processor._lock:
        scopes = list(_processor._scopes.values())
        calls = list(_processor._calls.values())
        _processor._scopes.clear()
        _processor._calls.clear()
        _processor._traces.clear()
    for scope in scopes:
        _agents.close_scope(scope)
    for entry in calls:
        _framework.close_frame(entry.frame)
