"""Ollama integration (``ollama``): chat, generate and embed on a local or remote Ollama server.

Patches `ollama.Client` and `ollama.AsyncClient` (``chat``, ``generate``, ``embed``), and the
module-level ``ollama.chat`` / ``generate`` / ``embed`` (bound to a default client at import,
so patching the class alone would miss them). Streams (``stream=True``) are the library's
generators, proxied. Operations: ``chat``, ``text_completion`` for ``generate``, ``embeddings``.
The model may be passed positionally, as Ollama's examples do.

Usage: ``prompt_eval_count`` as input, ``eval_count`` as output (thinking included); in a
stream, from the final ``done`` chunk. No cloud deployment is assumed for ``ollama`` (the
configured hardware and region, else the energy-model defaults, apply).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    import ollama  # type: ignore[import-untyped,import-not-found,unused-ignore]
except ImportError as _exc:  # pragma: no cover - exercised only without ollama installed
    raise IntegrationNotAvailable(
        "the ollama integration needs `pip install ollama>=0.4`"
    ) from _exc

from tracker.integration import CountingStrategy, Endpoint, Patcher, Usage, count, make_wrapper

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "ollama"
MIN_VERSION = (0, 4)  # oldest release the test suite passes on (typed responses)
_VERSION = metadata.version("ollama")

if tuple(int(p) for p in _VERSION.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the ollama integration needs ollama>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {_VERSION}"
    )


def _provider(_client: Any) -> str:
    return "ollama"


def _usage(response: Any) -> Usage | None:
    n_in = count(getattr(response, "prompt_eval_count", None))
    n_out = count(getattr(response, "eval_count", None))
    if n_in is None and n_out is None:
        return None
    reason = getattr(response, "done_reason", None)
    return Usage(n_in, n_out, getattr(response, "model", None),
                 finish_reasons=(reason,) if isinstance(reason, str) else None,
                 server_durations=_durations(response))


def _durations(response: Any) -> tuple[tuple[str, float], ...] | None:
    """Ollama's reported timings (nanoseconds) in seconds."""
    found = []
    for name in ("total", "load", "prompt_eval", "eval"):
        nanos = count(getattr(response, f"{name}_duration", None))
        if nanos is not None:
            found.append((name, nanos / 1e9))
    return tuple(found) or None


class StreamStrategy(CountingStrategy):
    """Chat and generate chunks: counts from the final ``done`` chunk, else counted text."""

    __slots__ = ("_final",)

    def __init__(self, request_parts: tuple[object, ...]) -> None:
        super().__init__(request_parts)
        self._final: Usage | None = None

    def record_chunk(self, chunk: Any) -> None:
        """Count the chunk's text; read the counts of the final one."""
        message = getattr(chunk, "message", None)
        for text in ((message.content, getattr(message, "thinking", None)) if message is not None
                     else (getattr(chunk, "response", None), getattr(chunk, "thinking", None))):
            if isinstance(text, str):
                self.output_chars += len(text)
        if chunk.done:
            self._final = _usage(chunk)
            if self._final is not None:
                self.reported_input = self._final.input_tokens
                self.reported_output = self._final.output_tokens

    def result(self) -> Usage:
        """The final chunk's usage when it reported both counts, else counted figures."""
        final = self._final
        if final is not None and final.input_tokens and final.output_tokens:
            return final
        return super().result()


def _strategy(kwargs: Mapping[str, Any]) -> StreamStrategy:
    return StreamStrategy((kwargs.get("messages"), kwargs.get("prompt"), kwargs.get("system")))


def _is_stream(result: Any) -> bool:
    return isinstance(result, (types.GeneratorType, types.AsyncGeneratorType))


def _named(wrapper: Callable[..., Any], names: tuple[str, ...]) -> Callable[..., Any]:
    """`wrapper` with leading positional arguments passed by name (``chat("llama3.2", ...)``)."""

    def named(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Any:
        if args and len(args) <= len(names) and not set(names[:len(args)]) & kwargs.keys():
            kwargs = {**dict(zip(names[:len(args)], args, strict=True)), **kwargs}
            args = ()
        return wrapper(wrapped, instance, args, kwargs)

    return named


def _answer(response: Any) -> object:
    """The reply's text (chat ``message``, generate ``response``), for a missing output count."""
    message = getattr(response, "message", None)
    if message is not None:
        return (getattr(message, "content", None), getattr(message, "thinking", None))
    return (getattr(response, "response", None), getattr(response, "thinking", None))


_ENDPOINTS = (
    ("chat", ("model", "messages"),
     Endpoint("chat", _provider, _usage, _is_stream, _strategy, output_text=_answer)),
    ("generate", ("model", "prompt", "suffix"),
     Endpoint("text_completion", _provider, _usage, _is_stream, _strategy,
              output_text=_answer)),
    ("embed", ("model", "input"), Endpoint("embeddings", _provider, _usage)),
)
_patcher = Patcher()


def instrument() -> None:
    """Patch the Ollama clients and module functions (called by `tracker.instrument`)."""
    for method, names, endpoint in _ENDPOINTS:
        sync = _named(make_wrapper(endpoint, is_async=False), names)
        _patcher.patch("ollama._client", f"Client.{method}", sync)
        _patcher.patch("ollama._client", f"AsyncClient.{method}",
                       _named(make_wrapper(endpoint, is_async=True), names))
        if isinstance(getattr(ollama, method, None), types.MethodType):
            _patcher.patch("ollama", method, sync)


def uninstrument() -> None:
    """Restore the original methods and module functions."""
    _patcher.unpatch_all()
