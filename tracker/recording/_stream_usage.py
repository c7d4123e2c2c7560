"""Token usage of a streamed response: the strategies stream proxies feed, and estimates.

A provider *strategy* has `record_chunk(chunk)` (called once per chunk, doing at most a counter
update) and `result()` (the usage once the stream is over). `CountingStrategy` reports usage when
a chunk carried it and otherwise counts output characters, ``ceil(chars / 4)`` tokens, and
estimates the input from the request text the same way (flagged ``energy.tokens_estimated``);
`InBandUsageStrategy` is the base of strategies for streams that report usage on a chunk's
``usage``. Four characters per token is the usual rule of thumb for English text with BPE
tokenizers (OpenAI, "What are tokens", 2023).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from tracker._usage import Usage, settle

__all__ = [
    "CHARS_PER_TOKEN",
    "CountingStrategy",
    "InBandUsageStrategy",
    "StreamResult",
    "StreamStrategy",
    "estimate_tokens",
    "tokens_from_chars",
]

CHARS_PER_TOKEN = 4


def tokens_from_chars(chars: int) -> int:
    """Tokens for `chars` characters of text: ``ceil(chars / 4)``."""
    return -(-chars // CHARS_PER_TOKEN)


def _text_chars(obj: object, depth: int = 0) -> int:
    if isinstance(obj, str):
        return len(obj)
    if depth > 8:
        return 0
    if isinstance(obj, Mapping):
        return sum(_text_chars(v, depth + 1) for v in obj.values())
    if isinstance(obj, Sequence) and not isinstance(obj, (bytes, bytearray)):
        return sum(_text_chars(v, depth + 1) for v in obj)
    return 0


def estimate_tokens(*request_parts: object) -> int:
    """Estimated tokens of a request: ``ceil(chars / 4)`` over every string inside it.

    `request_parts` are the messages, input, system prompt... Only lengths are read.
    """
    return tokens_from_chars(sum(_text_chars(p) for p in request_parts))


#: What a strategy knows once the stream is over (the one usage record).
StreamResult = Usage


class StreamStrategy(Protocol):
    """Per-provider stream state: fed every chunk, asked for the usage at the end."""

    def record_chunk(self, chunk: Any) -> None:
        """Update counters from one chunk (cheap: no allocation beyond an int)."""

    def result(self) -> StreamResult:
        """The usage of the stream so far (reported by the provider, else counted)."""


class CountingStrategy:
    """Base strategy: reported usage when a chunk carried it, else counted characters.

    Subclasses implement `record_chunk()` and update `reported_input`, `reported_output`,
    `output_chars` and `response_model`. The input estimate is computed lazily from the request
    parts only if the provider never reported input tokens.
    """

    __slots__ = ("_request_parts", "output_chars", "reported_input", "reported_output",
                 "response_model")

    def __init__(self, request_parts: Sequence[object] = ()) -> None:
        self._request_parts = tuple(request_parts)
        self.reported_input: int | None = None
        self.reported_output: int | None = None
        self.output_chars = 0
        self.response_model: str | None = None

    def record_chunk(self, chunk: Any) -> None:
        """Subclasses read one chunk here."""
        raise NotImplementedError

    def counted_output(self) -> int:
        """Output tokens when the provider reported none: ``ceil(output_chars / 4)``."""
        return tokens_from_chars(self.output_chars)

    def result(self) -> StreamResult:
        """Reported usage where present, else (or for a 0 the text contradicts) counted figures."""
        reported = StreamResult(self.reported_input, self.reported_output, self.response_model)
        usage = settle(reported, lambda: StreamResult(estimate_tokens(*self._request_parts),
                                                      self.counted_output()))
        self._request_parts = ()
        return usage


class InBandUsageStrategy(CountingStrategy):
    """Base of strategies for streams that report usage in-band, on a chunk's `usage` attribute.

    Only three things are kept: how many chunks arrived, the last one, and the one carrying
    usage. A stream proxy's reader counts the chunks and keeps the last two in its own variables
    (no call per chunk) and sets these when the stream ends: the usage chunk is the last of the
    two whose `usage` is set, so a usage chunk followed by one without usage still counts;
    `record_chunk()` (a strategy fed chunk by chunk) keeps the last chunk whose `usage` is set.
    Subclasses read the usage and model from `usage_chunk` and `last` in `result()`;
    `counted_output()` (output tokens when no chunk carried usage) is one token per chunk, the
    granularity at which these APIs stream.
    """

    __slots__ = ("chunks", "last", "usage_chunk")

    def __init__(self, request_parts: Sequence[object] = ()) -> None:
        # (CountingStrategy.__init__ inline: one strategy per streamed call)
        self._request_parts = tuple(request_parts)
        self.reported_input: int | None = None
        self.reported_output: int | None = None
        self.output_chars = 0
        self.response_model: str | None = None
        self.chunks = 0
        self.last: Any = None
        self.usage_chunk: Any = None

    def record_chunk(self, chunk: Any) -> None:
        """Count and keep the chunk (and keep it as the usage chunk if it carries usage)."""
        self.chunks += 1
        self.last = chunk
        if getattr(chunk, "usage", None) is not None:
            self.usage_chunk = chunk

    def counted_output(self) -> int:
        """One token per chunk received (none carried usage)."""
        return self.chunks
