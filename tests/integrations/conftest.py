"""Fixtures of the integrations' tests (the shared ones are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Otel


@pytest.fixture
def ledger_otel(configure_tracker: Callable[..., Otel], tmp_path: Path) -> Otel:
    """The tracker configured with in-memory telemetry and a ledger (``.ledger``: its path)."""
    ledger = tmp_path / "ledger.jsonl"
    helper = configure_tracker(ledger=str(ledger))
    helper.ledger = ledger  # type: ignore[attr-defined]
    return helper
