"""CrewAI integration: agent runs and tool calls as scopes, from CrewAI's interception hooks.

`instrument()` registers hooks on CrewAI's public interception points (``crewai.hooks``:
``register_hook`` / ``unregister_hook``); `uninstrument()` unregisters them. CrewAI runs every
hook synchronously where the intercepted work happens, so a hook can make a scope current for
that work (its event bus cannot: its listeners run later, in a thread pool of their own):

- before each model call (``PRE_MODEL_CALL``) and each tool call (``PRE_TOOL_CALL``), the scope
  of the agent making it becomes current: an ``invoke_agent {role}`` INTERNAL scope
  (`tracker.recording._agents`), one per agent, task and enclosing scope, opened at its first call;
- a tool call gets an ``execute_tool {tool}`` scope under its agent's, ended after the tool
  (``POST_TOOL_CALL``); a coworker's run through a delegation tool nests under that tool's scope
  and ends with it;
- the crew's end (``EXECUTION_END``) ends the scopes its run opened.

Each scope ends with the ``energy.*`` sums of the calls made inside it (no ``gen_ai.usage.*``).

A model call (``PRE_MODEL_CALL`` to ``POST_MODEL_CALL``, or to the agent's next hook: CrewAI
runs no post-call hook after a response that asks for tools) is a framework call
(`tracker.recording._framework`). CrewAI's model calls go through client libraries the SDK
instruments (its native OpenAI, Anthropic, Gemini and Bedrock providers, and LiteLLM for the
other models): when one of those integrations records the request, that is the one record;
otherwise the call is priced from CrewAI's own count, the difference of the model object's
``get_token_usage_summary()`` across the call (an LLM object shared by agents running at the
same time may then credit one agent with another's tokens). Every call made inside an agent's
scope carries ``gen_ai.agent.name`` (the agent's role) and ``energy.framework`` ``crewai``.
Nothing of the messages, tool inputs or results is read.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from contextvars import ContextVar
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    import crewai
    from crewai.hooks import InterceptionPoint, register_hook, unregister_hook
except ImportError as _exc:  # pragma: no cover - exercised only without crewai
    raise IntegrationNotAvailable("the crewai integration needs `pip install crewai>=1.15.44`") \
        from _exc

from tracker.integration import LLMCall, Usage, count, guard, start_call
from tracker.recording import _agents, _framework
from tracker.recording._energy_scope import EnergyScope, current_scope
from tracker.setup import _configure as _config

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "crewai"
MIN_VERSION = (1, 15)  # the release line tested (1.15.44; its interception points are recent)

if tuple(int(p) for p in crewai.__version__.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the crewai integration needs crewai>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {crewai.__version__}")

#: Agent scopes open at once; beyond, the oldest is ended.
_MAX_OPEN = 4096

#: The agent scope this context made current in a hook, and its tokens.
_held: ContextVar[tuple[_agents.AgentScope, Any] | None] = ContextVar(
    "tracker_crewai_held", default=None)


class _Open:
    __slots__ = ("crew", "scope")

    def __init__(self, scope: _agents.AgentScope, crew: int | None) -> None:
        self.scope = scope
        self.crew = crew


class _Tool:
    __slots__ = ("held", "outer", "scope")

    def __init__(self, scope: _agents.AgentScope | None, held: Any, outer: _Tool | None) -> None:
        self.scope = scope
        self.held = held
        self.outer = outer  # the tool call this one runs in, if any


#: The tool call in flight in this context (CrewAI runs a tool's hooks in one context).
_tool: ContextVar[_Tool | None] = ContextVar("tracker_crewai_tool", default=None)


class _Model:
    """A model call in flight: its tentative call, frame, and CrewAI's count before it."""

    __slots__ = ("before", "call", "frame", "llm", "scope", "started")

    def __init__(self, call: LLMCall, frame: _framework.Frame, llm: Any,
                 scope: _agents.AgentScope) -> None:
        self.call = call
        self.frame = frame
        self.llm = llm
        self.scope = scope
        self.started = scope.started
        self.before = _summary(llm)

    def end(self) -> None:
        """The call ended: recorded from CrewAI's count unless a client integration recorded it."""
        _framework.close_frame(self.frame)
        if self.frame.claimed or self.scope.started > self.started:
            return  # a client integration recorded the request
        after = _summary(self.llm)
        if after is None or self.before is None:
            return
        delta = after.delta_since(self.before)
        if not (delta.successful_requests or delta.prompt_tokens or delta.completion_tokens):
            return  # no request answered (CrewAI counted nothing)
        model = getattr(self.llm, "model", None)
        self.call.finish_usage(Usage(
            count(delta.prompt_tokens), count(delta.completion_tokens),
            model if isinstance(model, str) else None,
            cache_read_input_tokens=count(delta.cached_prompt_tokens),
            reasoning_output_tokens=count(delta.reasoning_tokens)))


