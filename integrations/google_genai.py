"""Google Gen AI integration (``google-genai``): Gemini through the Gemini API or Vertex AI.

Patches `google.genai.models.Models` and `AsyncModels` (``client.models`` and
``client.aio.models``): ``generate_content``, ``generate_content_stream`` (a generator, or an
async one once awaited) and ``embed_content``. The provider is ``gcp.vertex_ai`` for a Vertex
client, else ``gcp.gemini``.

Usage from ``usage_metadata``: input = ``prompt_token_count`` (which includes
``cached_content_token_count``) + ``tool_use_prompt_token_count``; output =
``candidates_token_count`` + ``thoughts_token_count`` (thinking tokens are output tokens, and
are also reported as ``gen_ai.usage.reasoning.output_tokens``). In a stream every chunk carries
the cumulative figures, so the last one wins. Embeddings: ``usage_metadata.prompt_token_count``
when the API reports it, else the sum of the Vertex per-embedding ``statistics.token_count``.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    from google.genai import version as _version  # type: ignore[import-untyped,import-not-found,unused-ignore]
except ImportError as _exc:  # pragma: no cover - exercised only without google-genai installed
    raise IntegrationNotAvailable(
        "the google_genai integration needs `pip install google-genai>=1.10`"
    ) from _exc

from tracker.integration import (
    CountingStrategy,
    Endpoint,
    Patcher,
    Usage,
    count,
    make_wrapper,
    modality_tokens,
)

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "google_genai"
MIN_VERSION = (1, 10)  # oldest release the test suite passes on (thoughts_token_count)

if tuple(int(p) for p in _version.__version__.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the google_genai integration needs google-genai>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {_version.__version__}"
    )


def _provider(models: Any) -> str:
    client = getattr(models, "_api_client", None)
    return "gcp.vertex_ai" if getattr(client, "vertexai", False) is True else "gcp.gemini"


def _sum(*values: Any) -> int | None:
    counts = [count(v) for v in values]
    if all(c is None for c in counts):
        return None
    return sum(c or 0 for c in counts)


def _from_metadata(meta: Any, response: Any) -> Usage:
    reasons = tuple(
        str(getattr(r, "value", r)) for c in (getattr(response, "candidates", None) or ())
        if (r := getattr(c, "finish_reason", None)) is not None
    )
    return Usage(
        _sum(getattr(meta, "prompt_token_count", None),
             getattr(meta, "tool_use_prompt_token_count", None)),
        _sum(getattr(meta, "candidates_token_count", None),
             getattr(meta, "thoughts_token_count", None)),
        getattr(response, "model_version", None),
        cache_read_input_tokens=count(getattr(meta, "cached_content_token_count", None)),
        reasoning_output_tokens=count(getattr(meta, "thoughts_token_count", None)),
        response_id=getattr(response, "response_id", None),
        finish_reasons=reasons or None,
        modality_tokens=_modalities(meta),
    )


def _modalities(meta: Any) -> tuple[tuple[str, int], ...] | None:
    """Per-modality counts of ``prompt_tokens_details`` / ``candidates_tokens_details``."""
    prompt = getattr(meta, "prompt_tokens_details", None)
    candidates = getattr(meta, "candidates_tokens_details", None)
    if not prompt and not candidates:
        return None
    return modality_tokens(_pairs(prompt), _pairs(candidates))


def _pairs(details: Any) -> list[tuple[object, object]]:
    """(modality, count) of a list of ``ModalityTokenCount`` (``MediaModality.TEXT`` -> text)."""
    out: list[tuple[object, object]] = []
    for item in details if isinstance(details, list) else ():
        modality = getattr(item, "modality", None)
        out.append((getattr(modality, "value", modality), getattr(item, "token_count", None)))
    return out


def _content_usage(response: Any) -> Usage | None:
    meta = getattr(response, "usage_metadata", None)
    return None if meta is None else _from_metadata(meta, response)


def _embed_usage(response: Any) -> Usage | None:
    meta = getattr(response, "usage_metadata", None)
    tokens = count(getattr(meta, "prompt_token_count", None))
    if tokens is None:  # Vertex: per-embedding statistics (floats)
        stats = [getattr(getattr(e, "statistics", None), "token_count", None)
                 for e in getattr(response, "embeddings", None) or ()]
        numbers = [s for s in stats if isinstance(s, (int, float))]
        if numbers and len(numbers) == len(stats):
            tokens = count(int(sum(numbers)))
    return None if tokens is None else Usage(tokens, 0)


class ContentStreamStrategy(CountingStrategy):
    """Chunks of ``generate_content_stream``: the last ``usage_metadata`` (cumulative) wins."""

    __slots__ = ("_last",)

    def __init__(self, request_parts: tuple[object, ...]) -> None:
        super().__init__(request_parts)
        self._last: Usage | None = None

    def record_chunk(self, chunk: Any) -> None:
        """Keep the chunk's usage; count its text for when no chunk carries usage."""
        meta = getattr(chunk, "usage_metadata", None)
        if meta is not None:
            self._last = _from_metadata(meta, chunk)
        for candidate in getattr(chunk, "candidates", None) or ():
            content = getattr(candidate, "content", None)
            for part in getattr(content, "parts", None) or ():
                text = getattr(part, "text", None)
                if isinstance(text, str):
                    self.output_chars += len(text)

    def result(self) -> Usage:
        """The last reported usage, else the counted characters."""
        last = self._last
        if last is not None and last.input_tokens is not None and last.output_tokens is not None:
            return last
        return super().result()


def _strategy(kwargs: Mapping[str, Any]) -> ContentStreamStrategy:
    return ContentStreamStrategy((kwargs.get("contents"),))


def _is_stream(result: Any) -> bool:
    return isinstance(result, (types.GeneratorType, types.AsyncGeneratorType))


def _answer(response: Any) -> object:
    """The candidates' text parts (not ``response.text``: it warns on non-text parts)."""
    return [[getattr(p, "text", None) for p in getattr(getattr(c, "content", None), "parts",
                                                        None) or ()]
            for c in getattr(response, "candidates", None) or ()]


_GENERATE = Endpoint("generate_content", _provider, _content_usage,
                     output_text=_answer)
_STREAM = Endpoint("generate_content", _provider, _content_usage, _is_stream, _strategy)
_EMBED = Endpoint("embeddings", _provider, _embed_usage)

_patcher = Patcher()
_MODULE = "google.genai.models"


def instrument() -> None:
    """Patch ``client.models`` and ``client.aio.models`` (called by `tracker.instrument`)."""
    for cls, is_async in (("Models", False), ("AsyncModels", True)):
        for method, endpoint in (("generate_content", _GENERATE),
                                 ("generate_content_stream", _STREAM),
                                 ("embed_content", _EMBED)):
            _patcher.patch(_MODULE, f"{cls}.{method}", make_wrapper(endpoint, is_async=is_async))


def uninstrument() -> None:
    """Restore the original methods."""
    _patcher.unpatch_all()
