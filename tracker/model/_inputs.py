"""Validation of the energy model's inputs: bounded, finite numbers, or `ConfigError`.

Every bound keeps each product of the model finite, so no input can yield ``inf`` or ``nan``
energy, and an integer of any size is rejected without an ``OverflowError``.
"""

from __future__ import annotations

import math
import operator

from tracker.exceptions import ConfigError

__all__ = ["MAX_BATCH_SIZE", "MAX_FACTOR", "MAX_GPUS", "MAX_TOKENS", "check_finite", "number",
           "show", "tokens"]

#: Largest token count one request may have (10^12: far above any context window or batch job;
#: the same bound as tracker.recording's reported counts), so energy stays a finite float.
MAX_TOKENS = 10**12
#: Largest accelerator count of one model replica (10^5: the size of the largest training
#: clusters, 2024-2025; a serving replica uses 1-64).
MAX_GPUS = 100_000
#: Largest concurrent batch (10^6 sequences: far above any serving engine's batch).
MAX_BATCH_SIZE = 1e6
#: Largest factor (PUE, host overhead, WUE, g/kWh, USD/kWh) taken: no physical value comes near
#: 10^9, and the bound keeps every product finite.
MAX_FACTOR = 1e9


def show(value: object) -> str:
    """A value for an error message: short, and safe for integers of any size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    try:
        text = repr(value)
    except Exception:  # a repr that fails (or a huge int beyond the str limit)
        return f"a {type(value).__name__}"
    return text if len(text) <= 80 else f"{text[:77]}..."


def tokens(field: str, value: object, *, maximum: int = MAX_TOKENS) -> int:
    if isinstance(value, bool):
        raise ConfigError(field, f"must be a non-negative integer, got {show(value)}")
    try:
        count = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ConfigError(field, f"must be a non-negative integer, got {show(value)}") from None
    if count < 0 or count > maximum:
        raise ConfigError(field, f"must be an integer from 0 to {maximum:,}, got {show(count)}")
    return int(count)


def number(field: str, value: object, *, minimum: float, inclusive: bool = True,
            maximum: float = MAX_FACTOR) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(field, f"must be a number, got {show(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        number = math.inf
    bad = number < minimum if inclusive else number <= minimum
    if math.isnan(number) or math.isinf(number) or bad or number > maximum:
        bound = ">=" if inclusive else ">"
        raise ConfigError(field, f"must be a finite number {bound} {minimum:g} and at most "
                          f"{maximum:g}, got {show(value)}")
    return number


def check_finite(*joules: float) -> None:
    """Per-token energies must be finite (a registry entry or input combination overflowed)."""
    if not all(math.isfinite(j) for j in joules):
        raise ConfigError("model", "the model, hardware and inputs give a non-finite energy")
