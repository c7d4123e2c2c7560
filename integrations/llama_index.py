"""LlamaIndex integration: agent runs, tool calls and model calls, from its instrumentation hooks.

`instrument()` adds a span handler and an event handler to LlamaIndex's root dispatcher
(``llama_index.core.instrumentation.get_dispatcher()``), the public hook every LlamaIndex span and
event passes through; `uninstrument()` removes them. Of what they are told, only names,
identifiers and token counts are read (never messages, prompts or tool arguments):

- an agent workflow run (``FunctionAgent``, ``ReActAgent``, ``CodeActAgent``, ``AgentWorkflow``)
  gives each agent that takes turns in it an ``invoke_agent {agent}`` INTERNAL scope, from the
  agent's first step to the run's end or a hand-off to another agent; each tool call (the run's
  ``call_tool`` step) an ``execute_tool {tool}`` scope under it (`tracker.recording._agents`). A
  sub-agent run inside a tool nests under that tool's scope. They end with the ``energy.*`` sums
  of the calls made inside (no ``gen_ai.usage.*``).
- a model call (an ``LLMChatStartEvent`` / ``LLMCompletionStartEvent`` and its end event) is a
  framework call (`tracker.recording._framework`): when a client integration (openai, anthropic,
  ...) records the HTTP request, that is the one record; otherwise the response's own usage (the
  provider's ``usage`` on ``response.raw``) is recorded when the end event comes. A streamed
  OpenAI chat reports usage only when asked (``additional_kwargs={"stream_options":
  {"include_usage": True}}``); without it the tokens are estimated.

Every call recorded inside an agent run carries ``gen_ai.agent.name`` and ``energy.framework``
``llama_index``; a model call outside agents carries ``energy.framework``.

Workflow steps run in tasks of their own: each step of an agent makes that agent's scope current
for the step's duration, so a call made in any step is attributed to the agent whose turn it is.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    from llama_index.core import __version__ as _li_version
    from llama_index.core.agent.workflow import AgentWorkflow, BaseWorkflowAgent
    from llama_index.core.base.llms.base import BaseLLM
    from llama_index.core.instrumentation import (  # type: ignore[attr-defined,unused-ignore]
        get_dispatcher,
    )
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.events.exception import ExceptionEvent
    from llama_index.core.instrumentation.events.llm import (
        LLMChatEndEvent,
        LLMChatStartEvent,
        LLMCompletionEndEvent,
        LLMCompletionStartEvent,
    )
    from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
except ImportError as _exc:  # pragma: no cover - exercised only without llama-index-core
    raise IntegrationNotAvailable(
        "the llama_index integration needs `pip install llama-index-core>=0.14.25`") from _exc

from integrations._compatible_hosts import provider_from_url
from integrations._framework_call import FrameworkCall
from tracker import _attributes as A
from tracker.integration import Usage, count, guard, start_call
from tracker.recording import _agents, _framework
from tracker.setup import _configure as _config

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "llama_index"
MIN_VERSION = (0, 14)  # the release line tested (0.14.25)

if tuple(int(p) for p in _li_version.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the llama_index integration needs llama-index-core>="
        f"{'.'.join(map(str, MIN_VERSION))}, found {_li_version}")

#: Spans, runs and model calls in flight that the handlers keep; beyond, the oldest are dropped.
_MAX_OPEN = 4096
_MAX_NAME = 256
_AGENTS = (BaseWorkflowAgent, AgentWorkflow)
#: LLM classes (``class_name()``) whose provider is not told by a base URL.
_PROVIDERS = (("anthropic", "anthropic"), ("gemini", "gcp.gemini"), ("vertex", "gcp.vertex_ai"),
              ("mistral", "mistral_ai"), ("cohere", "cohere"), ("ollama", "ollama"),
              ("bedrock", "aws.bedrock"), ("groq", "groq"), ("openai", "openai"))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_NAME else None


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _method(span_id: str) -> str:
    """``AgentWorkflow.run_agent_step-<uuid>`` -> ``run_agent_step``."""
    return span_id.split("-", 1)[0].rsplit(".", 1)[-1]


def _keep(table: dict[str, Any], key: str, value: Any) -> None:
    if len(table) >= _MAX_OPEN:
        table.pop(next(iter(table)))
    table[key] = value


class _Failed(Exception):
    """LlamaIndex reported the span or call as failed (the error is not kept: it may quote text)."""


class _Run:
    """One agent workflow run: the scope of the agent whose turn it is."""

    __slots__ = ("agent", "scope")

    def __init__(self, agent: str | None) -> None:
        self.agent = agent  # a single agent's own name; None for an AgentWorkflow
        self.scope: _agents.AgentScope | None = None


class _Step:
    __slots__ = ("scope", "tokens", "tool")

    def __init__(self, scope: _agents.AgentScope, tokens: Any,
                 tool: _agents.AgentScope | None) -> None:
        self.scope = scope
        self.tokens = tokens
        self.tool = tool


class _State:
    def __init__(self) -> None:
        self.active = False
        self.lock = threading.Lock()
        self.runs: dict[str, _Run] = {}
        self.steps: dict[str, _Step] = {}
        self.llms: dict[str, tuple[str | None, str | None]] = {}  # span -> (provider, model)
        self.calls: dict[str, FrameworkCall] = {}


_state = _State()


def _provider(llm: Any) -> str | None:
    base = _get(llm, "api_base")
    if isinstance(base, str) and base:
        return provider_from_url(base)
    try:
        kind = str(type(llm).class_name()).lower()
    except Exception:
        kind = type(llm).__name__.lower()
    for needle, provider in _PROVIDERS:
        if needle in kind:
            return provider
    return None


def _agent_of(scope: _agents.AgentScope) -> str | None:
    return scope.call_attributes.get(A.GEN_AI_AGENT_NAME)


def _step_agent(run: _Run, event: Any) -> str | None:
    name = _str(_get(event, "current_agent_name"))
    if name is not None:
        return name
    if run.scope is not None:
        return run.agent or _agent_of(run.scope)
    return run.agent


def _enter(id_: str, bound_args: Any, instance: Any, parent: str | None) -> None:
    if not _state.active or not _config.get_config().enabled:
        return
    if isinstance(instance, BaseLLM):
        with _state.lock:
            _keep(_state.llms, id_, (_provider(instance), _str(_get(instance, "model"))))
        return
    if isinstance(instance, _AGENTS) and _method(id_) == "run":
        agent = _str(instance.name) if isinstance(instance, BaseWorkflowAgent) else None
        with _state.lock:
            _keep(_state.runs, id_, _Run(agent))
        return
    with _state.lock:
        run = _state.runs.get(parent) if parent is not None else None
    if run is None:
        return
    event = bound_args.arguments.get("ev") if bound_args is not None else None
    name = _step_agent(run, event)
    if name is None:
        return
    scope = run.scope
    if scope is not None and _agent_of(scope) == name[:_agents.MAX_VALUE]:
        tokens = scope._activate()
    else:  # the run's first agent, or a hand-off
        _agents.close_scope(scope)
        scope = _agents.open_scope("invoke_agent", name, framework=NAME)
        if scope is None:
            return
        tokens, scope._tokens = scope._tokens, None  # this step's context leaves it at the end
        run.scope = scope
    tool = None
    if _method(id_) == "call_tool":
        tool = _agents.open_scope("execute_tool", _get(event, "tool_name"), framework=NAME,
                                  tool_call_id=_get(event, "tool_id"), tool_type="function")
    with _state.lock:
        _keep(_state.steps, id_, _Step(scope, tokens, tool))


def _exit(id_: str, error: BaseException | None) -> None:
    with _state.lock:
        _state.llms.pop(id_, None)
        step = _state.steps.pop(id_, None)
        run = _state.runs.pop(id_, None)
        model = _state.calls.pop(id_, None) if error is not None else None
    if step is not None:
        _agents.close_scope(step.tool, _Failed() if error is not None else None)
        with suppress(ValueError, RuntimeError):  # ended in another context than it started in
            step.scope._deactivate(step.tokens)
    if run is not None:
        _agents.close_scope(run.scope, _Failed() if error is not None else None)
    if model is not None:
        _end_model(model, None, failed=True)


def _usage(response: Any) -> Usage:
    raw = _get(response, "raw")
    usage = _get(raw, "usage")
    extra = _get(response, "additional_kwargs")
    n_in = count(_get(usage, "prompt_tokens"))
    if n_in is None:
        n_in = count(_get(usage, "input_tokens"))
    n_out = count(_get(usage, "completion_tokens"))
    if n_out is None:
        n_out = count(_get(usage, "output_tokens"))
    if n_in is None and n_out is None and isinstance(extra, Mapping):
        n_in, n_out = count(extra.get("prompt_tokens")), count(extra.get("completion_tokens"))
    details_in = _get(usage, "prompt_tokens_details") or _get(usage, "input_tokens_details")
    details_out = (_get(usage, "completion_tokens_details")
                   or _get(usage, "output_tokens_details"))
    cached = count(_get(details_in, "cached_tokens"))
    if cached is None:
        cached = count(_get(usage, "cache_read_input_tokens"))
    return Usage(n_in, n_out, _str(_get(raw, "model")),
                 cache_read_input_tokens=cached,
                 cache_creation_input_tokens=count(_get(usage, "cache_creation_input_tokens")),
                 reasoning_output_tokens=count(_get(details_out, "reasoning_tokens")),
                 response_id=_str(_get(raw, "id")))


def _start_model(event: Any, operation: str) -> None:
    if not _state.active or not _config.get_config().enabled:
        return
    span_id = _str(event.span_id)
    if span_id is None:
        return
    with _state.lock:
        provider, model = _state.llms.get(span_id, (None, None))
    if model is None:
        model = _str(_get(_get(event, "model_dict"), "model_name"))
    names = _framework.attribution_of(NAME, None)
    token = _framework.announce(names)
    try:
        call = start_call(provider=provider, operation=operation, request_model=model)
    finally:
        _framework.withdraw(token)
    entry = FrameworkCall(call, _framework.open_frame(names))
    with _state.lock:
        _keep(_state.calls, span_id, entry)


def _end_model(entry: FrameworkCall, response: Any, *, failed: bool = False) -> None:
    _framework.close_frame(entry.frame)
    if entry.claimed():  # a client integration recorded the request
        return
    usage = _usage(response) if response is not None else Usage(None, None, None)
    entry.call.finish_usage(usage, error=_Failed() if failed else None)


def _event(event: Any) -> None:
    if isinstance(event, LLMChatStartEvent):
        _start_model(event, "chat")
    elif isinstance(event, LLMCompletionStartEvent):
        _start_model(event, "text_completion")
    elif isinstance(event, (LLMChatEndEvent, LLMCompletionEndEvent, ExceptionEvent)):
        with _state.lock:
            entry = _state.calls.pop(str(event.span_id), None)
        if entry is not None:
            failed = isinstance(event, ExceptionEvent)
            _end_model(entry, None if failed else getattr(event, "response", None), failed=failed)


class EnergySpanHandler(BaseSpanHandler[Any]):  # type: ignore[misc,unused-ignore]
    """Opens the agent and tool scopes (see the module); keeps no span of its own."""

    @classmethod
    def class_name(cls) -> str:
        return "EnergySpanHandler"

    def new_span(self, id_: str, bound_args: Any, instance: Any = None,
                 parent_span_id: str | None = None, tags: Any = None, **kwargs: Any) -> None:
        with guard("llama_index.span_enter"):
            _enter(id_, bound_args, instance, parent_span_id)

    def prepare_to_exit_span(self, id_: str, bound_args: Any, instance: Any = None,
                             result: Any = None, **kwargs: Any) -> None:
        with guard("llama_index.span_exit"):
            _exit(id_, None)

    def prepare_to_drop_span(self, id_: str, bound_args: Any, instance: Any = None,
                             err: BaseException | None = None, **kwargs: Any) -> None:
        with guard("llama_index.span_drop"):
            _exit(id_, err if err is not None else _Failed())


class EnergyEventHandler(BaseEventHandler):  # type: ignore[misc,unused-ignore]
    """Records each model call once (see the module)."""

    @classmethod
    def class_name(cls) -> str:
        return "EnergyEventHandler"

    def handle(self, event: Any, **kwargs: Any) -> None:
        with guard("llama_index.event"):
            _event(event)


_span_handler = EnergySpanHandler()
_event_handler = EnergyEventHandler()


def instrument() -> None:
    """Add the handlers to LlamaIndex's root dispatcher (once) and turn them on."""
    with _state.lock:
        root = get_dispatcher()
        if not any(h is _span_handler for h in root.span_handlers):
            root.add_span_handler(_span_handler)
        if not any(h is _event_handler for h in root.event_handlers):
            root.add_event_handler(_event_handler)
        _state.active = True


def uninstrument() -> None:
    """Remove the handlers; scopes and calls still open are ended now."""
    with _state.lock:
        _state.active = False
        root = get_dispatcher()
        root.span_handlers = [h for h in root.span_handlers if h is not _span_handler]
        root.event_handlers = [h for h in root.event_handlers if h is not _event_handler]
        steps = list(_state.steps.values())
        runs = list(_state.runs.values())
        calls = list(_state.calls.values())
        for table in (_state.steps, _state.runs, _state.calls, _state.llms):
            table.clear()
    for step in steps:
        _agents.close_scope(step.tool)
    for run in runs:
        _agents.close_scope(run.scope)
    for entry in calls:
        _framework.close_frame(entry.frame)
