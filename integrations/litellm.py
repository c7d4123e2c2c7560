"""LiteLLM integration: ``litellm.completion``, ``acompletion``, ``embedding``, ``aembedding``.

Patches the four functions on the `litellm` package (plain and ``stream=True``). They are looked
up on the package at call time (``litellm.completion(...)``, and LiteLLM's `Router`); a name
imported before `instrument()` (``from litellm import completion``) keeps the original.

Never twice: LiteLLM reaches some providers through their client libraries (the openai client on
its ``openai/``, Azure and OpenAI-compatible routes) and others through its own HTTP code
(``anthropic/``, ``bedrock/``, ``gemini/``...). A LiteLLM call is a framework call: when the
client it used is instrumented too, that integration's record is the one record; otherwise this
integration records it (see `tracker.recording._framework`).

Usage: LiteLLM's OpenAI-shaped usage block, ``prompt_tokens`` (cached tokens included) and
``completion_tokens`` (reasoning tokens included). Streams: the usage LiteLLM puts on the final
chunk when asked (``stream_options={"include_usage": True}``, which `configure(stream_usage=True)`
adds to a stream that sets no ``stream_options``), else the content counted, flagged estimated.

``gen_ai.provider.name`` comes from ``custom_llm_provider`` or the model's prefix
(``bedrock/...`` is ``aws.bedrock``, ``gemini/...`` ``gcp.gemini``), else from LiteLLM's own
resolution of the model name; ``gen_ai.request.model`` is the model as passed.

Attribution: the one record of a LiteLLM call (whichever integration makes it) carries
``energy.framework`` ``litellm`` and, when the caller named the call, ``energy.framework.run_name``:
``metadata["generation_name"]``, else ``metadata["trace_name"]``, if a string. Nothing else of
``metadata`` is read (LiteLLM's proxy puts API keys there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    import litellm
except ImportError as _exc:  # pragma: no cover - exercised only without litellm installed
    raise IntegrationNotAvailable(
        "the litellm integration needs `pip install litellm>=1.109`"
    ) from _exc

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
from tracker.recording import _framework
from tracker.setup import _configure as _config

__all__ = ["MIN_VERSION", "NAME", "instrument", "provider_name", "uninstrument"]

NAME = "litellm"
MIN_VERSION = (1, 109)  # oldest release the test suite passes on (the `litellm` extra)


def _version() -> tuple[int, ...]:
    try:
        from importlib.metadata import version

        return tuple(int(p) for p in version("litellm").split(".")[:2] if p.isdigit())
    except Exception:  # a build without metadata: assume recent
        return MIN_VERSION


if _version() < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the litellm integration needs litellm>={'.'.join(map(str, MIN_VERSION))}"
    )

# LiteLLM provider (model prefix or ``custom_llm_provider``) -> gen_ai.provider.name, with the
# semantic conventions' well-known values where there is one; other providers keep LiteLLM's name.
_PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "anthropic": "anthropic",
    "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "codestral": "mistral_ai",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "ollama": "ollama",
    "ollama_chat": "ollama",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "watsonx": "ibm.watsonx.ai",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "openrouter": "openrouter",
    "lm_studio": "lm_studio",
    "hosted_vllm": "vllm",
}
_MAX_PROVIDER = 64


def provider_name(model: object, custom_llm_provider: object = None) -> str:
    """`gen_ai.provider.name` of a LiteLLM call for `model` (``"bedrock/..."``, ``"gpt-4o"``)."""
    name = custom_llm_provider if isinstance(custom_llm_provider, str) else None
    if not name and isinstance(model, str):
        prefix, slash, _ = model.partition("/")
        if slash and prefix in _PROVIDERS:
            name = prefix
        else:
            try:  # LiteLLM's own resolution of an unprefixed (or unknown-prefix) model name
                name = litellm.get_llm_provider(model=model)[1]
            except Exception:
                name = prefix if slash else None
    if not isinstance(name, str) or not name or len(name) > _MAX_PROVIDER:
        return "openai"
    return _PROVIDERS.get(name, name)


class _Request:
    """Stands for the patched function's instance: the request the provider is named from."""

    __slots__ = ("kwargs",)

    def __init__(self, kwargs: Mapping[str, Any]) -> None:
        self.kwargs = kwargs


def _provider(request: Any) -> str:
    kwargs = getattr(request, "kwargs", None) or {}
    return provider_name(kwargs.get("model"), kwargs.get("custom_llm_provider"))


def _usage_of(usage: Any, response: Any) -> Usage | None:
    if usage is None:
        return None
    prompt = getattr(usage, "prompt_tokens_details", None)
    completion = getattr(usage, "completion_tokens_details", None)
    choices = getattr(response, "choices", None) or ()
    reasons = tuple(r for r in (getattr(c, "finish_reason", None) for c in choices)
                    if isinstance(r, str))
    response_id = getattr(response, "id", None)
    return Usage(
        count(getattr(usage, "prompt_tokens", None)),
        count(getattr(usage, "completion_tokens", None)),
        getattr(response, "model", None),
        cache_read_input_tokens=count(getattr(prompt, "cached_tokens", None)),
        reasoning_output_tokens=count(getattr(completion, "reasoning_tokens", None)),
        response_id=response_id if isinstance(response_id, str) else None,
        finish_reasons=reasons or None,
    )


