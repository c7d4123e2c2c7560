"""Agent runs and tool calls: INTERNAL spans that sum the calls made inside them.

An agent framework integration (the OpenAI Agents SDK, Pydantic AI) opens an `AgentScope` when
an agent run starts (``invoke_agent {name}``) and when a tool call starts (``execute_tool
{name}``), from the framework's own tracing hooks, and closes it when that ends. The scope is an
`EnergyScope`: it becomes the current scope, so every LLM call started inside it, whichever
integration records it, rolls up into it and every enclosing scope, and its span ends with the
``energy.*`` sums. Its span carries no ``gen_ai.usage.*``: token counts belong to the calls'
CLIENT spans alone.

Attribution: every call recorded inside an agent scope carries the nearest agent scope's
`call_attributes` (``gen_ai.agent.name``, and ``gen_ai.agent.id`` / ``gen_ai.conversation.id``
where the framework has them, and ``energy.framework`` unless the call names another framework),
on its span, log record and ledger line, never on metrics.

Hooks may end a span in another context than the one it started in: `close_scope` then only ends
the span; the context it was current in keeps it until that context ends, or until
`close_scope` is called again there.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from tracker import _attributes as A
from tracker._internal_errors import report
from tracker.recording._energy_scope import EnergyScope, _current
from tracker.recording._runtime import get_runtime

__all__ = ["AgentScope", "call_attributes_of", "close_scope", "open_scope"]

#: Longest name or identifier kept; a longer one is cut to this length.
MAX_VALUE = 128
_USAGE_PREFIX = "gen_ai.usage."


def _clean(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value[:MAX_VALUE]


class AgentScope(EnergyScope):
    """The scope of one agent run or tool call (what `open_scope` returns)."""

    __slots__ = ("call_attributes", "started")

    def __init__(self, name: str, *, parent: EnergyScope | None,
                 call_attributes: Mapping[str, str]) -> None:
        super().__init__(name, parent=parent)
        #: What every call recorded inside carries (the agent's name and ids, the framework).
        self.call_attributes: dict[str, str] = dict(call_attributes)
        #: Calls started with this scope current (not in a scope inside it): a framework whose
        #: model request runs in another context than its hook tells from this that a client
        #: integration recorded the request.
        self.started = 0

    def sums(self) -> dict[str, Any]:
        """The ``energy.*`` roll-ups only (token counts stay on the calls' CLIENT spans)."""
        return {k: v for k, v in super().sums().items() if not k.startswith(_USAGE_PREFIX)}


def call_attributes_of(scope: EnergyScope | None) -> dict[str, str] | None:
    """The attribution of the nearest agent scope enclosing `scope` (None outside agents)."""
    while scope is not None:
        if isinstance(scope, AgentScope):
            return scope.call_attributes
        scope = scope.parent
    return None


def open_scope(operation: str, name: object, *, framework: str, agent_id: object = None,
               conversation_id: object = None, tool_call_id: object = None,
               tool_type: object = None) -> AgentScope | None:
    """Open and make current the scope of an agent run (``invoke_agent``) or tool call.

    `operation` is ``invoke_agent`` or ``execute_tool``; `name` the agent's or the tool's name.
    A tool call's scope keeps the enclosing agent's attribution for the calls made inside it.
    Returns None when the SDK is disabled or failed (never raises).
    """
    try:
        runtime = get_runtime()
        if not runtime.config.enabled:
            return None
        parent = _current.get()
        clean = _clean(name)
        inherited = call_attributes_of(parent) or {}
        span_attrs: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: operation,
                                      A.ENERGY_FRAMEWORK: framework}
        if operation == "invoke_agent":
            calls: dict[str, str] = {}
            for key, value in ((A.GEN_AI_AGENT_NAME, clean), (A.GEN_AI_AGENT_ID, _clean(agent_id)),
                               (A.GEN_AI_CONVERSATION_ID, _clean(conversation_id))):
                if value is not None:
                    calls[key] = value
            if A.GEN_AI_CONVERSATION_ID not in calls and A.GEN_AI_CONVERSATION_ID in inherited:
                calls[A.GEN_AI_CONVERSATION_ID] = inherited[A.GEN_AI_CONVERSATION_ID]
            span_attrs.update(calls)
        else:
            calls = dict(inherited)
            span_attrs.update(calls)
            for key, value in ((A.GEN_AI_TOOL_NAME, clean),
                               (A.GEN_AI_TOOL_CALL_ID, _clean(tool_call_id)),
                               (A.GEN_AI_TOOL_TYPE, _clean(tool_type))):
                if value is not None:
                    span_attrs[key] = value
        calls.setdefault(A.ENERGY_FRAMEWORK, framework)
        scope = AgentScope(f"{operation} {clean}" if clean else operation, parent=parent,
                           call_attributes=calls)
        try:
            scope._span, scope._ctx = runtime.telemetry.start_scope_span(
                scope.name, {**runtime.labels, **span_attrs})
        except Exception as exc:
            report("agents.start_span", exc)
        scope._tokens = scope._activate()
        return scope
    except Exception as exc:
        report("agents.open", exc)
        return None


def close_scope(scope: AgentScope | None, error: BaseException | None = None) -> None:
    """End `scope`'s span with its sums; where it is current, its parent becomes current again."""
    if scope is None:
        return
    try:
        tokens = scope._tokens
        if tokens is not None and _current.get() is scope:
            scope._tokens = None
            with suppress(ValueError, RuntimeError):  # opened in another context
                scope._deactivate(tokens)
        scope._close(error)  # idempotent: a second call only restores the context
    except Exception as exc:
        report("agents.close", exc)