def _summary(llm: Any) -> Any:
    """The LLM object's lifetime token counts (CrewAI's public summary), if it keeps them."""
    summary = getattr(llm, "get_token_usage_summary", None)
    found = summary() if callable(summary) else None
    return found if callable(getattr(found, "delta_since", None)) else None


class _State:
    def __init__(self) -> None:
        self.active = False
        self.lock = threading.Lock()
        #: (agent, task, enclosing scope) -> its open agent scope.
        self.agents: dict[tuple[int, int, int], _Open] = {}
        #: Tool calls in flight (ended by `uninstrument()` if still open).
        self.tools: dict[int, _Tool] = {}
        #: Agent -> its model call in flight.
        self.models: dict[int, _Model] = {}


_state = _State()


def _end_models(which: Any) -> None:
    """End the model calls in flight that `which(agent id, entry)` selects."""
    with _state.lock:
        keys = [key for key, entry in _state.models.items() if which(key, entry)]
        ended = [_state.models.pop(key) for key in keys]
    for entry in ended:
        entry.end()


def _start_model(ctx: Any, scope: _agents.AgentScope) -> None:
    """A model call starts inside `scope`: a tentative call and a frame around the request."""
    llm = getattr(ctx, "llm", None)
    model = getattr(llm, "model", None)
    provider = getattr(llm, "provider", None)
    names = _framework.attribution_of(NAME, None)
    token = _framework.announce(names)
    try:
        call = start_call(provider=provider if isinstance(provider, str) else None,
                          operation="chat", request_model=model if isinstance(model, str)
                          else None)
    finally:
        _framework.withdraw(token)
    entry = _Model(call, _framework.open_frame(names), llm, scope)
    with _state.lock:
        _state.models[id(ctx.agent)] = entry
        dropped = (_state.models.pop(next(iter(_state.models)))
                   if len(_state.models) > _MAX_OPEN else None)
    if dropped is not None:
        _framework.close_frame(dropped.frame)


def _release() -> None:
    """Undo what a hook made current in this context (a model call's hook left it)."""
    held = _held.get()
    if held is not None:
        _held.set(None)
        with suppress(ValueError, RuntimeError):  # made current in another context
            held[0]._deactivate(held[1])


def _agent_scope(ctx: Any) -> tuple[_agents.AgentScope, Any] | None:
    """The scope of the agent the hook's context names, made current here (with its tokens)."""
    agent = getattr(ctx, "agent", None)
    role = getattr(agent, "role", None)
    if agent is None or not isinstance(role, str):
        return None
    _end_models(lambda key, entry: key == id(agent))  # its previous call asked for tools
    _release()
    parent: EnergyScope | None = current_scope()
    crew = getattr(ctx, "crew", None)
    key = (id(agent), id(getattr(ctx, "task", None)), id(parent))
    with _state.lock:
        entry = _state.agents.get(key)
    if entry is not None and entry.scope._span is not None:
        return entry.scope, entry.scope._activate()
    scope = _agents.open_scope("invoke_agent", role, framework=NAME)
    if scope is None:
        return None
    tokens, scope._tokens = scope._tokens, None  # the hook's caller leaves it (see `_release`)
    ended = None
    with _state.lock:
        if len(_state.agents) >= _MAX_OPEN:
            ended = _state.agents.pop(next(iter(_state.agents)))
        _state.agents[key] = _Open(scope, id(crew) if crew is not None else None)
    if ended is not None:
        _agents.close_scope(ended.scope)
    return scope, tokens


