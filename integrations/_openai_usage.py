"""The OpenAI client's usage blocks as `Usage`: chat completions, Responses API, embeddings.

``prompt_tokens`` (cached tokens included) and ``completion_tokens`` (reasoning included); the
Responses API's ``input_tokens`` / ``output_tokens`` likewise; the details (cached, cache-write,
reasoning, per-modality counts) where the response has them.
"""

from __future__ import annotations

from typing import Any

from tracker._usage import MAX_TOKENS
from tracker.integration import Usage, count, modality_tokens

__all__ = ["chat_usage", "embeddings_usage", "responses_usage"]

_int = count  # a provider's number as a token count, or None


def chat_usage(response: Any) -> Usage | None:
    # (one pass, no helper calls: this runs on every chat completion; `count()` is inlined as
    # ``type(n) is int and 0 <= n <= MAX_TOKENS``; the attributes are read directly, the
    # `getattr` defaults only for an object that lacks one)
    try:
        usage = response.usage
        if usage is None:
            return None
        n_in, n_out = usage.prompt_tokens, usage.completion_tokens
        prompt, completion = usage.prompt_tokens_details, usage.completion_tokens_details
        choices, model, response_id = response.choices, response.model, response.id
    except AttributeError:
        usage = getattr(response, "usage", None)
        if usage is None:
            return None
        n_in = getattr(usage, "prompt_tokens", None)
        n_out = getattr(usage, "completion_tokens", None)
        prompt = getattr(usage, "prompt_tokens_details", None)
        completion = getattr(usage, "completion_tokens_details", None)
        choices = getattr(response, "choices", None)
        model, response_id = getattr(response, "model", None), getattr(response, "id", None)
    if type(n_in) is not int or not 0 <= n_in <= MAX_TOKENS:
        n_in = None
    if type(n_out) is not int or not 0 <= n_out <= MAX_TOKENS:
        n_out = None
    cached = written = reasoning = modalities = None
    if prompt is not None:
        cached = _int(getattr(prompt, "cached_tokens", None))
        written = _int(getattr(prompt, "cache_write_tokens", None))
    if completion is not None:
        reasoning = _int(getattr(completion, "reasoning_tokens", None))
    if prompt is not None or completion is not None:
        modalities = _modalities(prompt, completion)
    reasons: tuple[str, ...] | None = None
    if choices:
        for choice in choices:
            reason = getattr(choice, "finish_reason", None)
            if isinstance(reason, str):
                reasons = (reason,) if reasons is None else (*reasons, reason)
    return Usage(n_in, n_out, model, False, cached, written, reasoning, response_id, reasons,
                 None, modalities)


def _modalities(prompt: Any, completion: Any) -> tuple[tuple[str, int], ...] | None:
    """Per-modality counts of the usage details (most calls: five attribute reads, no call)."""
    text, image = getattr(prompt, "text_tokens", None), getattr(prompt, "image_tokens", None)
    audio, audio_out = (getattr(prompt, "audio_tokens", None),
                        getattr(completion, "audio_tokens", None))
    text_out = getattr(completion, "text_tokens", None)
    if not (text or image or audio or text_out or audio_out):
        return None
    return modality_tokens((("text", text), ("image", image), ("audio", audio)),
                           (("text", text_out), ("audio", audio_out)))


def responses_usage(response: Any) -> Usage | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    inputs = getattr(usage, "input_tokens_details", None)
    outputs = getattr(usage, "output_tokens_details", None)
    status = getattr(response, "status", None)
    return Usage(
        _int(getattr(usage, "input_tokens", None)),
        _int(getattr(usage, "output_tokens", None)),
        getattr(response, "model", None),
        cache_read_input_tokens=_int(getattr(inputs, "cached_tokens", None)),
        reasoning_output_tokens=_int(getattr(outputs, "reasoning_tokens", None)),
        response_id=getattr(response, "id", None),
        finish_reasons=(status,) if isinstance(status, str) else None,
    )


def embeddings_usage(response: Any) -> Usage | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    return Usage(_int(getattr(usage, "prompt_tokens", None)), 0, getattr(response, "model", None))
