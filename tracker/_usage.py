"""`Usage`: the one record of a call's token counts, and the rules that make a number a count.

A neutral module (it imports nothing of the SDK), shared by every layer that reads token counts:
integrations build `Usage` from a provider's usage block, stream strategies from their counters,
the returned-response path from whatever a tracked function hands back; the reader of other
instrumentations' spans and the usage-export readers take their counts through `parse_count()`.
`count()` is the one place a provider's number becomes a token count: only a non-negative
``int`` (not ``bool``) below `MAX_TOKENS` is a count; anything else is "not reported", which
the call then estimates and flags, so a malformed or hostile usage block can never yield
negative or absurd energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["MAX_TOKENS", "Usage", "count", "parse_count"]

#: Largest token count taken as reported (10^12: far above any context window or batch job);
#: bigger values are treated as not reported.
MAX_TOKENS: Final = 10**12


def count(value: object) -> int | None:
    """`value` as a token count, or None when it is not a plausible one."""
    if type(value) is int and 0 <= value <= MAX_TOKENS:
        return value
    return None


def parse_count(value: object, *, text: bool = False) -> int | None:
    """A count written by someone else: `count()`, also taking integral floats.

    Other instrumentations record counts as doubles; exports write them as text (``"1200"``,
    ``"1200.0"``), read with ``text=True`` (a span attribute holding text is not a count).
    Anything that is not a whole number from 0 to `MAX_TOKENS` is "not reported".
    """
    if type(value) is int:
        return value if 0 <= value <= MAX_TOKENS else None
    if text and type(value) is str:
        written = value.strip()
        if not 0 < len(written) <= 16:
            return None
        if written.isdigit() and written.isascii():
            return count(int(written))
        try:
            value = float(written)
        except ValueError:
            return None
    if type(value) is float and value.is_integer() and 0 <= value <= MAX_TOKENS:
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one call, as reported (or, when `tokens_estimated`, counted or estimated).

    `input_tokens` includes cached prompt tokens and `output_tokens` includes reasoning tokens,
    as the GenAI semantic conventions define them; the `cache_*` and `reasoning_*` fields say how
    many of those they were, when the provider reports it.
    """

    input_tokens: int | None
    output_tokens: int | None
    response_model: str | None = None
    tokens_estimated: bool = False
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    reasoning_output_tokens: int | None = None
    response_id: str | None = None
    finish_reasons: tuple[str, ...] | None = None
    #: Timings the server reported for this call (a local server: Ollama, llama.cpp), in
    #: seconds: ``total``, ``load``, ``prompt_eval``, ``eval``. Kept on the span as
    #: ``energy.server.<name>_duration_s`` for a later local measurement.
    server_durations: tuple[tuple[str, float], ...] | None = None
