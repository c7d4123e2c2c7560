"""Framework calls and the "never twice" rule: a provider integration's record wins.

A framework integration (LiteLLM, LangChain) wraps a call that often reaches the model through a
provider client the SDK also instruments (openai, anthropic...). So that one LLM call is one
CLIENT span and one ledger line whichever integrations are on, and whatever order they were
patched in, the framework opens a `Frame` around the call:

- every call started inside it (`start_call()`, which every provider integration uses) *claims*
  the frame and every enclosing one (`claim()`);
- when the framework call ends, it records the call itself only if its frame is unclaimed (the
  call went over a client the SDK does not instrument, such as LiteLLM's own HTTP code).

The framework starts its own tentative `LLMCall` *before* opening its frame, so a framework call
nested in another one (LangChain calling LiteLLM) claims the outer frame, and the outermost never
counts the call again. A tentative call that is not finished emits nothing.

Attribution: a frame may name its framework (``langchain``, ``litellm``) and the caller's name for
the call (LangChain's run name, LiteLLM's ``generation_name`` or ``trace_name``). Every call
started inside frames takes the outermost frame's names (the framework the application called),
so the one record carries them whichever integration makes it. A framework announces its names
(`announce()`) before it starts its own tentative call, which then carries them too. Only short
strings are kept (`attribution_of()`); nothing else of the framework's metadata is ever read.

`ACTIVE` stays False until a frame is first opened or announced: the provider path then costs one
module attribute check. Framework integrations reset it when they are uninstrumented.
"""

from __future__ import annotations

from contextlib import suppress
from contextvars import ContextVar, Token
from typing import TypeAlias

__all__ = ["ACTIVE", "Attribution", "Frame", "announce", "attribution", "attribution_of", "claim",
           "close_frame", "open_frame", "withdraw"]

#: (framework name, run name or None): what a framework call adds to the one record.
Attribution: TypeAlias = "tuple[str, str | None]"

#: Longest framework or run name kept; a longer run name is cut to this length.
MAX_NAME = 128

#: True once a framework frame may be open (set by `open_frame()`).
ACTIVE = False


class Frame:
    """One framework call in flight; `claimed` once a call inside it was recorded."""

    __slots__ = ("attribution", "claimed", "closed", "parent")

    def __init__(self, parent: Frame | None, attribution: Attribution | None = None) -> None:
        self.parent = parent
        self.attribution = attribution
        self.claimed = False
        self.closed = False


_current: ContextVar[Frame | None] = ContextVar("tracker_framework_frame", default=None)
_announced: ContextVar[Attribution | None] = ContextVar("tracker_framework_names", default=None)


def attribution_of(framework: object, run_name: object) -> Attribution | None:
    """The names as kept: a short framework name, and a run name if it is a non-empty string."""
    if not isinstance(framework, str) or not framework or len(framework) > MAX_NAME:
        return None
    if not isinstance(run_name, str) or not run_name.strip():
        return framework, None
    return framework, run_name[:MAX_NAME]


def announce(names: Attribution | None) -> Token[Attribution | None]:
    """The framework call about to start here is `names`'; undo with `withdraw()`."""
    global ACTIVE
    ACTIVE = True
    return _announced.set(names)


def withdraw(token: Token[Attribution | None]) -> None:
    """Undo `announce()` (in the context it was made in)."""
    with suppress(ValueError):  # another context: leave it, only calls started there read it
        _announced.reset(token)


def open_frame(names: Attribution | None = None) -> Frame:
    """Open a frame in the current context (it becomes current); leave it with `close_frame()`.

    `names`: the framework call's attribution (default: the one announced here, if any).
    """
    global ACTIVE
    ACTIVE = True
    frame = Frame(_current.get(), names if names is not None else _announced.get())
    _current.set(frame)
    return frame


def attribution() -> Attribution | None:
    """The names a call started now carries: the outermost open frame's, else the announced."""
    found = None
    frame = _current.get()
    while frame is not None:
        if not frame.closed and frame.attribution is not None:
            found = frame.attribution
        frame = frame.parent
    return found if found is not None else _announced.get()


def close_frame(frame: Frame) -> None:
    """Leave `frame`, in any order and from any context (callbacks may run in another one).

    Where `frame` is current, the innermost enclosing frame still open becomes current again;
    elsewhere it is only marked closed, and skipped when the frame above it closes.
    """
    frame.closed = True
    if _current.get() is frame:
        parent = frame.parent
        while parent is not None and parent.closed:
            parent = parent.parent
        _current.set(parent)


def current() -> Frame | None:
    """The innermost open frame of this context, if any."""
    return _current.get()


def claim() -> None:
    """A call is being recorded here: mark the current frame and every enclosing one."""
    frame = _current.get()
    while frame is not None and not frame.claimed:
        frame.claimed = True
        frame = frame.parent


def deactivate() -> None:
    """No framework integration is on: the provider path skips the frame lookup again."""
    global ACTIVE
    ACTIVE = False
