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

`ACTIVE` stays False until a frame is first opened: the provider path then costs one module
attribute check. Framework integrations reset it when they are uninstrumented.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["ACTIVE", "Frame", "claim", "close_frame", "open_frame"]

#: True once a framework frame may be open (set by `open_frame()`).
ACTIVE = False


class Frame:
    """One framework call in flight; `claimed` once a call inside it was recorded."""

    __slots__ = ("claimed", "closed", "parent")

    def __init__(self, parent: Frame | None) -> None:
        self.parent = parent
        self.claimed = False
        self.closed = False


_current: ContextVar[Frame | None] = ContextVar("tracker_framework_frame", default=None)


def open_frame() -> Frame:
    """Open a frame in the current context (it becomes current); leave it with `close_frame()`."""
    global ACTIVE
    ACTIVE = True
    frame = Frame(_current.get())
    _current.set(frame)
    return frame


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
