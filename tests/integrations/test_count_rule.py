"""One rule for counts (`tracker._usage.settle`): a count that is missing, invalid, or a 0 that
non-empty text contradicts is estimated from the text and flagged ``energy.tokens_estimated``.

Driven through the real clients (a local server answering loosely valid bodies) under strict
mode, and property-tested on the rule itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tracker
from tests.integrations._canned import Canned
from tracker._usage import MAX_TOKENS, Usage, settle

INTEGRATION = "ollama"
ANSWER = "a long enough answer of several words to count " * 4
PROMPT = "how green is this"
ODD = st.one_of(st.none(), st.integers(min_value=-10**15, max_value=10**15), st.booleans(),
                st.floats(), st.text(max_size=4))


@given(n_in=ODD, n_out=ODD, est_in=st.integers(0, 10**6), est_out=st.integers(0, 10**6),
       flagged=st.booleans())
def test_settle_keeps_valid_counts_and_estimates_the_rest(n_in: Any, n_out: Any, est_in: int,
                                                          est_out: int, flagged: bool) -> None:
    usage = settle(Usage(n_in, n_out, tokens_estimated=flagged), lambda: Usage(est_in, est_out))
    valid_in = type(n_in) is int and 0 <= n_in <= MAX_TOKENS
    valid_out = type(n_out) is int and 0 <= n_out <= MAX_TOKENS
    for got, raw, valid, est in ((usage.input_tokens, n_in, valid_in, est_in),
                                 (usage.output_tokens, n_out, valid_out, est_out)):
        assert type(got) is int and got >= 0
        if valid and (raw > 0 or est == 0):
            assert got == raw  # a reported count is kept
        else:
            assert got == est and usage.tokens_estimated  # not reported: estimated, flagged
    if valid_in and valid_out and n_in > 0 and n_out > 0:
        assert usage.tokens_estimated is flagged


def test_settle_without_usage_and_for_embeddings() -> None:
    assert settle(None, lambda: Usage(5, 7)) == Usage(5, 7, tokens_estimated=True)
    assert settle(Usage(5, None), lambda: Usage(1, 0), no_output=True) == Usage(5, 0)


def _ollama_body(**counts: Any) -> bytes:
    return json.dumps({"model": "llama3.2:3b", "created_at": "2026-01-01T00:00:00Z",
                       "message": {"role": "assistant", "content": ANSWER}, "done": True,
                       "done_reason": "stop", **counts}).encode()


@pytest.mark.parametrize("counts", [
    {},                                            # no counts at all
    {"prompt_eval_count": 9},                      # output count missing
    {"prompt_eval_count": 9, "eval_count": -4},    # negative
    {"prompt_eval_count": 9, "eval_count": 0},     # 0 for a non-empty answer
    {"prompt_eval_count": -1, "eval_count": 30},   # input invalid
])
def test_ollama_missing_or_invalid_counts_are_estimated(provider_otel: Any,
                                                        counts: dict[str, Any]) -> None:
    ollama = pytest.importorskip("ollama")
    with Canned(_ollama_body(**counts)) as server:
        client = ollama.Client(host=server.url)
        reply = client.chat(model="llama3.2:3b", messages=[{"role": "user", "content": PROMPT}])
        client._client.close()
    assert reply.message.content == ANSWER
    attrs = dict(provider_otel.call_spans()[0].attributes or {})
    assert attrs["energy.tokens_estimated"] is True
    assert attrs["gen_ai.usage.input_tokens"] > 0 and attrs["gen_ai.usage.output_tokens"] > 0
    if counts.get("eval_count", 0) > 0:
        assert attrs["gen_ai.usage.output_tokens"] == counts["eval_count"]


def _one(otel: Any) -> dict[str, Any]:
    spans = otel.call_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return dict(spans[0].attributes or {})


def test_mistral_missing_output_count_is_estimated(configure_tracker: Any) -> None:
    pytest.importorskip("mistralai")
    try:
        from mistralai.client import Mistral
    except ImportError:  # mistralai < 2
        from mistralai import Mistral  # type: ignore[attr-defined,no-redef]
    otel = configure_tracker()
    tracker.instrument("mistral")
    body = {"id": "c1", "object": "chat.completion", "model": "mistral-small-latest",
            "created": 1, "usage": {"prompt_tokens": 9, "completion_tokens": None,
                                    "total_tokens": 9},
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": ANSWER}}]}
    try:
        with Canned(json.dumps(body).encode()) as server:
            client = Mistral(api_key="k", server_url=server.url)
            client.chat.complete(model="mistral-small-latest",
                                 messages=[{"role": "user", "content": PROMPT}])
    finally:
        tracker.uninstrument("mistral")
    attrs = _one(otel)
    assert attrs["gen_ai.usage.input_tokens"] == 9
    assert attrs["gen_ai.usage.output_tokens"] > 0 and attrs["energy.tokens_estimated"] is True


def test_cohere_without_usage_counts_the_answer(configure_tracker: Any) -> None:
    cohere = pytest.importorskip("cohere")
    otel = configure_tracker()
    tracker.instrument("cohere")
    body = {"id": "r1", "finish_reason": "COMPLETE",
            "message": {"role": "assistant", "content": [{"type": "text", "text": ANSWER}]}}
    try:
        with Canned(json.dumps(body).encode()) as server, \
                cohere.ClientV2(api_key="k", base_url=server.url) as client:
            client.chat(model="command-r", messages=[{"role": "user", "content": PROMPT}])
    finally:
        tracker.uninstrument("cohere")
    attrs = _one(otel)
    assert attrs["gen_ai.usage.output_tokens"] >= len(ANSWER) // 4
    assert attrs["energy.tokens_estimated"] is True


def test_gemini_without_usage_counts_the_answer(configure_tracker: Any) -> None:
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    otel = configure_tracker()
    tracker.instrument("google_genai")
    body = {"candidates": [{"content": {"role": "model", "parts": [{"text": ANSWER}]},
                            "finishReason": "STOP"}], "modelVersion": "gemini-2.0-flash"}
    try:
        with Canned(json.dumps(body).encode()) as server:
            client = genai.Client(api_key="k",
                                  http_options=types.HttpOptions(base_url=server.url))
            client.models.generate_content(model="gemini-2.0-flash", contents=PROMPT)
    finally:
        tracker.uninstrument("google_genai")
    attrs = _one(otel)
    assert attrs["gen_ai.usage.output_tokens"] >= len(ANSWER) // 4
    assert attrs["energy.tokens_estimated"] is True
