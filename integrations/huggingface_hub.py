"""Hugging Face Hub integration: ``InferenceClient`` chat completion and text generation.

Patches ``InferenceClient.chat_completion`` and ``text_generation``, and the same methods of
``AsyncInferenceClient`` (``client.chat.completions.create`` is ``chat_completion``, recorded
there once). Plain and streamed answers; a stream is the library's own generator, proxied.

Usage: a chat completion's ``usage`` block (``prompt_tokens``, ``completion_tokens``); in a
stream, the chunk carrying ``usage`` (``stream_options={"include_usage": True}``), else counted
from the text (flagged estimated). Text generation reports no input count unless asked for the
prompt's tokens (``decoder_input_details=True``): the input is then counted from the prompt and
flagged estimated; the output is ``details.generated_tokens`` (``details=True``, and the last
chunk of a stream with details), else counted from the text.

``gen_ai.provider.name`` is the service the client calls: ``huggingface`` (the Inference
Providers router, whatever partner it forwards to), or the host of a ``base_url`` (an endpoint
on ``endpoints.huggingface.cloud`` is ``huggingface``; other hosts as for the openai client).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    _VERSION = metadata.version("huggingface_hub")
except metadata.PackageNotFoundError as _exc:  # pragma: no cover - only without huggingface_hub
    raise IntegrationNotAvailable(
        "the huggingface_hub integration needs `pip install huggingface_hub>=0.34.4`"
    ) from _exc

from integrations._compatible_hosts import provider_from_url
from tracker.integration import (
    CountingStrategy,
    Endpoint,
    Patcher,
    Usage,
    count,
    estimate_tokens,
    make_wrapper,
    tokens_from_chars,
)

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "huggingface_hub"
MIN_VERSION = (0, 34)  # oldest tested 0.34.4 (0.28 asks huggingface.co for text generation)

if tuple(int(p) for p in _VERSION.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the huggingface_hub integration needs huggingface_hub>="
        f"{'.'.join(map(str, MIN_VERSION))}, found {_VERSION}")

_PROVIDER = "huggingface"


def _provider(client: Any) -> str:
    model = getattr(client, "model", None)
    if isinstance(model, str) and model.startswith(("http://", "https://")):
        return provider_from_url(model, default=_PROVIDER)
    return _PROVIDER


def _chat_usage(response: Any) -> Usage | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    reasons = tuple(str(c.finish_reason) for c in getattr(response, "choices", None) or ()
                    if getattr(c, "finish_reason", None) is not None)
    response_id = getattr(response, "id", None)
    details = getattr(usage, "prompt_tokens_details", None)
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else getattr(
        details, "cached_tokens", None)
    return Usage(count(getattr(usage, "prompt_tokens", None)),
                 count(getattr(usage, "completion_tokens", None)) or 0,
                 getattr(response, "model", None), cache_read_input_tokens=count(cached),
                 response_id=response_id if isinstance(response_id, str) else None,
                 finish_reasons=reasons or None)


def _chat_estimate(kwargs: Mapping[str, Any], response: Any) -> Usage:
    text = "".join(getattr(getattr(c, "message", None), "content", None) or ""
                   for c in getattr(response, "choices", None) or ())
    return Usage(estimate_tokens(kwargs.get("messages")), tokens_from_chars(len(text)),
                 getattr(response, "model", None), tokens_estimated=True)


class ChatStreamStrategy(CountingStrategy):
    """Chat completion chunks: usage from the chunk carrying it, else counted delta text."""

    __slots__ = ()

    def record_chunk(self, chunk: Any) -> None:
        """Read one ``ChatCompletionStreamOutput``."""
        if self.response_model is None and isinstance(getattr(chunk, "model", None), str):
            self.response_model = chunk.model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.reported_input = count(getattr(usage, "prompt_tokens", None))
            self.reported_output = count(getattr(usage, "completion_tokens", None))
        for choice in getattr(chunk, "choices", None) or ():
            content = getattr(getattr(choice, "delta", None), "content", None)
            if isinstance(content, str):
                self.output_chars += len(content)


class TextStreamStrategy(CountingStrategy):
    """Text generation chunks (strings, or outputs with ``token`` and a final ``details``)."""

    __slots__ = ()

    def record_chunk(self, chunk: Any) -> None:
        """Read one chunk."""
        if isinstance(chunk, str):
            self.output_chars += len(chunk)
            return
        text = getattr(getattr(chunk, "token", None), "text", None)
        if isinstance(text, str) and not getattr(chunk.token, "special", False):
            self.output_chars += len(text)
        details = getattr(chunk, "details", None)
        if details is not None:
            self.reported_output = count(getattr(details, "generated_tokens", None))


def _text_reported(response: Any) -> Usage | None:
    """What a text-generation response reports (``details``): prefill and generated tokens."""
    details = getattr(response, "details", None)
    prefill = getattr(details, "prefill", None)
    n_in = len(prefill) if isinstance(prefill, list) and prefill else None
    n_out = count(getattr(details, "generated_tokens", None))
    return None if n_in is None and n_out is None else Usage(n_in, n_out)


def _text_usage(kwargs: Mapping[str, Any], response: Any) -> Usage:
    prompt = kwargs.get("prompt")
    details = getattr(response, "details", None)
    prefill = getattr(details, "prefill", None)
    n_in = len(prefill) if isinstance(prefill, list) and prefill else None
    n_out = count(getattr(details, "generated_tokens", None))
    if n_out is None:
        text = response if isinstance(response, str) else getattr(response, "generated_text", "")
        n_out = tokens_from_chars(len(text) if isinstance(text, str) else 0)
    return Usage(n_in if n_in is not None else estimate_tokens(prompt), n_out,
                 tokens_estimated=n_in is None)


def _is_stream(result: Any) -> bool:
    return not isinstance(result, (str, bytes)) and (
        hasattr(result, "__next__") or hasattr(result, "__anext__"))


def _chat_strategy(kwargs: Mapping[str, Any]) -> ChatStreamStrategy:
    return ChatStreamStrategy((kwargs.get("messages"),))


def _text_strategy(kwargs: Mapping[str, Any]) -> TextStreamStrategy:
    return TextStreamStrategy((kwargs.get("prompt"),))


_CHAT = Endpoint("chat", _provider, _chat_usage, _is_stream, _chat_strategy,
                 estimate=_chat_estimate)
_TEXT = Endpoint("text_completion", _provider, _text_reported, _is_stream, _text_strategy,
                 estimate=_text_usage)
_FIRST = {"chat_completion": "messages", "text_generation": "prompt"}


def _named(first: str, inner: Any) -> Any:
    """The wrapper, with the first positional argument passed by name (the strategies read it)."""
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
        if args:
            kwargs = {first: args[0], **kwargs}
            args = args[1:]
        return inner(wrapped, instance, args, kwargs)

    return wrapper


_patcher = Patcher()


def instrument() -> None:
    """Patch the clients' chat completion and text generation (called by `tracker.instrument`)."""
    for module, cls, is_async in (("huggingface_hub.inference._client", "InferenceClient", False),
                                  ("huggingface_hub.inference._generated._async_client",
                                   "AsyncInferenceClient", True)):
        for method, endpoint in (("chat_completion", _CHAT), ("text_generation", _TEXT)):
            _patcher.patch(module, f"{cls}.{method}",
                           _named(_FIRST[method], make_wrapper(endpoint, is_async=is_async)))


def uninstrument() -> None:
    """Restore the original methods."""
    _patcher.unpatch_all()
