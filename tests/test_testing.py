"""`tracker.testing.capture()`: the in-memory capture helpers shipped to users."""

from __future__ import annotations

import openai

import tracker
from tracker.demo._server import DemoServer
from tracker.instrumentation._registry import instrumented
from tracker.testing import capture


def test_capture_sees_an_instrumented_call_and_resets_afterwards() -> None:
    with DemoServer() as server, openai.OpenAI(api_key="sk-test", max_retries=0,
                                               base_url=server.openai_base_url) as client:
        with capture(instrument=["openai"]) as emitted:
            @tracker.track_energy(name="feature")
            def feature() -> None:
                client.chat.completions.create(model="gpt-4o-mini",
                                               messages=[{"role": "user", "content": "hi"}])

            feature()
        assert "openai" not in instrumented()  # put back at the end
        client.chat.completions.create(model="gpt-4o-mini",
                                       messages=[{"role": "user", "content": "after"}])
    (call,) = emitted.calls
    assert call.name == "chat gpt-4o-mini"
    assert call.attributes["energy.kwh"] > 0
    assert [s.name for s in emitted.spans if s.name == "feature"] == ["feature"]
    (record,) = emitted.records
    assert record["energy.kwh"] == call.attributes["energy.kwh"]
    assert emitted.total("energy.consumption") == record["energy.kwh"]
    assert tracker.get_config().tracer_provider is None  # the SDK was reset


def test_capture_of_record_usage() -> None:
    with capture(instrument=False) as emitted:
        tracker.record_usage("gpt-4o-mini", 100, 200, provider="openai")
    assert len(emitted.calls) == 1 and emitted.total("energy.emissions") > 0


def test_capture_leaves_instrumentation_made_before_it() -> None:
    """What the application instrumented before the block stays instrumented after it."""
    tracker.instrument("openai")
    try:
        with capture(instrument=["openai"]):
            pass
        assert "openai" in instrumented()
    finally:
        tracker.uninstrument("openai")


def test_capture_is_reachable_after_a_plain_import_tracker() -> None:
    """As the README writes it: ``import tracker`` then ``tracker.testing.capture()``."""
    import subprocess
    import sys

    code = ("import tracker\nwith tracker.testing.capture() as emitted:\n"
            "    tracker.record_usage('gpt-4o-mini', 10, 20)\n"
            "assert len(emitted.calls) == 1\nprint(tracker.integration.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tracker.integration"
