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

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["MAX_TOKENS", "Usage", "count", "parse_count", "settle"]

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
    #: Counts the provider reported per modality, as (conventions' attribute name, count) pairs
    #: (``gen_ai.usage.audio.input_tokens``, ...), made by the integrations; None: none reported.
    modality_tokens: tuple[tuple[str, int], ...] | None = None


class _Filling:
    """A `Usage` while its ``__init__`` runs: the same slots, without the frozen ``__setattr__``."""

    __slots__ = tuple(f.name for f in dataclasses.fields(Usage))


def _fast_init() -> Callable[..., None]:
    """`Usage.__init__`, storing the slots as a plain class would.

    The same parameters and defaults as the dataclass's own ``__init__``, about four times as
    fast: a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, and
    a `Usage` is built on every recorded call. The instance is a `_Filling` (same slot layout,
    Python allows the class change) while its fields are stored, then a `Usage` again; a
    subclass of `Usage` is filled the dataclass's way.
    """
    names = [f.name for f in dataclasses.fields(Usage)]
    namespace: dict[str, object] = {
        "_Usage": Usage, "_Filling": _Filling,
        "_set_class": object.__dict__["__class__"].__set__,
    }
    params = []
    slow = []
    for i, f in enumerate(dataclasses.fields(Usage)):
        namespace[f"_set{i}"] = Usage.__dict__[f.name].__set__
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
        slow.append(f"        _set{i}(self, {f.name})\n")
    source = (f"def __init__(self, {', '.join(params)}):\n"
              "    if type(self) is not _Usage:\n"
              f"{''.join(slow)}"
              "        return\n"
              "    _set_class(self, _Filling)\n"
              f"{''.join(f'    self.{name} = {name}{chr(10)}' for name in names)}"
              "    self.__class__ = _Usage\n")
    exec(source, namespace)  # as dataclasses builds __init__
    init = namespace["__init__"]
    init.__qualname__ = "Usage.__init__"  # type: ignore[attr-defined]
    return init  # type: ignore[return-value]


Usage.__init__ = _fast_init()  # type: ignore[method-assign]


def settle(usage: Usage | None, estimate: Callable[[], Usage], *,
           no_output: bool = False) -> Usage:
    """The one rule for a call's counts, input and output alike.

    A count that is missing or not a valid count (`count()`), or a reported 0 that the text
    contradicts (a non-empty request or answer), is "not reported": it is replaced by the count
    `estimate()` makes from the text, and the usage is flagged ``tokens_estimated``. Valid counts
    are kept as reported. `estimate` is called only when a count is missing or 0. With
    `no_output` (an embedding: it has no output tokens), a missing output count is 0, as reported.
    """
    n_in = count(usage.input_tokens) if usage is not None else None
    n_out = count(usage.output_tokens) if usage is not None else None
    if no_output and n_out is None and usage is not None:
        usage = dataclasses.replace(usage, output_tokens=0)
        n_out = 0
    if usage is not None and n_in and n_out:
        return usage  # the common case: both reported, nothing estimated
    guess = estimate()
    if usage is None:
        return dataclasses.replace(guess, tokens_estimated=True)
    flagged = usage.tokens_estimated
    if n_in is None or (n_in == 0 and count(guess.input_tokens)):
        n_in, flagged = count(guess.input_tokens), True
    if n_out is None or (n_out == 0 and count(guess.output_tokens)):
        n_out, flagged = count(guess.output_tokens), True
    if (flagged is usage.tokens_estimated and type(usage.input_tokens) is int
            and type(usage.output_tokens) is int
            and (n_in, n_out) == (usage.input_tokens, usage.output_tokens)):
        return usage  # (a bool is no count: False == 0, but `type(False) is not int`)
    return dataclasses.replace(usage, input_tokens=n_in, output_tokens=n_out,
                               tokens_estimated=flagged)
