"""The SDK as an OpenTelemetry instrumentor: ``opentelemetry-instrument python app.py``.

The backend test runs an unmodified script that calls the ``openai`` client, under
``opentelemetry-instrument`` with only environment variables set (``OTEL_*``, ``TRACKER_*``,
``OPENAI_*``), against the bundled demo server; its spans and logs go to a real OTLP collector
(rotel, see test_export_otlp.py). The contrib OpenAI instrumentation, installed alongside in the
test environment, is loaded by ``opentelemetry-instrument`` too: one priced record per request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

import tracker
from tests._rotel import Received, Rotel, app_env
from tracker.demo._server import DemoServer
from tracker.exceptions import IntegrationNotAvailable
from tracker.instrumentation._registry import instrumented

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = "tracker.setup._otel_instrumentor:TrackerInstrumentor"

# The application: plain client code, nothing of the SDK or of OpenTelemetry in it.
APP = textwrap.dedent("""
    import openai

    client = openai.OpenAI(max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini",
                                   messages=[{"role": "user", "content": "how green is this"}])
    for _ in client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "and this stream"}],
            stream=True, stream_options={"include_usage": True}):
        pass
    client.close()
    print("done")
""")


def test_module_imports_without_the_extra() -> None:
    """Without opentelemetry-instrumentation the module imports; instrument() says what lacks."""
    script = textwrap.dedent("""
        import sys
        sys.modules["opentelemetry.instrumentation"] = None
        sys.modules["opentelemetry.instrumentation.instrumentor"] = None
        from tracker.setup._otel_instrumentor import TrackerInstrumentor
        from tracker.exceptions import IntegrationNotAvailable
        try:
            TrackerInstrumentor().instrument()
        except IntegrationNotAvailable as exc:
            print("missing:", exc)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=False,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith(("OTEL_", "TRACKER_"))})
    assert proc.returncode == 0, proc.stderr
    assert "missing:" in proc.stdout and "llm-energy-tracker[otel]" in proc.stdout
    assert IntegrationNotAvailable.__module__ == "tracker.exceptions"


def test_entry_point_is_declared() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert "[project.entry-points.opentelemetry_instrumentor]" in text
    assert f'"{ENTRY_POINT}"' in text


@pytest.fixture
def instrumentor() -> Iterator[Any]:
    pytest.importorskip("opentelemetry.instrumentation.instrumentor")
    from tracker.setup._otel_instrumentor import TrackerInstrumentor

    inst = TrackerInstrumentor()
    yield inst
    inst.uninstrument()


def test_instrument_configures_and_prices_spans(instrumentor: Any, otel: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_LABELS", "team=search")
    instrumentor.instrument(**otel.providers())
    assert tracker.get_config().labels == {"team": "search"}  # from the environment
    assert "openai" in instrumented()
    tracer = otel.tracer_provider.get_tracer("some.vendor")
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 40,
            "gen_ai.usage.output_tokens": 10}):
        pass
    assert otel.tracer_provider.force_flush(10_000)
    (record,) = [r for r in otel.logs() if r.event_name == "energy.request"]
    assert record.attributes["energy.priced_from"] == "some.vendor"
    assert record.attributes["team"] == "search"
    instrumentor.uninstrument()
    assert instrumented() == []


def test_instrument_without_span_pricing(instrumentor: Any, otel: Any) -> None:
    instrumentor.instrument(price_spans=False, **otel.providers())
    tracer = otel.tracer_provider.get_tracer("some.vendor")
    with tracer.start_as_current_span("chat", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 40}):
        pass
    assert otel.logs() == []


# ----------------------------------------------------------------------------- backend
def _opentelemetry_instrument() -> Path:
    script = Path(sys.executable).parent / "opentelemetry-instrument"
    if not script.exists():
        pytest.skip("opentelemetry-instrument is not installed: pip install "
                    "'llm-energy-tracker[otel]'")
    names = {e.value for e in entry_points(group="opentelemetry_instrumentor")}
    if ENTRY_POINT not in names:
        pytest.skip("the package is installed without its entry points: pip install -e .")
    return script


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer() as s:
        yield s


def _by_trace(got: Received) -> dict[str, list[Any]]:
    traces: dict[str, list[Any]] = {}
    for span in got.spans:
        if span.fields.get("Kind") == "SPAN_KIND_CLIENT":
            traces.setdefault(span.fields["Trace ID"], []).append(span)
    return traces


@pytest.mark.backend
def test_opentelemetry_instrument_env_only(rotel: Rotel, server: DemoServer,
                                           tmp_path: Path) -> None:
    launcher = _opentelemetry_instrument()
    service = f"svc-{uuid.uuid4().hex[:8]}"
    ledger = tmp_path / "ledger.jsonl"
    app = tmp_path / "app.py"
    app.write_text(APP)
    before = len(server.served)
    env = app_env(
        OTEL_SERVICE_NAME=service,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{rotel.http_port}",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_TRACES_EXPORTER="otlp", OTEL_LOGS_EXPORTER="otlp", OTEL_METRICS_EXPORTER="none",
        TRACKER_LEDGER=str(ledger), TRACKER_LABELS="team=search",
        OPENAI_BASE_URL=server.openai_base_url, OPENAI_API_KEY="sk-canary-KEY-env-1",
    )
    proc = subprocess.run([str(launcher), sys.executable, str(app)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    served = server.served[before:]
    assert len(served) == 2

    def complete(got: Received) -> bool:
        return len(got.logs) >= 2 and sum(
            "energy.kwh" in s.attributes for s in got.spans) >= 2

    got = rotel.wait_for(service, complete)
    priced = [s for s in got.spans if "energy.kwh" in s.attributes]
    assert len(priced) == 2
    by_tokens = sorted(priced, key=lambda s: s.attributes["gen_ai.usage.input_tokens"])
    for span, call in zip(by_tokens, sorted(served, key=lambda c: c.input_tokens), strict=True):
        assert span.attributes["energy.kwh"] > 0 and span.attributes["energy.gco2e"] > 0
        assert span.attributes["team"] == "search"
        assert (span.attributes["gen_ai.usage.input_tokens"],
                span.attributes["gen_ai.usage.output_tokens"]) == (call.input_tokens,
                                                                   call.output_tokens)
    # One priced record per request: the contrib instrumentation's spans are not priced again,
    # and each call's two spans (contrib's and the SDK's) share one trace.
    records = [r for r in got.logs if r.fields.get("EventName") == "energy.request"]
    assert len(records) == 2
    assert all("energy.priced_from" not in r.attributes for r in records)
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert len(lines) == 2
    traces = _by_trace(got)
    assert len(traces) == 2
    for spans in traces.values():
        assert sum("energy.kwh" in s.attributes for s in spans) == 1
    assert "sk-canary-KEY-env-1" not in rotel.output.read_text(errors="replace")
