"""What several commands parse the same way: token counts.

`token_count` is the one parser of a count on the command line (``estimate``, ``compare``,
``estimate-training``): ``300000``, ``300_000``, ``300,000``, ``1e6``, ``3e11``, and the suffixes
``k`` (10^3), ``M`` (10^6), ``B`` or ``G`` (10^9) and ``T`` (10^12), case-insensitive: ``300B``,
``15T``, ``1.5k``. The value must be a whole number from 0 to `MAX_COUNT`.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["MAX_COUNT", "token_count"]

#: Largest count taken (10^16 tokens: far above any training corpus so far).
MAX_COUNT = 10**16

_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def token_count(text: str) -> int:
    """A count: ``300000``, ``300_000``, ``1e6``, ``300B``, ``15T`` (argparse ``type=``)."""
    raw = str(text).strip().replace("_", "").replace(",", "")
    if not raw or len(raw) > 40:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (e.g. 300000, 1e6, 300B, 15T)")
    scale = _SUFFIXES.get(raw[-1].lower(), 1.0)
    digits = raw[:-1] if raw[-1].lower() in _SUFFIXES else raw
    try:
        value = int(digits) * int(scale) if digits.isdigit() else float(digits) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a count (e.g. 300000, 1e6, 300B, 15T)") from None
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of tokens")
    if not 0 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text!r} is outside 0 to {MAX_COUNT:.0e}")
    return int(value)
