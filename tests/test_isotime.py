"""The one ISO 8601 parser: aware UTC datetimes on every Python, None for anything else."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tracker._isotime import parse_iso


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=timezone.utc)),
    ("2024-01-01T00:00:00.12Z", datetime(2024, 1, 1, 0, 0, 0, 120000, tzinfo=timezone.utc)),
    ("2024-05-06T07:08:09.123456789+00:00",
     datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)),
    ("2024-01-01T02:00:00+02:00", datetime(2024, 1, 1, tzinfo=timezone.utc)),
    (" 2024-01-01 ", datetime(2024, 1, 1, tzinfo=timezone.utc)),
])
def test_iso_times_become_aware_utc(text: str, expected: datetime) -> None:
    assert parse_iso(text) == expected


@pytest.mark.parametrize("text", ["garbage", "", "9999-12-31T23:59:59-05:00",
                                  "0001-01-01T00:00:00+01:00", "2024-13-01", "x" * 100, 12, None])
def test_anything_else_is_none(text: object) -> None:
    assert parse_iso(text) is None
