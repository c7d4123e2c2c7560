"""`tracker.estimate()` prices a request for the configured deployment unless told otherwise."""

from __future__ import annotations

import pytest

import tracker
from tracker.model._estimate import estimate as pure_estimate


def test_estimate_uses_the_configured_region_and_hardware() -> None:
    before = tracker.estimate("gpt-4o", 500, 100)
    assert before.region == "world"
    tracker.configure(region="gcp:us-central1", hardware="h200", ledger=None, instrument=False)
    try:
        configured = tracker.estimate("gpt-4o", 500, 100)
        assert configured.region == "gcp:us-central1" and configured.hardware == "h200"
        assert configured == pure_estimate("gpt-4o", 500, 100, region="gcp:us-central1",
                                           hardware="h200")
        assert configured.gco2e != before.gco2e
        # a keyword given wins over the configuration; configured=False ignores it
        assert tracker.estimate("gpt-4o", 500, 100, region="FR").region == "FR"
        assert tracker.estimate("gpt-4o", 500, 100, configured=False) == before
    finally:
        tracker.reset()
    assert tracker.estimate("gpt-4o", 500, 100) == before


def test_configured_overrides_and_bad_input_still_name_the_field() -> None:
    tracker.configure(pue=1.1, carbon_intensity=100.0, ledger=None, instrument=False)
    try:
        e = tracker.estimate("gpt-4o", 500)
        assert e.pue == 1.1 and e.carbon_intensity == 100.0
        with pytest.raises(tracker.ConfigError, match="output_tokens"):
            tracker.estimate("gpt-4o", -1)
    finally:
        tracker.reset()
