"""A model call an agent framework saw, priced by the framework only if no client integration did.

Shared by the framework integrations that can read a call's usage themselves (Google ADK,
LlamaIndex, Pydantic AI): the call opens a framework frame; when it ends, `claimed()` says
whether a client integration recorded the request meanwhile, in the frame's context or (a
streamed request may run in a task of its own) directly in the agent's scope.
"""

from __future__ import annotations

from tracker.integration import LLMCall
from tracker.recording import _agents, _framework
from tracker.recording._energy_scope import current_scope

__all__ = ["FrameworkCall"]


class FrameworkCall:
    """The provisional record of one model call, with what tells whether a client claimed it."""

    __slots__ = ("call", "frame", "scope", "started")

    def __init__(self, call: LLMCall, frame: _framework.Frame) -> None:
        self.call = call
        self.frame = frame
        scope = current_scope()
        self.scope = scope if isinstance(scope, _agents.AgentScope) else None
        self.started = self.scope.started if self.scope is not None else 0

    def claimed(self) -> bool:
        """Whether a client integration recorded the request (in this frame, or in the scope)."""
        return self.frame.claimed or (self.scope is not None
                                      and self.scope.started > self.started)
