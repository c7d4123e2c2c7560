"""record_usage / start_call / usage extraction / no double counting."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion

import tracker
from tracker import _attributes as A
from tracker.model._estimate import pricer
from tracker.recording._returned import extract_usage, is_recorded, mark_recorded, record_response


def _openai_response() -> ChatCompletion:
    return ChatCompletion.model_validate({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hello"}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46},
    })


def _anthropic_response() -> Message:
    return Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-haiku-20240307",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 5,
                  "cache_creation_input_tokens": 1},
    })


def test_extract_usage_from_provider_objects_and_dicts() -> None:
    u = extract_usage(_openai_response())
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.model, u.provider) == (
        12, 34, "gpt-4o-mini-2024-07-18", "openai")
    a = extract_usage(_anthropic_response())
    assert a is not None
    assert (a.input_tokens, a.output_tokens, a.provider) == (16, 20, "anthropic")
    d = extract_usage({"type": "message", "model": "m", "usage": {"input_tokens": 1,
                                                                  "output_tokens": 2}})
    assert d is not None and (d.input_tokens, d.output_tokens, d.provider) == (1, 2, "anthropic")
    emb = extract_usage({"object": "list", "model": "text-embedding-3-small",
                         "usage": {"prompt_tokens": 8, "total_tokens": 8}})
    assert emb is not None and emb.operation == "embeddings" and emb.output_tokens == 0
    gem = extract_usage({"model_version": "gemini-2.5-flash", "usage_metadata": {
        "prompt_token_count": 4, "candidates_token_count": 6, "thoughts_token_count": 3}})
    assert gem is not None and (gem.input_tokens, gem.output_tokens) == (4, 9)
    for nothing in (None, "text", 3, [1], {"usage": None}, {"usage": {"total": 3}}, object()):
        assert extract_usage(nothing) is None


def test_record_usage_outside_scope_returns_estimate(configured: Any) -> None:
    est = tracker.record_usage("llama-3.1-70b", 1000, 500, provider="vllm")
    assert est is not None
    expected = pricer("llama-3.1-70b").price(1000, 500)
    assert est.energy_kwh == pytest.approx(expected.energy_kwh)
    (span,) = configured.call_spans()
    assert span.attributes[A.ENERGY_KWH] == est.energy_kwh
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "vllm"


def test_explicit_config_beats_provider_default_beats_model_default(configure_tracker: Any) -> None:
    configure_tracker(pue=1.3)
    openai_est = tracker.record_usage("gpt-4o", 10, 10, provider="openai")
    plain_est = tracker.record_usage("llama-3.1-8b", 10, 10)
    assert openai_est is not None and plain_est is not None
    assert openai_est.pue == 1.3 and plain_est.pue == 1.3  # explicit wins everywhere
    assert openai_est.region == "azure:eastus"              # provider default
    assert plain_est.region == "world"                      # energy-model default
    configure_tracker(region="FR")
    again = tracker.record_usage("gpt-4o", 10, 10, provider="openai")
    assert again is not None and again.region != "azure:eastus" and again.pue == 1.18


def test_unknown_model_uses_fallback_and_flags_it(configured: Any) -> None:
    est = tracker.record_usage("totally-private-model-9000", 10, 10)
    assert est is not None and est.model_known is False and est.energy_kwh > 0
    (span,) = configured.call_spans()
    assert span.attributes[A.ENERGY_MODEL_KNOWN] is False
    assert span.attributes[A.GEN_AI_REQUEST_MODEL] == "totally-private-model-9000"


def test_response_model_used_when_request_model_unknown(configured: Any) -> None:
    call = tracker.start_call(provider="openai", request_model="my-deployment-alias")
    call.finish(input_tokens=5, output_tokens=5, response_model="gpt-4o")
    (span,) = configured.call_spans()
    assert span.attributes[A.ENERGY_MODEL_KNOWN] is True
    assert span.attributes[A.ENERGY_MODEL] == "gpt-4o"


def test_finish_is_idempotent_and_missing_tokens_flagged(configured: Any) -> None:
    call = tracker.start_call(provider="openai", request_model="gpt-4o")
    call.finish(input_tokens=100, output_tokens=None)
    call.finish(input_tokens=100, output_tokens=100)
    (span,) = configured.call_spans()
    assert span.attributes[A.ENERGY_TOKENS_ESTIMATED] is True
    assert span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 0
    assert len(configured.logs()) == 1


def test_call_started_in_scope_rolls_up_there_even_if_finished_outside(configured: Any) -> None:
    with tracker.track_energy("s") as scope:
        call = tracker.start_call(provider="openai", request_model="gpt-4o")
    call.finish(input_tokens=1, output_tokens=1)
    assert scope.calls == 1


def test_mark_recorded_pydantic_objects_and_dicts() -> None:
    obj, other = _openai_response(), _openai_response()
    d: dict[str, Any] = {"usage": {}}
    assert not is_recorded(obj) and not is_recorded(d)
    mark_recorded(obj)
    mark_recorded(d)
    assert is_recorded(obj) and is_recorded(d)
    assert not is_recorded(other) and not is_recorded({"usage": {}})
    del obj
    gc.collect()
    assert not is_recorded(_openai_response())


def test_marks_of_dead_responses_are_swept_and_live_ones_kept() -> None:
    from tracker.recording import _returned

    class Response:
        pass

    gone = [Response() for _ in range(_returned._MIN_SWEEP)]
    for obj in gone:
        mark_recorded(obj)
    kept = _openai_response()
    mark_recorded(kept)
    fresh = [Response() for _ in range(_returned._sweep_at)]  # (alive with `gone`: other ids)
    del gone, obj
    gc.collect()
    for obj in fresh:  # reaches the sweep threshold
        mark_recorded(obj)
    assert is_recorded(kept) and all(is_recorded(obj) for obj in fresh)
    assert len(_returned._weak) < len(fresh) + _returned._MIN_SWEEP // 2  # the dead swept


def test_usage_is_frozen_and_equal_however_built() -> None:
    import dataclasses

    from tracker._usage import Usage

    usage = Usage(1, 2, "m", finish_reasons=("stop",))
    assert type(usage) is Usage and hash(usage) == hash(Usage(1, 2, "m", False, None, None, None,
                                                              None, ("stop",)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        usage.input_tokens = 3  # type: ignore[misc]
    assert dataclasses.replace(usage, output_tokens=5).output_tokens == 5

    class Sub(Usage):
        pass

    sub = Sub(1, 2, "m")
    assert type(sub) is Sub and (sub.input_tokens, sub.output_tokens, sub.response_model) == (
        1, 2, "m")


def test_record_response_only_once(configured: Any) -> None:
    response = _anthropic_response()
    record_response(response)
    record_response(response)
    (span,) = configured.call_spans()
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 16


def test_returned_openai_object_recorded_by_decorator(configured: Any) -> None:
    response = _openai_response()

    @tracker.track_energy
    def ask() -> ChatCompletion:
        return response

    assert ask() is response
    (span,) = configured.call_spans()
    assert span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 34
    assert is_recorded(response)


def test_live_grid_reading_replaces_registry_intensity_in_configured_region(
        configure_tracker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.grid import _refresher as grid
    from tracker.grid._providers import GridReading

    otel = configure_tracker(region="GB", grid="uk", grid_zone="GB")
    reading = GridReading(zone="GB", g_per_kwh=123.0, timestamp="2025-01-01T00:00:00Z",
                          source="uk-carbon-intensity")
    monkeypatch.setattr(grid, "lookup", lambda zone=None: reading)
    local = tracker.record_usage("llama-3.1-8b", 100, 100)
    hosted = tracker.record_usage("gpt-4o", 100, 100, provider="openai")
    assert local is not None and hosted is not None
    assert local.carbon_intensity == 123.0 and local.grid_source == "uk-carbon-intensity"
    assert hosted.region == local.region  # the configured region beats the provider default
    assert hosted.carbon_intensity == 123.0
    span = otel.span("chat llama-3.1-8b")
    assert span.attributes[A.ENERGY_GRID_GCO2E_PER_KWH] == 123.0
    assert span.attributes[A.ENERGY_GRID_SOURCE] == "uk-carbon-intensity"
    monkeypatch.setattr(grid, "lookup", lambda zone=None: None)  # outage: registry figure
    fallback = tracker.record_usage("llama-3.1-8b", 100, 100)
    assert fallback is not None and fallback.grid_source == "registry"
