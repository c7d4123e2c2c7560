"""The one wrapper every integration uses: `Endpoint`, `Usage`, `Patcher` and `make_wrapper`.

Each patched method runs `make_wrapper(endpoint)`: when the SDK is disabled it costs one
config lookup and calls straight through; otherwise it starts an `LLMCall`, calls the provider,
and finishes the call with the response's usage (or wraps a stream in a proxy from
`tracker.recording._streams`). SDK-side work runs inside `guard()`; the provider's exceptions are
re-raised unchanged after being recorded on the call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import wrapt

from tracker._internal_errors import guard, report
from tracker.config import _configure as _config
from tracker.recording import _calls as _usage
from tracker.recording import _returned as _responses
from tracker.recording._streams import StreamStrategy, wrap_stream
from tracker.recording._usage import Usage

__all__ = ["Endpoint", "Patcher", "Usage", "make_wrapper"]


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
            call.finish_usage(usage)
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