def _before_model(ctx: Any) -> None:
    with guard("crewai.before_model"):
        if _state.active and _config.get_config().enabled:
            found = _agent_scope(ctx)
            if found is not None:
                _held.set(found)
                _start_model(ctx, found[0])
    return None


def _after_model(ctx: Any) -> None:
    with guard("crewai.after_model"):
        agent = getattr(ctx, "agent", None)
        _end_models(lambda key, entry: key == id(agent))
        _release()
    return None


def _before_tool(ctx: Any) -> None:
    with guard("crewai.before_tool"):
        if not _state.active or not _config.get_config().enabled:
            return None
        found = _agent_scope(ctx)
        scope = _agents.open_scope("execute_tool", getattr(ctx, "tool_name", None),
                                   framework=NAME, tool_type="function")
        tool = _Tool(scope, found, _tool.get())
        _tool.set(tool)
        with _state.lock:
            _state.tools[id(tool)] = tool
            while len(_state.tools) > _MAX_OPEN:
                _state.tools.pop(next(iter(_state.tools)))
    return None


def _after_tool(ctx: Any) -> None:
    with guard("crewai.after_tool"):
        tool = _tool.get()
        if tool is None:
            return None
        _tool.set(tool.outer)
        with _state.lock:
            _state.tools.pop(id(tool), None)
        if tool.scope is not None:
            _close_agents(lambda key, entry: key[2] == id(tool.scope))  # coworkers inside
            _agents.close_scope(tool.scope)
        if tool.held is not None:
            with suppress(ValueError, RuntimeError):
                tool.held[0]._deactivate(tool.held[1])
    return None


def _close_agents(which: Any, error: BaseException | None = None) -> None:
    with _state.lock:
        keys = [key for key, entry in _state.agents.items() if which(key, entry)]
        ended = [_state.agents.pop(key) for key in keys]
    scopes = {id(entry.scope) for entry in ended}
    _end_models(lambda key, model: id(model.scope) in scopes)
    for entry in ended:
        _agents.close_scope(entry.scope, error)


class CrewFailed(Exception):
    """The crew's run failed (CrewAI's error is not kept: it may quote text)."""


def _execution_end(ctx: Any) -> None:
    with guard("crewai.execution_end"):
        crew = getattr(ctx, "crew", None)
        if crew is None:
            return None
        error = CrewFailed() if getattr(ctx, "status", None) == "failed" else None
        _close_agents(lambda key, entry: entry.crew == id(crew), error)
    return None


_HOOKS = ((InterceptionPoint.PRE_MODEL_CALL, _before_model),
          (InterceptionPoint.POST_MODEL_CALL, _after_model),
          (InterceptionPoint.PRE_TOOL_CALL, _before_tool),
          (InterceptionPoint.POST_TOOL_CALL, _after_tool),
          (InterceptionPoint.EXECUTION_END, _execution_end))


def instrument() -> None:
    """Register the hooks (once) and turn them on."""
    with _state.lock:
        if _state.active:
            return
        for point, hook in _HOOKS:
            register_hook(point, hook)
        _state.active = True


def uninstrument() -> None:
    """Unregister the hooks; the scopes still open are ended now."""
    with _state.lock:
        if not _state.active:
            return
        _state.active = False
        for point, hook in _HOOKS:
            unregister_hook(point, hook)
        tools = list(_state.tools.values())
        _state.tools.clear()
    _end_models(lambda key, entry: True)
    for tool in tools:
        _agents.close_scope(tool.scope)
    _close_agents(lambda key, entry: True)