def _chat_usage(response: Any) -> Usage | None:
    return _usage_of(getattr(response, "usage", None), response)


def _embeddings_usage(response: Any) -> Usage | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    return Usage(count(getattr(usage, "prompt_tokens", None)), 0, getattr(response, "model", None))


def _chat_estimate(kwargs: Mapping[str, Any], response: Any) -> Usage:
    """A completion that reported no usage: tokens counted from the text."""
    chars = 0
    for choice in getattr(response, "choices", None) or ():
        text = getattr(getattr(choice, "message", None), "content", None)
        if isinstance(text, str):
            chars += len(text)
    return Usage(estimate_tokens(kwargs.get("messages")), tokens_from_chars(chars),
                 getattr(response, "model", None), tokens_estimated=True)


def _is_stream(result: Any) -> bool:
    return isinstance(result, litellm.CustomStreamWrapper)


class ChunkStrategy(CountingStrategy):
    """LiteLLM stream chunks (OpenAI-shaped): usage from the chunk carrying it, else counted."""

    __slots__ = ()

    def record_chunk(self, chunk: Any) -> None:
        """Count delta characters; take the usage when a chunk carries it."""
        if self.response_model is None:
            self.response_model = getattr(chunk, "model", None)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            n_in = count(getattr(usage, "prompt_tokens", None))
            n_out = count(getattr(usage, "completion_tokens", None))
            if n_in is not None:
                self.reported_input = n_in
            if n_out is not None:
                self.reported_output = n_out
        for choice in getattr(chunk, "choices", None) or ():
            delta = getattr(choice, "delta", None)
            text = getattr(delta, "content", None)
            if isinstance(text, str):
                self.output_chars += len(text)
            for call in getattr(delta, "tool_calls", None) or ():
                arguments = getattr(getattr(call, "function", None), "arguments", None)
                if isinstance(arguments, str):
                    self.output_chars += len(arguments)


def _strategy(kwargs: Mapping[str, Any]) -> ChunkStrategy:
    return ChunkStrategy((kwargs.get("messages"),))


def _include_usage(kwargs: dict[str, Any]) -> dict[str, Any]:
    """`configure(stream_usage=True)`: a stream without ``stream_options`` asks for usage."""
    if kwargs.get("stream") is True and "stream_options" not in kwargs and getattr(
        _config.get_config(), "stream_usage", False
    ):
        return {**kwargs, "stream_options": {"include_usage": True}}
    return kwargs


_CHAT = Endpoint("chat", _provider, _chat_usage, _is_stream, _strategy, _include_usage,
                 estimate=_chat_estimate, framework=True)
_EMBEDDINGS = Endpoint("embeddings", _provider, _embeddings_usage, framework=True)

# function -> (endpoint, is_async, name of its second positional parameter)
_TARGETS: tuple[tuple[str, Endpoint, bool, str], ...] = (
    ("completion", _CHAT, False, "messages"),
    ("acompletion", _CHAT, True, "messages"),
    ("embedding", _EMBEDDINGS, False, "input"),
    ("aembedding", _EMBEDDINGS, True, "input"),
)

_patcher = Patcher()


def _names(kwargs: Mapping[str, Any]) -> _framework.Attribution | None:
    """``litellm`` and the caller's name for the call: only these two metadata strings."""
    run_name = None
    metadata = kwargs.get("metadata")
    if isinstance(metadata, Mapping):
        for key in ("generation_name", "trace_name"):
            value = metadata.get(key)
            if isinstance(value, str) and value.strip():
                run_name = value
                break
    return _framework.attribution_of(NAME, run_name)


def _with_request(endpoint: Endpoint, is_async: bool, second: str) -> Any:
    """The generic wrapper, given the request as its instance (these are plain functions)."""
    inner = make_wrapper(endpoint, is_async=is_async)

    def named(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[
            tuple[Any, ...], dict[str, Any], _framework.Attribution | None]:
        if args and len(args) <= 2 and "model" not in kwargs and second not in kwargs:
            # completion("gpt-4o", messages): the same call with the first two named
            kwargs = {"model": args[0], **({second: args[1]} if len(args) == 2 else {}),
                      **kwargs}
            args = ()
        try:
            names = _names(kwargs)
        except Exception:  # an odd metadata mapping: no run name, the call goes on
            names = _framework.attribution_of(NAME, None)
        return args, kwargs, names

    if is_async:

        async def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...],
                                kwargs: dict[str, Any]) -> Any:
            args, kwargs, names = named(args, kwargs)
            token = _framework.announce(names)
            try:
                return await inner(wrapped, _Request(kwargs), args, kwargs)
            finally:
                _framework.withdraw(token)

        return async_wrapper

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
        args, kwargs, names = named(args, kwargs)
        token = _framework.announce(names)
        try:
            return inner(wrapped, _Request(kwargs), args, kwargs)
        finally:
            _framework.withdraw(token)

    return wrapper


def instrument() -> None:
    """Patch LiteLLM's completion and embedding functions (called by `tracker.instrument`)."""
    for function, endpoint, is_async, second in _TARGETS:
        _patcher.patch("litellm", function, _with_request(endpoint, is_async, second))


def uninstrument() -> None:
    """Restore the original functions."""
    _patcher.unpatch_all()
