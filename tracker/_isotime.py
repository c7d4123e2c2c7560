"""The one ISO 8601 parser of the SDK: timestamps from ledgers, grid APIs and the command line.

`parse_iso()` accepts what `datetime.fromisoformat` accepts on every supported Python (3.10's is
stricter: a trailing ``Z`` and fractions of other than 3 or 6 digits are normalised first) and
returns an aware UTC datetime, or None for anything else: it never raises, so one bad value in a
file or an API answer costs that value only.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

__all__ = ["parse_iso"]

_MAX_LEN = 64
_FRACTION = re.compile(r"(\.\d+)(?=[+-]\d\d:?\d\d$|$)")


def _six_digits(match: re.Match[str]) -> str:
    return (match.group(1) + "000000")[:7]


def parse_iso(text: object, *, naive_is_utc: bool = True) -> datetime | None:
    """`text` as an aware UTC datetime, or None when it is not an ISO 8601 date or time."""
    if not isinstance(text, str) or not text or len(text) > _MAX_LEN:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:  # Python 3.10: a trailing Z, other fraction lengths; or spaces around
        value = text.strip()
        if value.endswith(("Z", "z")):
            value = value[:-1] + "+00:00"
        value = _FRACTION.sub(_six_digits, value, count=1)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    if moment.tzinfo is None:
        if not naive_is_utc:
            return None
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # year 1 or 9999 shifted out of range
        return None
