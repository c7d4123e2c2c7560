"""The OpenAI client's usage blocks as `Usage`: chat completions, Responses API, embeddings.

``prompt_tokens`` (cached tokens included) and ``completion_tokens`` (reasoning included); the
Responses API's ``input_tokens`` / ``output_tokens`` likewise; the details (cached, cache-write,
reasoning, per-modality counts) where the response has them.
"""

from __future__ import annotations

from typing import Any

from tracker.integration import Usage, count, modality_tokens

__all__ = ["chat_usage", "embeddings_usage", "responses_usage"]

_int = count  # a provider's number as a token count, or None


def _details(usage: Any, name: str) -> Any:
    return getattr(usage, name, None)


def chat_usage(response: Any) -> Usage | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    prompt = _details(usage, "prompt_tokens_details")
    completion = _details(usage, "completion_tokens_details")
    reasons: tuple[str, ...] = ()
    for choice in getattr(response, "choices", None) or ():
        reason = getattr(choice, "finish_reason", None)
        if isinstance(reason, str):
            reasons += (reason,)
    return Usage(
        _int(getattr(usage, "prompt_tokens", None)),
        _int(getattr(usage, "completion_tokens", None)),
        getattr(response, "model", None),
        cache_read_input_tokens=_int(getattr(prompt, "cached_tokens", None)),
        cache_creation_input_tokens=_int(getattr(prompt, "cache_write_tokens", None)),
        reasoning_output_tokens=_int(getattr(completion, "reasoning_tokens", None)),
        response_id=getattr(response, "id", None),
        finish_reasons=reasons or None,
        modality_tokens=_modalities(prompt, completion),
    )


def _modalities(prompt: Any, completion: Any) -> tuple[tuple[str, int], ...] | None:
    """Per-modality counts of the usage details (most calls: five attribute reads, no call)."""
    if prompt is None and completion is None:
        return None
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
    inputs = _details(usage, "input_tokens_details")
    outputs = _details(usage, "output_tokens_details")
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
