"""Turning provider integrations on and off, and the one wrapper every integration uses.

`instrument(*names)` imports ``integrations.<name>`` and patches the client library's public
resource methods with `wrapt`; `uninstrument(*names)` puts the original functions back. Both are
idempotent and thread-safe. With no names, every integration whose client library is installed
is instrumented and the others are skipped silently; a provider named explicitly that is not
installed (or too old) raises `IntegrationNotAvailable`.

`DISABLES` is the table of which integration turns which off, so that nothing is counted twice:
a framework integration that records the calls itself lists the provider integrations it makes
redundant, and instrumenting it uninstruments them (and keeps them off).

Each patched method runs `make_wrapper(endpoint)`: when the SDK is disabled it costs one
config lookup and calls straight through; otherwise it starts an `LLMCall`, calls the provider,
and finishes the call with the response's usage (or wraps a stream in a proxy from
`tracker.streams`). SDK-side work runs inside `guard()`; the provider's exceptions are re-raised
unchanged after being recorded on the call.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import wrapt

from tracker._internal_errors import guard, report
from tracker.config import _configure as _config
from tracker.exceptions import IntegrationNotAvailable
from tracker.recording import _calls as _usage
from tracker.recording import _returned as _responses
from tracker.recording._streams import StreamStrategy, wrap_stream

__all__ = [
    "DISABLES",
    "INTEGRATIONS",
    "Endpoint",
    "Patcher",
    "Usage",
    "instrument",
    "instrumented",
    "make_wrapper",
    "uninstrument",
]

#: Integration name -> module implementing it (``instrument()``/``uninstrument()`` functions).
INTEGRATIONS: dict[str, str] = {
    "openai": "integrations.openai",
    "anthropic": "integrations.anthropic",
}

#: Integration name -> integrations it makes redundant (they would count the same calls).
#: Empty for now: openai and anthropic never call each other. A framework integration
#: (LangChain, LiteLLM...) that records calls itself adds itself here.
DISABLES: dict[str, frozenset[str]] = {}

_lock = threading.RLock()
_active: dict[str, Any] = {}


class _IntegrationModule(Protocol):
    def instrument(self) -> None: ...
    def uninstrument(self) -> None: ...


def _load(name: str) -> _IntegrationModule:
    module_name = INTEGRATIONS.get(name)
    if module_name is None:
        raise IntegrationNotAvailable(
            f"no integration named {name!r}; known: {', '.join(sorted(INTEGRATIONS))}"
        )
    try:
        module: Any = importlib.import_module(module_name)
    except IntegrationNotAvailable:
        raise
    except ImportError as exc:
        raise IntegrationNotAvailable(f"integration {name!r} is not available: {exc}") from exc
    return module  # type: ignore[no-any-return]


def _disabled_by_active(name: str) -> bool:
    return any(name in DISABLES.get(other, frozenset()) for other in _active)


def instrument(*names: str) -> list[str]:
    """Patch the named provider client libraries (all installed ones when none is named).

    Returns the names instrumented after the call. Idempotent and thread-safe. Raises
    `IntegrationNotAvailable` for a name given explicitly whose library is missing or too old.
    """
    explicit = bool(names)
    with _lock:
        for name in names or tuple(INTEGRATIONS):
            if name in _active:
                continue
            if _disabled_by_active(name):
                continue
            try:
                module = _load(name)
            except IntegrationNotAvailable:
                if explicit:
                    raise
                continue
            module.instrument()
            _active[name] = module
            for redundant in DISABLES.get(name, frozenset()):
                _uninstrument_one(redundant)
        return sorted(_active)


def _uninstrument_one(name: str) -> None:
    module = _active.pop(name, None)
    if module is not None:
        module.uninstrument()


def uninstrument(*names: str) -> list[str]:
    """Restore the original methods of the named integrations (every active one by default).

    Returns the names still instrumented. Idempotent: unknown or inactive names are ignored.
    """
    with _lock:
        for name in names or tuple(_active):
            _uninstrument_one(name)
        return sorted(_active)


def instrumented() -> list[str]:
    """Names of the integrations currently instrumented."""
    with _lock:
        return sorted(_active)


class Patcher:
    """Records `wrapt` patches on class attributes so they can be undone exactly."""

    def __init__(self) -> None:
        self._patched: list[tuple[type, str, Any]] = []

    def patch(self, module: str, target: str, wrapper: Callable[..., Any]) -> None:
        """Wrap ``module.target`` ("Class.method"); a missing target is skipped (older client)."""
        try:
            mod = importlib.import_module(module)
        except ImportError:
            return
        cls_name, _, attr = target.rpartition(".")
        owner: Any = mod
        for part in cls_name.split(".") if cls_name else ():
            owner = getattr(owner, part, None)
            if owner is None:
                return
        original = vars(owner).get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        if original is None:
            return
        wrapt.wrap_function_wrapper(owner, attr, wrapper)
        self._patched.append((owner, attr, original))

    def unpatch_all(self) -> None:
        """Put every original attribute back, newest first."""
        while self._patched:
            owner, attr, original = self._patched.pop()
            setattr(owner, attr, original)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage read from a provider response."""

    input_tokens: int | None
    output_tokens: int | None
    response_model: str | None = None
    tokens_estimated: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How one provider method is recorded: the per-provider strategy functions."""

    operation: str
    provider: Callable[[Any], str]                     # resource instance -> provider name
    usage: Callable[[Any], Usage | None]               # plain response -> usage
    is_stream: Callable[[Any], bool] = lambda _r: False
    stream_strategy: Callable[[Mapping[str, Any]], StreamStrategy] | None = None
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # opt-in request tweaks
    model_key: str = "model"


def _begin(endpoint: Endpoint, instance: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    call = None
    try:  # (plain try/except rather than guard(): this runs on every provider call)
        if endpoint.prepare is not None:
            kwargs = endpoint.prepare(kwargs)
        model = kwargs.get(endpoint.model_key)
        call = _usage.start_call(
            provider=endpoint.provider(instance),
            operation=endpoint.operation,
            request_model=model if isinstance(model, str) else None,
        )
    except Exception as exc:
        report("instrumentation.start", exc)
    return call, kwargs


def _fail(call: Any, exc: BaseException) -> None:
    if call is not None:
        with guard("instrumentation.error"):
            call.finish(input_tokens=None, output_tokens=None, error=exc)


def _end(endpoint: Endpoint, call: Any, result: Any, kwargs: Mapping[str, Any],
         is_async: bool) -> Any:
    if call is None:
        return result
    try:
        if endpoint.stream_strategy is not None and endpoint.is_stream(result):
            strategy = endpoint.stream_strategy(kwargs)
            return wrap_stream(result, call, strategy, is_async=is_async)
        usage = endpoint.usage(result)
        if usage is None:
            call.finish(input_tokens=None, output_tokens=None, tokens_estimated=True)
        else:
            call.finish(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                response_model=usage.response_model,
                tokens_estimated=usage.tokens_estimated,
            )
        _responses.mark_recorded(result)
    except Exception as exc:
        report("instrumentation.finish", exc)
    return result


def make_wrapper(endpoint: Endpoint, *, is_async: bool) -> Callable[..., Any]:
    """The `wrapt` wrapper recording one call of a provider method described by `endpoint`."""
    if is_async:

        async def async_wrapper(wrapped: Callable[..., Any], instance: Any,
                                args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if not _config.get_config().enabled:
                return await wrapped(*args, **kwargs)
            call, kwargs = _begin(endpoint, instance, kwargs)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                _fail(call, exc)
                raise
            return _end(endpoint, call, result, kwargs, True)

        return async_wrapper

    def wrapper(wrapped: Callable[..., Any], instance: Any,
                args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not _config.get_config().enabled:
            return wrapped(*args, **kwargs)
        call, kwargs = _begin(endpoint, instance, kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _fail(call, exc)
            raise
        return _end(endpoint, call, result, kwargs, False)

    return wrapper
