"""Fault injection: SDK-side failures never reach the caller; the caller's own errors do."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter

import tracker
from tracker.export import _telemetry as telemetry
from tracker.model import _estimate as energy_model

SENTINEL = object()


class ExplodingProcessor(SpanProcessor):
    def __init__(self, on_start: bool, on_end: bool) -> None:
        self.fail_start, self.fail_end = on_start, on_end

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        if self.fail_start:
            raise RuntimeError("processor on_start exploded")

    def on_end(self, span: Any) -> None:
        if self.fail_end:
            raise RuntimeError("processor on_end exploded")


class ExplodingExporter(SpanExporter):
    def export(self, spans: Any) -> Any:
        raise RuntimeError("exporter exploded")


@tracker.track_energy
def tracked() -> object:
    tracker.record_usage("gpt-4o", 10, 10, provider="openai")
    tracker.record_usage("model-the-registry-lacks", 10, 10)
    return SENTINEL


def _internal_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tracker.internal" and r.levelno >= 30]


@pytest.mark.parametrize(("on_start", "on_end"), [(True, False), (False, True), (True, True)])
def test_failing_span_processor(configure_tracker: Any, tmp_path: Path, on_start: bool,
                                on_end: bool, caplog: pytest.LogCaptureFixture) -> None:
    otel = configure_tracker(strict=False, ledger=str(tmp_path / "l.jsonl"))
    otel.tracer_provider.add_span_processor(ExplodingProcessor(on_start, on_end))
    with tracker.track_energy("outer") as scope:
        assert tracked() is SENTINEL
        assert tracked() is SENTINEL
    assert scope.calls == 4 and scope.energy_kwh > 0  # energy still counted
    lines = (tmp_path / "l.jsonl").read_text().splitlines()
    assert len(lines) == 4  # the ledger does not depend on the span pipeline
    assert len(otel.logs()) == 4
    # logged once per distinct site and type, not once per call
    sites = [r.args[0] for r in _internal_warnings(caplog)]  # type: ignore[index]
    assert sites and len(sites) == len(set(sites))


def test_failing_processor_keeps_caller_exception(configure_tracker: Any) -> None:
    otel = configure_tracker(strict=False)
    otel.tracer_provider.add_span_processor(ExplodingProcessor(True, True))
    boom = KeyError("mine")

    @tracker.track_energy
    def failing() -> None:
        tracker.record_usage("gpt-4o", 1, 1)
        raise boom

    with pytest.raises(KeyError) as info:
        failing()
    assert info.value is boom


def test_failing_exporter(configure_tracker: Any) -> None:
    otel = configure_tracker(strict=False)
    otel.tracer_provider.add_span_processor(SimpleSpanProcessor(ExplodingExporter()))
    assert tracked() is SENTINEL
    assert len(otel.call_spans()) == 2  # the healthy exporter still got everything


def test_failing_energy_computation(configure_tracker: Any, monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture) -> None:
    otel = configure_tracker(strict=False)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("model bug")

    monkeypatch.setattr(energy_model, "pricer", broken)
    assert tracked() is SENTINEL
    after_one = len(_internal_warnings(caplog))
    for _ in range(3):
        assert tracked() is SENTINEL
    assert after_one >= 1 and len(_internal_warnings(caplog)) == after_one
    assert all(s.end_time is not None for s in otel.spans())  # no span left open
    assert [s.name for s in otel.spans()] == [tracked.__qualname__] * 4


def test_failing_metrics_log_and_ledger(configure_tracker: Any, monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    otel = configure_tracker(strict=False, ledger=str(tmp_path / "l.jsonl"))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(telemetry.Telemetry, "_record_metrics", broken)
    monkeypatch.setattr(telemetry.Telemetry, "_emit_log", broken)
    monkeypatch.setattr("tracker.export._ledger.LedgerWriter.write_line", broken)
    assert tracked() is SENTINEL
    assert len(otel.call_spans()) == 2  # spans still emitted


def test_strict_mode_reraises_internal_errors(configure_tracker: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    configure_tracker(strict=True)
    monkeypatch.setattr(energy_model, "pricer", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        tracker.record_usage("gpt-4o", 1, 1)


def test_corrupt_registry_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corrupt = tmp_path / "models.toml"
    corrupt.write_text("[[models]\nname = ")
    with pytest.raises(tracker.ConfigError) as info:  # explicit: raises at configure time
        tracker.configure(registry_file=str(corrupt), instrument=False)
    assert info.value.field == "registry_file"
    tracker.reset()
    monkeypatch.setenv("TRACKER_REGISTRY_FILE", str(corrupt))  # lazy: logged, never raised
    assert tracked() is SENTINEL


def test_unknown_model_never_raises_even_strict(configured: Any) -> None:
    assert tracked() is SENTINEL
    flags = [s.attributes["energy.model_known"] for s in configured.call_spans()]
    assert sorted(flags) == [False, True]


def test_broken_response_object_is_ignored(configured: Any) -> None:
    class Weird:
        @property
        def usage(self) -> Any:
            raise RuntimeError("lazy attribute exploded")

    weird = Weird()

    @tracker.track_energy
    def returns_weird() -> Weird:
        return weird

    configure_strict_off = tracker.configure(**{**configured.providers(), "strict": False,
                                                "instrument": False, "ledger": None})
    assert configure_strict_off.strict is False
    assert returns_weird() is weird


def test_unwritable_ledger_at_runtime(configure_tracker: Any, tmp_path: Path) -> None:
    path = tmp_path / "gone" / "l.jsonl"
    path.parent.mkdir()
    configure_tracker(strict=False, ledger=str(path))
    tracker.shutdown()
    path.unlink()
    path.parent.rmdir()  # the directory vanished after configure
    assert tracked() is SENTINEL
    assert not path.exists()
    assert json.dumps({"ok": True})


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_malformed_stream_chunks_pass_through(configured: Any, is_async: bool) -> None:
    """Chunks whose `usage` attribute raises reach the caller unchanged, in order; the call is
    still recorded once, one output token per chunk, flagged as estimated."""
    import asyncio

    from integrations.openai import ReportedUsageStrategy
    from tracker.recording._calls import start_call
    from tracker.recording._streams import wrap_stream

    class Bad:
        @property
        def usage(self) -> Any:
            raise RuntimeError("lazy attribute exploded")

    chunks = [Bad(), Bad(), Bad()]
    tracker.configure(**{**configured.providers(), "strict": False, "instrument": False,
                         "ledger": None})
    call = start_call(provider="openai", request_model="gpt-4o")

    async def agen() -> Any:
        for c in chunks:
            yield c

    async def aread(stream: Any) -> list[Any]:
        return [c async for c in stream]

    stream = wrap_stream(agen() if is_async else iter(chunks), call, ReportedUsageStrategy(),
                         is_async=is_async)
    got = asyncio.run(aread(stream)) if is_async else list(stream)
    assert got == chunks
    spans = configured.call_spans()
    assert len(spans) == 1
    assert spans[0].attributes["energy.tokens_estimated"] is True
    assert spans[0].attributes["gen_ai.usage.output_tokens"] == len(chunks)


def test_a_corrupt_registry_file_keeps_the_other_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lazy default drops only the bad file: TRACKER_LEDGER="" still keeps the ledger off
    (no ledger appears in the working directory, the repository's in a test run)."""
    corrupt = tmp_path / "models.toml"
    corrupt.write_text("[[models]\nname = ")
    monkeypatch.chdir(tmp_path)
    tracker.reset()
    monkeypatch.setenv("TRACKER_REGISTRY_FILE", str(corrupt))
    monkeypatch.setenv("TRACKER_PUE", "1.3")
    assert tracked() is SENTINEL
    assert tracker.get_config().ledger in (None, "", False)
    assert tracker.get_config().pue == 1.3
    assert not (tmp_path / "llm-energy-ledger.jsonl").exists()
