"""The one schema every usage reader produces, and the rules that admit a value into it.

A `UsageRow` is N requests of one model through one provider in one time bucket (N = 1 for a
per-request log line): counts, the grouping keys a source has (project, API key id, function,
labels) and, for the SDK's own ledger lines, the figures recorded at call time. Nothing else: no
text field of a source (prompts, completions, messages, metadata) is ever copied into a row.
Names pass `name()` (short printable strings), counts `tracker._usage.parse_count`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tracker._isotime import parse_iso

__all__ = ["DEFAULT_MEAN_INPUT_TOKENS", "MAX_NAME", "RECORDED", "UsageRow", "name",
           "recorded_value", "timestamp"]

#: Longest name (model, provider, project, key id, label value) kept; longer ones are dropped.
MAX_NAME = 256
#: Input tokens per request assumed where a source reports tokens but no request count (the
#: Anthropic usage report): an assumption, flagged on every row that rests on it, which the user
#: replaces with ``mean_input_tokens`` / ``--mean-input-tokens``.
DEFAULT_MEAN_INPUT_TOKENS = 2000
#: Figures a ledger line recorded at call time, in `UsageRow.recorded` order.
RECORDED = ("energy_kwh", "energy_kwh_min", "energy_kwh_max", "server_kwh", "accelerator_kwh",
            "gco2e", "gco2e_min", "gco2e_max", "usd", "water_l", "embodied_gco2e")
#: Largest recorded figure taken (kWh, gCO2e, USD or L): beyond the world's yearly electricity.
_MAX_VALUE = 1e15
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class UsageRow:
    """N requests of one model: counts, grouping keys, and a ledger line's recorded figures."""

    timestamp: str | None
    provider: str | None
    model: str | None
    requests: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    project: str | None = None
    api_key_id: str | None = None
    function: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    #: True when the source gave no request count and `requests` was derived from tokens.
    requests_assumed: bool = False
    #: A ledger line's figures (`RECORDED` order), or None.
    recorded: tuple[float, ...] | None = None
    #: Requests made through the provider's batch API (priced at the table's batch prices).
    batch: bool = False
    #: Input tokens written to a prompt cache (of `input_tokens`; priced as such by the API
    #: price only: the energy model reads them as input).
    cache_write_tokens: int = 0

    def label(self, key: str) -> str | None:
        """The value of label `key`, or None."""
        for k, v in self.labels:
            if k == key:
                return v
        return None


def name(value: Any) -> str | None:
    """`value` as a name (a short printable string), or None."""
    if type(value) is str and 0 < len(value) <= MAX_NAME and value.isprintable():
        return value
    return None


def recorded_value(value: Any) -> float | None:
    """A recorded figure: a finite number from 0 to 1e15, or None."""
    if type(value) not in (int, float):
        return None
    number = float(value)
    return number if math.isfinite(number) and 0.0 <= number <= _MAX_VALUE else None


def timestamp(value: Any) -> str | None:
    """An ISO 8601 text or a Unix time (s, ms, us or ns) as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    moment: datetime | None
    if type(value) is str:
        text = value.strip()
        if text.isdigit() and len(text) <= 20:
            return timestamp(int(text))
        moment = parse_iso(text.replace(" ", "T", 1) if len(text) > 10 else text)
    elif type(value) in (int, float) and math.isfinite(value) and value >= 0:
        seconds = float(value)
        while seconds > 1e11:  # ms, us or ns since the epoch
            seconds /= 1000.0
        try:
            moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    return moment.strftime(_FORMAT) if moment is not None else None
