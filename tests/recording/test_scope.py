"""track_energy: decorator forms, context managers, roll-up, generators, exceptions."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import tracker
from tracker import _attributes as A
from tracker.recording._scope import current_scope

MODEL = "llama-3.1-8b"


def _call(n_in: int = 100, n_out: int = 50, model: str = MODEL) -> Any:
    return tracker.record_usage(model, n_in, n_out, provider="test")


def test_bare_decorator_sums_calls_on_internal_span(configured: Any) -> None:
    @tracker.track_energy
    def work() -> str:
        _call(100, 50)
        _call(10, 400)
        return "done"

    assert work() == "done"
    span = configured.span(work.__qualname__)
    assert span.kind == SpanKind.INTERNAL
    calls = configured.call_spans()
    assert len(calls) == 2
    assert all(c.parent is not None and c.parent.span_id == span.context.span_id for c in calls)
    assert span.attributes[A.ENERGY_CALLS] == 2
    for key in (A.ENERGY_KWH, A.ENERGY_GCO2E, A.ENERGY_USD, A.ENERGY_WATER_L):
        expected = sum(c.attributes[key] for c in calls)
        assert span.attributes[key] == pytest.approx(expected, rel=1e-12)
        assert expected > 0
    assert span.attributes[A.ENERGY_INPUT_TOKENS] == 110
    assert span.attributes[A.ENERGY_OUTPUT_TOKENS] == 450
    assert not any(key.startswith("gen_ai.usage.") for key in span.attributes)


def test_usage_summed_over_a_trace_equals_the_tokens_served(configured: Any) -> None:
    # Backends (Langfuse, Logfire, Datadog) add gen_ai.usage.* up over every span of a trace:
    # the scope span carries its roll-up under energy.* only, so nothing is counted twice.
    @tracker.track_energy
    def outer() -> None:
        with tracker.track_energy("inner"):
            _call(100, 40)
        _call(100, 60)

    outer()
    spans = configured.spans()
    assert len(spans) == 4
    served_in, served_out = 200, 100
    assert sum(int((s.attributes or {}).get(A.GEN_AI_USAGE_INPUT_TOKENS, 0)) for s in spans) \
        == served_in
    assert sum(int((s.attributes or {}).get(A.GEN_AI_USAGE_OUTPUT_TOKENS, 0)) for s in spans) \
        == served_out
    scope = configured.span(outer.__qualname__)
    assert (scope.attributes[A.ENERGY_INPUT_TOKENS],
            scope.attributes[A.ENERGY_OUTPUT_TOKENS]) == (served_in, served_out)
    assert configured.span("inner").attributes[A.ENERGY_INPUT_TOKENS] == 100


def test_decorator_with_arguments_name_labels_and_default_model(configured: Any) -> None:
    @tracker.track_energy(name="summarize", model="gpt-4o", labels={"team": "search"})
    def work() -> None:
        tracker.record_usage(input_tokens=5, output_tokens=7)

    work()
    span = configured.span("summarize")
    assert span.attributes["team"] == "search"
    (call,) = configured.call_spans()
    assert call.name == "chat gpt-4o"
    assert call.attributes[A.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert call.attributes["team"] == "search"


def test_signature_and_metadata_preserved() -> None:
    def original(a: int, b: str = "x", *, c: float = 1.0) -> str:
        """Doc."""
        return f"{a}{b}{c}"

    wrapped = tracker.track_energy(original)
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert wrapped.__doc__ == "Doc." and wrapped.__name__ == "original"
    assert wrapped(1, "y", c=2.0) == "1y2.0"


def test_context_manager_running_totals_and_nesting(configured: Any) -> None:
    with tracker.track_energy("outer", labels={"job": "nightly"}) as outer:
        first = _call(100, 100)
        assert outer.calls == 1 and outer.energy_kwh == pytest.approx(first.energy_kwh)
        with tracker.track_energy("inner") as inner:
            second = _call(200, 20)
            assert current_scope() is inner
        assert current_scope() is outer
        assert inner.calls == 1 and inner.input_tokens == 200 and inner.output_tokens == 20
    assert outer.calls == 2
    assert outer.energy_kwh == pytest.approx(first.energy_kwh + second.energy_kwh, rel=1e-12)
    assert outer.gco2e == pytest.approx(first.gco2e + second.gco2e, rel=1e-12)
    assert outer.usd == pytest.approx(first.usd + second.usd, rel=1e-12)
    assert outer.water_l == pytest.approx(first.water_l + second.water_l, rel=1e-12)
    outer_span, inner_span = configured.span("outer"), configured.span("inner")
    assert inner_span.parent.span_id == outer_span.context.span_id
    assert outer_span.attributes[A.ENERGY_CALLS] == 2
    assert inner_span.attributes[A.ENERGY_CALLS] == 1
    assert inner_span.attributes["job"] == "nightly"  # labels inherited
    assert current_scope() is None


def test_async_context_manager_and_coroutine(configured: Any) -> None:
    @tracker.track_energy
    async def ask() -> int:
        await asyncio.sleep(0)
        _call()
        return 42

    async def main() -> Any:
        async with tracker.track_energy("batch") as t:
            assert await ask() == 42
            assert await ask() == 42
        return t

    t = asyncio.run(main())
    assert t.calls == 2
    assert configured.span("batch").attributes[A.ENERGY_CALLS] == 2
    assert len([s for s in configured.spans() if s.name.endswith("ask")]) == 2


def test_generator_tracked_until_exhausted(configured: Any) -> None:
    @tracker.track_energy
    def stream(n: int) -> Iterator[int]:
        for i in range(n):
            _call(10, 10)
            yield i
        return None

    gen = stream(3)
    assert next(gen) == 0
    # Between items the generator's scope is not current in the caller.
    assert current_scope() is None
    assert configured.spans() == [s for s in configured.spans() if s.kind == SpanKind.CLIENT]
    assert list(gen) == [1, 2]
    span = configured.span(stream.__qualname__)
    assert span.attributes[A.ENERGY_CALLS] == 3
    assert all(c.parent.span_id == span.context.span_id for c in configured.call_spans())


def test_generator_closed_early_and_send(configured: Any) -> None:
    @tracker.track_energy(name="echo")
    def echo() -> Iterator[Any]:
        received = None
        while True:
            _call(1, 1)
            received = yield received

    gen = echo()
    next(gen)
    assert gen.send("a") == "a"
    gen.close()
    span = configured.span("echo")
    assert span.attributes[A.ENERGY_CALLS] == 2
    assert span.status.status_code != StatusCode.ERROR


def test_generator_throw_reaches_inner_generator(configured: Any) -> None:
    @tracker.track_energy(name="catcher")
    def catcher() -> Iterator[str]:
        try:
            yield "first"
        except KeyError:
            _call()
            yield "caught"

    gen = catcher()
    assert next(gen) == "first"
    assert gen.throw(KeyError("k")) == "caught"
    with pytest.raises(StopIteration):
        next(gen)
    assert configured.span("catcher").attributes[A.ENERGY_CALLS] == 1


def test_async_generator_exhausted_and_closed(configured: Any) -> None:
    @tracker.track_energy
    async def tokens(n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            _call(5, 5)
            yield i

    async def main() -> list[int]:
        full = [i async for i in tokens(3)]
        partial = tokens(10)
        assert await partial.__anext__() == 0
        await partial.aclose()
        return full

    assert asyncio.run(main()) == [0, 1, 2]
    spans = [s for s in configured.spans() if s.name == tokens.__qualname__]
    assert sorted(s.attributes[A.ENERGY_CALLS] for s in spans) == [1, 3]


def test_exception_propagates_same_object_and_marks_span(configured: Any) -> None:
    boom = RuntimeError("boom")

    @tracker.track_energy
    def failing() -> None:
        _call(100, 100)
        raise boom

    with pytest.raises(RuntimeError) as info:
        failing()
    assert info.value is boom
    span = configured.span(failing.__qualname__)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == "RuntimeError"
    assert span.attributes[A.ENERGY_CALLS] == 1
    assert span.attributes[A.ENERGY_KWH] > 0
    assert len(configured.logs()) == 1


def test_exception_in_context_manager_and_coroutine(configured: Any) -> None:
    err = ValueError("bad")
    with pytest.raises(ValueError) as info, tracker.track_energy("blk"):
        _call()
        raise err
    assert info.value is err
    assert configured.span("blk").status.status_code == StatusCode.ERROR

    @tracker.track_energy(name="acoro")
    async def acoro() -> None:
        _call()
        raise err

    with pytest.raises(ValueError) as info2:
        asyncio.run(acoro())
    assert info2.value is err
    span = configured.span("acoro")
    assert span.attributes[A.ERROR_TYPE] == "ValueError" and span.attributes[A.ENERGY_CALLS] == 1


def test_returned_response_dict_is_recorded_once(configured: Any) -> None:
    response = {"model": "gpt-4o", "object": "chat.completion",
                "usage": {"prompt_tokens": 30, "completion_tokens": 70}}

    @tracker.track_energy
    def inner() -> dict[str, Any]:
        return response

    @tracker.track_energy
    def outer() -> dict[str, Any]:
        return inner()

    with tracker.track_energy("top") as top:
        assert outer() is response
    assert top.calls == 1 and top.input_tokens == 30 and top.output_tokens == 70
    (call,) = configured.call_spans()
    assert call.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert configured.span(inner.__qualname__).attributes[A.ENERGY_CALLS] == 1


def test_response_already_recorded_by_integration_is_not_counted_twice(configured: Any) -> None:
    response = {"model": "gpt-4o", "usage": {"prompt_tokens": 3, "completion_tokens": 4}}

    @tracker.track_energy
    def call_llm() -> dict[str, Any]:
        call = tracker.start_call(provider="openai", request_model="gpt-4o")
        call.finish(input_tokens=3, output_tokens=4)
        tracker.mark_recorded(response)
        return response

    with tracker.track_energy("top") as top:
        call_llm()
    assert top.calls == 1
    assert len(configured.call_spans()) == 1


def test_disabled_calls_straight_through(configure_tracker: Any) -> None:
    otel = configure_tracker(enabled=False)

    @tracker.track_energy
    def work() -> int:
        assert tracker.record_usage(MODEL, 1, 1) is None
        return 7

    assert work() == 7
    with tracker.track_energy("x") as t:
        pass
    assert t.calls == 0
    assert otel.spans() == []


def test_threads_do_not_see_each_others_scope(configured: Any) -> None:
    import threading

    seen: list[Any] = []
    with tracker.track_energy("main"):
        thread = threading.Thread(target=lambda: seen.append(current_scope()))
        thread.start()
        thread.join()
    assert seen == [None]
