"""The per-call path: the same telemetry, built once, priced once.

Covers the asynchronous energy counters (reconfiguration, delta temporality, bounded attribute
sets, the global-proxy case), call spans emitted at the end with the start time and parent of the
call's start, the per-client provider-name cache, pricing once with a live grid figure and its
``energy.grid_timestamp``, the grid token never reaching any output, and `reset()` stopping the
refresh thread.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from opentelemetry.sdk.metrics import Counter, MeterProvider, ObservableCounter
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader

import tracker
from tracker import _attributes as A
from tracker.export import _instruments as instruments
from tracker.grid import _refresher as grid
from tracker.model._estimate import CallPricer

CANARY = "canary-GRID-TOKEN-51c0ffee"
EM_TIME = "2024-05-01T12:00:00.000Z"


def _wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not reached")


# ----------------------------------------------------------------------------- energy counters


def test_energy_counters_keep_counting_across_reconfigure_without_duplicates(
        configure_tracker: Any, caplog: pytest.LogCaptureFixture) -> None:
    otel = configure_tracker()
    first = tracker.record_usage("gpt-4o", 100, 50, provider="openai")
    with caplog.at_level(logging.WARNING, logger="opentelemetry"):
        configure_tracker(labels={"env": "second"})  # same providers, new configuration
        second = tracker.record_usage("gpt-4o", 300, 20, provider="openai")
    assert first is not None and second is not None
    assert otel.metric_sum(A.METRIC_CONSUMPTION) == pytest.approx(
        first.energy_kwh + second.energy_kwh)
    assert otel.metric_sum(A.METRIC_EMISSIONS, **{A.GEN_AI_PROVIDER_NAME: "openai"}) == \
        pytest.approx(first.gco2e + second.gco2e)
    assert otel.metric_sum(A.METRIC_COST) == pytest.approx(first.usd + second.usd)
    assert not [r for r in caplog.records if "created already" in r.getMessage()]
    metric = otel.metric(A.METRIC_CONSUMPTION)
    assert metric.unit == A.UNIT_KWH and metric.data.is_monotonic


def test_energy_counters_report_deltas_to_a_delta_reader(configure_tracker: Any) -> None:
    # As OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta sets it: the energy counters
    # are asynchronous (observed at collection), so their preference is ObservableCounter's.
    delta = AggregationTemporality.DELTA
    reader = InMemoryMetricReader(preferred_temporality={Counter: delta, ObservableCounter: delta})
    provider = MeterProvider(metric_readers=[reader])
    try:
        configure_tracker(meter_provider=provider)

        def consumption() -> float:
            data = reader.get_metrics_data()
            return sum(p.value for rm in data.resource_metrics for sm in rm.scope_metrics
                       for m in sm.metrics if m.name == A.METRIC_CONSUMPTION
                       for p in m.data.data_points)

        one = tracker.record_usage("gpt-4o", 1000, 1000, provider="openai")
        assert one is not None and consumption() == pytest.approx(one.energy_kwh)
        two = tracker.record_usage("gpt-4o", 10, 10, provider="openai")
        assert two is not None and consumption() == pytest.approx(two.energy_kwh)
    finally:
        provider.shutdown()


def test_energy_attribute_sets_are_bounded_and_overflow_keeps_the_total(
        configure_tracker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(instruments, "MAX_ENERGY_SETS", 3)
    otel = configure_tracker()
    total = 0.0
    for i in range(6):
        with tracker.track_energy(f"job-{i}"):
            est = tracker.record_usage("gpt-4o", 100, 100, provider="openai")
            assert est is not None
            total += est.energy_kwh
    points = otel.metric_points(A.METRIC_CONSUMPTION)
    assert len(points) == 4  # three sets, then one overflow set
    assert [p.attributes for p in points].count({"otel.metric.overflow": True}) == 1
    assert sum(p.value for p in points) == pytest.approx(total)


def test_counters_made_before_the_app_sets_its_global_provider(tmp_path: Path) -> None:
    """Through the API proxy first, then the real provider: no duplicate, nothing lost."""
    script = textwrap.dedent("""
        import json, logging
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        import tracker
        warnings = []
        class Catch(logging.Handler):
            def emit(self, record): warnings.append(record.getMessage())
        logging.getLogger("opentelemetry").addHandler(Catch(logging.WARNING))
        tracker.configure(ledger=None, instrument=False)
        a = tracker.record_usage("gpt-4o", 100, 100, provider="openai")
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        tracker.configure(ledger=None, instrument=False, labels={"after": "set"})
        b = tracker.record_usage("gpt-4o", 200, 10, provider="openai")
        data = reader.get_metrics_data()
        kwh = sum(p.value for rm in data.resource_metrics for sm in rm.scope_metrics
                  for m in sm.metrics if m.name == "energy.consumption"
                  for p in m.data.data_points)
        print(json.dumps({"kwh": kwh, "expected": a.energy_kwh + b.energy_kwh,
                          "warnings": [w for w in warnings if "created already" in w]}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={"PATH": "/usr/bin:/bin",
                                                          "TRACKER_LEDGER": ""})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["kwh"] == pytest.approx(out["expected"])
    assert out["warnings"] == []


# ----------------------------------------------------------------------------- call spans


def test_call_span_keeps_the_start_time_and_parent_of_the_call_start(configured: Any) -> None:
    tracer = configured.tracer_provider.get_tracer("app")
    before = time.time_ns()
    with tracer.start_as_current_span("request") as parent:
        call = tracker.start_call(provider="openai", request_model="gpt-4o")
    time.sleep(0.02)
    call.finish(input_tokens=5, output_tokens=7)  # outside the parent, later (a stream's end)
    (span,) = configured.call_spans()
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert before <= span.start_time <= parent.end_time
    assert span.end_time - span.start_time >= 20_000_000
    (point,) = configured.metric_points(A.METRIC_OPERATION_DURATION)
    assert point.sum >= 0.02


def test_failed_call_span_also_keeps_its_start(configured: Any) -> None:
    before = time.time_ns()
    call = tracker.start_call(provider="openai", request_model="gpt-4o")
    time.sleep(0.01)
    call.finish(input_tokens=None, output_tokens=None, error=ConnectionError("down"))
    (span,) = configured.call_spans()
    assert span.name == "chat gpt-4o" and span.attributes[A.ERROR_TYPE] == "ConnectionError"
    assert before <= span.start_time and span.end_time - span.start_time >= 10_000_000


def test_openai_provider_name_is_cached_per_client_and_follows_base_url() -> None:
    openai = pytest.importorskip("openai")
    from integrations import openai as integration

    client = openai.OpenAI(api_key="sk-test", base_url="https://api.groq.com/openai/v1")
    assert integration._provider(client.chat.completions) == "groq"
    assert integration._provider(client.chat.completions) == "groq"
    client.base_url = "https://api.mistral.ai/v1"
    assert integration._provider(client.chat.completions) == "mistral_ai"
    other = openai.OpenAI(api_key="sk-test", base_url="http://localhost:11434/v1")
    assert integration._provider(other.chat.completions) == "ollama"


# ----------------------------------------------------------------------------- live grid


def test_live_figure_prices_once_and_records_its_timestamp(
        configure_tracker: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tracker.grid._providers import GridReading

    ledger = tmp_path / "ledger.jsonl"
    otel = configure_tracker(region="GB", grid="uk", grid_zone="GB", ledger=str(ledger))
    reading = GridReading(zone="GB", g_per_kwh=123.0, timestamp="2025-01-01T00:00:00Z",
                          source="uk-carbon-intensity")
    monkeypatch.setattr(grid, "lookup", lambda zone=None: reading)
    calls: list[dict[str, Any]] = []
    real_price = CallPricer.price

    def counting(self: CallPricer, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real_price(self, *args, **kwargs)

    monkeypatch.setattr(CallPricer, "price", counting)
    est = tracker.record_usage("llama-3.1-8b", 100, 100)
    assert est is not None and est.carbon_intensity == 123.0
    assert calls == [{"cached_input_tokens": 0, "carbon_intensity": 123.0,
                      "grid_source": "uk-carbon-intensity"}]
    span = otel.span("chat llama-3.1-8b")
    (record,) = otel.logs()
    (line,) = [json.loads(x) for x in ledger.read_text().splitlines()]
    for attrs in (span.attributes, record.attributes, line):
        assert attrs[A.ENERGY_GRID_TIMESTAMP] == "2025-01-01T00:00:00Z"
        assert attrs[A.ENERGY_GRID_SOURCE] == "uk-carbon-intensity"
        assert attrs[A.ENERGY_GRID_GCO2E_PER_KWH] == 123.0
    monkeypatch.setattr(grid, "lookup", lambda zone=None: None)  # outage: registry figure
    calls.clear()
    fallback = tracker.record_usage("llama-3.1-8b", 100, 100)
    assert fallback is not None and fallback.grid_source == "registry" and calls == [{}]
    last = otel.call_spans()[-1]
    assert A.ENERGY_GRID_TIMESTAMP not in last.attributes
    assert last.attributes[A.ENERGY_GRID_SOURCE] == "registry"


@pytest.fixture
def em_api() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A local Electricity Maps v3 stand-in (127.0.0.1) that records the headers it gets."""
    headers: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            headers.append(dict(self.headers.items()))
            zone = parse_qs(urlparse(self.path).query).get("zone", ["?"])[0]
            body = json.dumps({"zone": zone, "carbonIntensity": 211, "datetime": EM_TIME,
                               "updatedAt": EM_TIME, "emissionFactorType": "lifecycle",
                               "isEstimated": False}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", headers
    server.shutdown()
    server.server_close()


def test_grid_token_never_reaches_any_output_and_live_fields_are_right(
        configure_tracker: Any, em_api: tuple[str, list[dict[str, str]]], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    url, headers = em_api
    ledger = tmp_path / "ledger.jsonl"
    caplog.set_level(logging.DEBUG)
    otel = configure_tracker(region="DE", grid="electricitymaps", grid_api_token=CANARY,
                             grid_api_url=url, grid_zone="DE", ledger=str(ledger))
    with caplog.at_level(logging.INFO, logger=A.REQUESTS_LOGGER):
        first = tracker.record_usage("llama-3.1-8b", 100, 100, team="search")
        assert first is not None and first.grid_source == "registry"  # not fetched yet
        reading = _wait_for(grid.lookup)
        live = tracker.record_usage("llama-3.1-8b", 100, 100, team="search")
    assert headers and headers[0].get("auth-token") == CANARY  # the token did go to the API
    assert live is not None and live.carbon_intensity == 211.0
    span = otel.call_spans()[-1]
    assert span.attributes[A.ENERGY_GRID_SOURCE] == reading.source == live.grid_source
    assert span.attributes[A.ENERGY_GRID_TIMESTAMP] == reading.timestamp
    assert reading.timestamp.startswith("2024-05-01T12:00")
    assert span.attributes[A.ENERGY_GRID_GCO2E_PER_KWH] == 211.0
    assert A.ENERGY_GRID_TIMESTAMP not in otel.call_spans()[0].attributes

    texts = [ledger.read_text()]
    for s in otel.spans():
        texts.append(s.to_json())
    for record in otel.logs():
        texts.append(json.dumps(dict(record.attributes or {}), default=str))
        texts.append(str(record.body))
    metrics_data = otel.metric_reader.get_metrics_data()
    assert metrics_data is not None
    texts.append(metrics_data.to_json())
    texts.extend(r.getMessage() for r in caplog.records)
    texts.extend(json.dumps(getattr(r, "energy_record", {}), default=str)
                 for r in caplog.records)
    texts.append(repr(tracker.get_config()))
    assert len(ledger.read_text().splitlines()) == 2
    assert all(CANARY not in text for text in texts)


def test_reset_stops_the_grid_refresher(configure_tracker: Any,
                                        em_api: tuple[str, list[dict[str, str]]]) -> None:
    url, _ = em_api
    configure_tracker(region="DE", grid="electricitymaps", grid_api_token=CANARY,
                      grid_api_url=url, grid_zone="DE")
    tracker.record_usage("llama-3.1-8b", 10, 10)  # first lookup starts the thread
    refresher = grid.get_refresher()
    assert refresher is not None
    _wait_for(lambda: refresher.running)
    tracker.reset()
    assert grid.get_refresher() is None
    _wait_for(lambda: not refresher.running)
