"""Emission as telemetry.md specifies: span names/attributes, log records, metrics."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import tracker
from tracker import _attributes as A

CALL_SPAN_KEYS = {
    A.GEN_AI_OPERATION_NAME, A.GEN_AI_PROVIDER_NAME, A.GEN_AI_REQUEST_MODEL,
    A.GEN_AI_RESPONSE_MODEL, A.GEN_AI_USAGE_INPUT_TOKENS, A.GEN_AI_USAGE_OUTPUT_TOKENS,
    A.ENERGY_KWH, A.ENERGY_KWH_MIN, A.ENERGY_KWH_MAX, A.ENERGY_GCO2E, A.ENERGY_GCO2E_MIN,
    A.ENERGY_GCO2E_MAX, A.ENERGY_USD, A.ENERGY_WATER_L, A.ENERGY_METHOD, A.ENERGY_MODEL,
    A.ENERGY_HARDWARE, A.ENERGY_REGION, A.ENERGY_PUE, A.ENERGY_GRID_GCO2E_PER_KWH,
    A.ENERGY_PRICE_USD_PER_KWH, A.ENERGY_GRID_SOURCE, A.ENERGY_TOKENS_ESTIMATED,
    A.ENERGY_MODEL_KNOWN,
}


def test_names_match_the_contract() -> None:
    """The literal names of telemetry.md (a rename here is a breaking change)."""
    assert (A.ENERGY_KWH, A.ENERGY_GCO2E_MAX, A.ENERGY_GRID_GCO2E_PER_KWH) == (
        "energy.kwh", "energy.gco2e_max", "energy.grid_gco2e_per_kwh")
    assert (A.METRIC_CONSUMPTION, A.METRIC_EMISSIONS, A.METRIC_COST) == (
        "energy.consumption", "energy.emissions", "energy.cost")
    assert A.METRIC_TOKEN_USAGE == "gen_ai.client.token.usage"
    assert A.METRIC_OPERATION_DURATION == "gen_ai.client.operation.duration"
    assert A.EVENT_REQUEST == "energy.request"
    assert A.TOKEN_USAGE_BUCKETS[0] == 1 and A.TOKEN_USAGE_BUCKETS[-1] == 67108864
    assert A.OPERATION_DURATION_BUCKETS[0] == 0.01 and A.OPERATION_DURATION_BUCKETS[-1] == 81.92


def test_call_span_name_kind_parent_and_attributes(configure_tracker: Any) -> None:
    otel = configure_tracker(labels={"env": "test"}, region="gcp:us-central1", hardware="h100")
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as parent:
        est = tracker.record_usage("gpt-4o-mini", 512, 128, provider="openai",
                                   response_model="gpt-4o-mini-2024-07-18")
    span = otel.span("chat gpt-4o-mini")
    assert span.kind == SpanKind.CLIENT
    assert span.parent.span_id == parent.get_span_context().span_id
    attrs = dict(span.attributes)
    assert set(attrs) >= CALL_SPAN_KEYS
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 512 and attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 128
    assert attrs[A.ENERGY_KWH] == est.energy_kwh
    assert attrs[A.ENERGY_KWH_MIN] <= attrs[A.ENERGY_KWH] <= attrs[A.ENERGY_KWH_MAX]
    assert attrs[A.ENERGY_GCO2E_MIN] <= attrs[A.ENERGY_GCO2E] <= attrs[A.ENERGY_GCO2E_MAX]
    assert attrs[A.ENERGY_REGION] == "gcp:us-central1" and attrs[A.ENERGY_HARDWARE] == "h100"
    assert attrs[A.ENERGY_GRID_SOURCE] == "registry" and attrs[A.ENERGY_MODEL_KNOWN] is True
    assert attrs[A.ENERGY_TOKENS_ESTIMATED] is False
    assert attrs["env"] == "test"
    assert attrs[A.ENERGY_GCO2E] == pytest.approx(
        attrs[A.ENERGY_KWH] * attrs[A.ENERGY_GRID_GCO2E_PER_KWH])
    assert attrs[A.ENERGY_USD] == pytest.approx(
        attrs[A.ENERGY_KWH] * attrs[A.ENERGY_PRICE_USD_PER_KWH])


def test_one_log_record_per_call_in_span_context(configured: Any) -> None:
    with tracker.track_energy("job", labels={"tenant": "acme"}):
        tracker.record_usage("gpt-4o", 10, 20, provider="openai", request_id="r-1")
        tracker.record_usage("gpt-4o", 30, 40, provider="openai")
    logs = configured.logs()
    calls = configured.call_spans()
    assert len(logs) == 2 == len(calls)
    for record, span in zip(logs, calls, strict=True):
        assert record.event_name == A.EVENT_REQUEST
        assert record.span_id == span.context.span_id
        assert record.trace_id == span.context.trace_id
        for key, value in span.attributes.items():
            assert record.attributes[key] == value
        assert record.attributes["tenant"] == "acme"
    assert logs[0].attributes["request_id"] == "r-1"


def test_metrics_equal_sum_of_spans(configured: Any) -> None:
    @tracker.track_energy(name="fn")
    def fn() -> None:
        tracker.record_usage("gpt-4o", 100, 300, provider="openai")
        tracker.record_usage("llama-3.1-8b", 2000, 10)

    fn()
    fn()
    tracker.record_usage("gpt-4o", 1, 2, provider="openai")  # outside any scope
    calls = configured.call_spans()
    assert len(calls) == 5
    for metric, key in ((A.METRIC_CONSUMPTION, A.ENERGY_KWH), (A.METRIC_EMISSIONS, A.ENERGY_GCO2E),
                        (A.METRIC_COST, A.ENERGY_USD)):
        assert configured.metric_sum(metric) == pytest.approx(
            sum(s.attributes[key] for s in calls), rel=1e-9)
        fn_total = sum(s.attributes[key] for s in configured.spans() if s.name == "fn")
        assert configured.metric_sum(metric, **{A.ENERGY_FUNCTION: "fn"}) == pytest.approx(
            fn_total, rel=1e-9)
    units = {A.METRIC_CONSUMPTION: "kWh", A.METRIC_EMISSIONS: "gCO2e", A.METRIC_COST: "USD",
             A.METRIC_TOKEN_USAGE: "{token}", A.METRIC_OPERATION_DURATION: "s"}
    for name, unit in units.items():
        if name != A.METRIC_OPERATION_DURATION:
            assert configured.metric(name).unit == unit
    point_attrs = [p.attributes for p in configured.metric_points(A.METRIC_CONSUMPTION)]
    assert {A.GEN_AI_PROVIDER_NAME: "openai", A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.ENERGY_REGION: "azure:eastus", A.ENERGY_FUNCTION: "fn"} in point_attrs
    token_points = configured.metric_points(A.METRIC_TOKEN_USAGE)
    assert {p.attributes[A.GEN_AI_TOKEN_TYPE] for p in token_points} == {"input", "output"}
    assert sum(p.sum for p in token_points) == sum(
        s.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] + s.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS]
        for s in calls)
    assert tuple(token_points[0].explicit_bounds) == A.TOKEN_USAGE_BUCKETS


def test_duration_histogram_from_start_call(configured: Any) -> None:
    call = tracker.start_call(provider="anthropic", operation="chat",
                              request_model="claude-3-haiku")
    call.finish(input_tokens=10, output_tokens=5, response_model="claude-3-haiku-20240307")
    (point,) = configured.metric_points(A.METRIC_OPERATION_DURATION)
    assert point.count == 1 and point.sum >= 0
    assert tuple(point.explicit_bounds) == A.OPERATION_DURATION_BUCKETS
    assert point.attributes[A.GEN_AI_PROVIDER_NAME] == "anthropic"


def test_failed_call_without_usage_marks_error(configured: Any) -> None:
    call = tracker.start_call(provider="openai", request_model="gpt-4o")
    call.finish(input_tokens=None, output_tokens=None, error=TimeoutError("slow"))
    (span,) = configured.call_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == "TimeoutError"
    assert A.ENERGY_KWH not in span.attributes
    assert configured.logs() == []


def test_no_text_or_secrets_anywhere(configured: Any, caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-THIS-IS-A-SECRET"
    prompt = "Tell me everything about the secret plan " * 20
    with caplog.at_level(logging.INFO, logger=A.REQUESTS_LOGGER):
        tracker.record_usage("gpt-4o", 5, 5, provider="openai", prompt=prompt, api_key=secret,
                             messages="hi", user_note=prompt, headers="Authorization: x",
                             feature="search")
    (span,) = configured.call_spans()
    blobs = [json.dumps(dict(span.attributes)), json.dumps(dict(configured.logs()[0].attributes)),
             caplog.text]
    for blob in blobs:
        assert secret not in blob and "secret plan" not in blob and "Authorization" not in blob
    assert span.attributes["feature"] == "search"


def test_stdlib_logger_receives_the_record(configured: Any,
                                           caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=A.REQUESTS_LOGGER), tracker.track_energy("f"):
        tracker.record_usage("gpt-4o", 7, 9, provider="openai")
    (record,) = [r for r in caplog.records if r.name == A.REQUESTS_LOGGER]
    data = json.loads(record.getMessage())
    assert data == record.energy_record  # type: ignore[attr-defined]
    (span,) = configured.call_spans()
    assert data["span_id"] == format(span.context.span_id, "016x")
    assert data["function"] == "f" and data[A.ENERGY_KWH] == span.attributes[A.ENERGY_KWH]


def test_global_providers_used_when_none_passed(otel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import trace

    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", trace.Once())
    trace.set_tracer_provider(otel.tracer_provider)
    monkeypatch.delenv("TRACKER_LEDGER")
    config = tracker.configure(strict=True, instrument=False)
    assert config.ledger is None  # a real global provider: the auto ledger stays off
    tracker.record_usage("gpt-4o", 1, 1, provider="openai")
    assert [s.name for s in otel.spans()] == ["chat gpt-4o"]
