"""LiteLLM integration: the real litellm over HTTP to the local demo server, real OTel SDK.

LiteLLM's ``openai/`` route goes through the openai client (its low-level ``post``, or
``embeddings.with_raw_response`` when ``encoding_format`` is set) and its ``anthropic/`` route
through LiteLLM's own HTTP code; with the openai and anthropic integrations also on, each HTTP
request must be exactly one priced CLIENT span and one ledger line. No test reaches the internet:
the cost map is LiteLLM's bundled copy and name lookups other than the local server's fail.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")
litellm = pytest.importorskip("litellm")
import anthropic  # noqa: E402
import openai  # noqa: E402
from opentelemetry.trace import StatusCode  # noqa: E402

import tracker  # noqa: E402
from integrations import litellm as integration  # noqa: E402
from tests.conftest import Otel  # noqa: E402
from tracker.demo._server import DemoServer  # noqa: E402

INTEGRATION = "litellm"
KEY = "sk-litellm-secret-key-0123456789"
PROMPT = "Describe the migratory habits of the arctic tern"
MESSAGES = [{"role": "user", "content": PROMPT}]
OPENAI_MODEL = "openai/gpt-4o-mini"
ANTHROPIC_MODEL = "anthropic/claude-haiku-4-5"

# LiteLLM's own pydantic models warn when first built, and LiteLLM keeps HTTP clients (and an
# event loop of its logging worker) cached across calls and event loops by design: third-party
# notices, not the SDK's (the SDK opens no socket on these paths).
pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore:Item.*ReadOnly:UserWarning"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_computed_fields':DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_fields':DeprecationWarning"),
]

litellm.telemetry = False
litellm.suppress_debug_info = True


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Any name lookup but the local server's fails, and is remembered."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def local_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", b"127.0.0.1", b"localhost"):
            looked_up.append(str(host))
            raise socket.gaierror(f"test is offline: {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)
    monkeypatch.setattr(litellm, "callbacks", [])
    monkeypatch.setattr(litellm, "success_callback", [])
    monkeypatch.setattr(litellm, "failure_callback", [])
    yield looked_up
    assert looked_up == []


@pytest.fixture(params=["providers-first", "framework-first"])
def calls(request: pytest.FixtureRequest, configure_tracker: Callable[..., Otel],
         tmp_path: Path) -> Iterator[Otel]:
    """LiteLLM, openai and anthropic instrumented (in either order), with a ledger."""
    ledger = tmp_path / "ledger.jsonl"
    helper = configure_tracker(ledger=str(ledger))
    helper.ledger = ledger  # type: ignore[attr-defined]
    names = ["openai", "anthropic", INTEGRATION]
    if request.param == "framework-first":
        names.reverse()
    for name in names:
        tracker.instrument(name)
    yield helper
    tracker.uninstrument()


def run_async(body: Callable[[], Any]) -> Any:
    """`asyncio.run(body())`, closing the clients LiteLLM cached for this event loop."""

    async def main() -> Any:
        try:
            return await body()
        finally:
            await litellm.close_litellm_async_clients()
            litellm.in_memory_llm_clients_cache.flush_cache()

    return asyncio.run(main())


def route(model: str, server: DemoServer) -> dict[str, Any]:
    base = server.openai_base_url if model.startswith("openai/") else server.anthropic_base_url
    return {"model": model, "api_base": base, "api_key": KEY, "max_tokens": 64}


def assert_one_call_per_request(otel: Otel, server: DemoServer, before: int) -> Any:
    """Exactly one priced CLIENT span per request served, with the server's token counts."""
    served = server.served[before:]
    spans = otel.call_spans()
    assert len(served) == 1
    assert len(spans) == 1, [s.name for s in spans]
    span = spans[0]
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == served[0].input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == served[0].output_tokens
    assert attrs["energy.kwh"] > 0
    assert attrs.get("energy.tokens_estimated") is not True
    lines = otel.ledger_lines()
    assert len(lines) == 1
    return span


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])
def test_completion_is_one_priced_call(calls: Otel, demo_server: DemoServer, model: str) -> None:
    before = len(demo_server.served)
    response = litellm.completion(messages=MESSAGES, **route(model, demo_server))
    span = assert_one_call_per_request(calls, demo_server, before)
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert attrs["gen_ai.request.model"] == model
    assert attrs["gen_ai.provider.name"] == model.partition("/")[0]
    assert span.name == f"chat {model}"


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])
def test_acompletion_is_one_priced_call(calls: Otel, demo_server: DemoServer, model: str) -> None:
    before = len(demo_server.served)

    async def main() -> Any:
        return await litellm.acompletion(messages=MESSAGES, **route(model, demo_server))

    run_async(main)
    assert_one_call_per_request(calls, demo_server, before)


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])
def test_stream_is_one_call_finalized_once(calls: Otel, demo_server: DemoServer,
                                           model: str) -> None:
    before = len(demo_server.served)
    stream = litellm.completion(messages=MESSAGES, stream=True,
                                stream_options={"include_usage": True},
                                **route(model, demo_server))
    chunks = list(stream)
    assert chunks
    assert_one_call_per_request(calls, demo_server, before)
    del stream
    gc.collect()
    assert len(calls.call_spans()) == 1


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])
def test_async_stream_is_one_call(calls: Otel, demo_server: DemoServer, model: str) -> None:
    before = len(demo_server.served)

    async def main() -> int:
        stream = await litellm.acompletion(messages=MESSAGES, stream=True,
                                           stream_options={"include_usage": True},
                                           **route(model, demo_server))
        return len([c async for c in stream])

    assert run_async(main) > 0
    assert_one_call_per_request(calls, demo_server, before)


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])
def test_stream_broken_out_of_is_recorded_once(calls: Otel, demo_server: DemoServer,
                                               model: str) -> None:
    stream = litellm.completion(messages=MESSAGES, stream=True, **route(model, demo_server))
    for _chunk in stream:
        break
    del stream, _chunk
    gc.collect()
    spans = calls.call_spans()
    assert len(spans) == 1
    assert spans[0].attributes["energy.tokens_estimated"] is True  # the usage never came


def test_stream_usage_option_asks_litellm_for_usage(configure_tracker: Callable[..., Otel],
                                                    demo_server: DemoServer) -> None:
    otel = configure_tracker(stream_usage=True)
    tracker.instrument("anthropic", INTEGRATION)
    try:
        before = len(demo_server.served)
        list(litellm.completion(messages=MESSAGES, stream=True,
                                **route(ANTHROPIC_MODEL, demo_server)))
        (span,) = otel.call_spans()
        assert span.attributes["gen_ai.usage.output_tokens"] == \
            demo_server.served[before].output_tokens
        assert span.attributes.get("energy.tokens_estimated") is not True
    finally:
        tracker.uninstrument()


def test_embedding_through_the_openai_client_is_its_record(calls: Otel,
                                                           demo_server: DemoServer) -> None:
    """With ``encoding_format`` LiteLLM calls ``embeddings.with_raw_response.create``: the
    openai integration's record is the one record, whichever was instrumented first."""
    before = len(demo_server.served)
    litellm.embedding(model="openai/text-embedding-3-small", input=[PROMPT],
                      encoding_format="float", api_base=demo_server.openai_base_url,
                      api_key=KEY)
    span = assert_one_call_per_request(calls, demo_server, before)
    assert span.attributes["gen_ai.request.model"] == "text-embedding-3-small"  # as openai saw it
    assert span.attributes["gen_ai.operation.name"] == "embeddings"


def test_embedding_over_litellm_http_is_its_own_record(calls: Otel,
                                                       demo_server: DemoServer) -> None:
    before = len(demo_server.served)
    litellm.embedding("openai/text-embedding-3-small", [PROMPT],
                      api_base=demo_server.openai_base_url, api_key=KEY)
    span = assert_one_call_per_request(calls, demo_server, before)
    assert span.attributes["gen_ai.request.model"] == "openai/text-embedding-3-small"


def test_direct_provider_calls_stay_priced_once(calls: Otel, demo_server: DemoServer) -> None:
    with openai.OpenAI(base_url=demo_server.openai_base_url, api_key=KEY) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore
    with anthropic.Anthropic(base_url=demo_server.anthropic_base_url, api_key=KEY) as client2:
        client2.messages.create(model="claude-haiku-4-5", max_tokens=64,
                                messages=MESSAGES)  # type: ignore[arg-type]
    spans = calls.call_spans()
    assert [s.attributes["gen_ai.provider.name"] for s in spans] == ["openai", "anthropic"]
    for span, served in zip(spans, demo_server.served[-2:], strict=True):
        assert span.attributes["gen_ai.usage.input_tokens"] == served.input_tokens
        assert span.attributes["energy.kwh"] > 0
    assert len(calls.ledger_lines()) == 2


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])
def test_provider_error_reaches_the_caller_unchanged(configure_tracker: Callable[..., Otel],
                                                     demo_server: DemoServer,
                                                     model: str) -> None:
    bad = {**route(model, demo_server), "model": model.replace("/", "/fault-500-"),
           "num_retries": 0}

    def attempt() -> BaseException:
        with pytest.raises(Exception) as info:
            litellm.completion(messages=MESSAGES, **bad)
        return info.value

    plain = attempt()
    otel = configure_tracker()
    tracker.instrument("openai", "anthropic", INTEGRATION)
    try:
        seen = attempt()
    finally:
        tracker.uninstrument()
    assert type(seen) is type(plain)
    assert str(seen) == str(plain)
    (span,) = otel.call_spans()
    assert span.status.status_code is StatusCode.ERROR


def test_no_prompt_or_key_anywhere(calls: Otel, demo_server: DemoServer) -> None:
    for model in (OPENAI_MODEL, ANTHROPIC_MODEL):
        litellm.completion(messages=MESSAGES, **route(model, demo_server))
        list(litellm.completion(messages=MESSAGES, stream=True, **route(model, demo_server)))
    gc.collect()
    text = calls.everything(calls.ledger)  # type: ignore[attr-defined]
    assert len(calls.call_spans()) == 4
    assert PROMPT not in text and "arctic" not in text
    assert KEY not in text and "sk-litellm" not in text


def test_uninstrument_restores_the_functions(configure_tracker: Callable[..., Otel],
                                             demo_server: DemoServer) -> None:
    originals = {name: getattr(litellm, name)
                 for name in ("completion", "acompletion", "embedding", "aembedding")}
    otel = configure_tracker()
    tracker.instrument(INTEGRATION)
    assert all(getattr(litellm, n) is not f for n, f in originals.items())
    held = litellm.completion  # a caller that kept the patched function
    tracker.uninstrument(INTEGRATION)
    assert all(getattr(litellm, n) is f for n, f in originals.items())
    held(messages=MESSAGES, **route(ANTHROPIC_MODEL, demo_server))
    litellm.completion(messages=MESSAGES, **route(ANTHROPIC_MODEL, demo_server))
    assert otel.call_spans() == []


@pytest.mark.parametrize(("model", "expected"), [
    ("bedrock/anthropic.claude-3-haiku-20240307-v1:0", "aws.bedrock"),
    ("gemini/gemini-2.5-flash", "gcp.gemini"),
    ("vertex_ai/gemini-2.5-pro", "gcp.vertex_ai"),
    ("anthropic/claude-haiku-4-5", "anthropic"),
    ("openai/gpt-4o", "openai"),
    ("mistral/mistral-small-latest", "mistral_ai"),
    ("cohere/command-r", "cohere"),
    ("ollama/llama3.2:3b", "ollama"),
    ("azure/my-deployment", "azure.ai.openai"),
    ("gpt-4o-mini", "openai"),
    ("claude-haiku-4-5", "anthropic"),
])
def test_provider_from_the_model_prefix(model: str, expected: str) -> None:
    assert integration.provider_name(model) == expected


def test_custom_llm_provider_wins_over_the_name() -> None:
    assert integration.provider_name("my-model", "bedrock") == "aws.bedrock"
    assert integration.provider_name(None) == "openai"


def test_litellm_imports_without_the_network(tmp_path: Path) -> None:
    """The bundled cost map is used: importing and pricing never looks a host up."""
    script = (
        "import socket, sys\n"
        "seen = []\n"
        "def deny(host, *a, **k):\n"
        "    seen.append(host); raise socket.gaierror('offline')\n"
        "socket.getaddrinfo = deny\n"
        "import litellm\n"
        "litellm.completion_cost(model='gpt-4o-mini', prompt='hi', completion='hello')\n"
        "sys.exit(1 if seen else 0)\n"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


SECRET = "sk-secret-in-metadata-0123456789"


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])
def test_generation_name_is_on_the_one_record(calls: Otel, demo_server: DemoServer,
                                              model: str) -> None:
    metadata = {"generation_name": "summarise", "trace_name": "other", "api_key": SECRET}
    litellm.completion(messages=MESSAGES, metadata=metadata, **route(model, demo_server))
    calls.assert_attributed("litellm", "summarise")
    text = calls.everything(calls.ledger)  # type: ignore[attr-defined]
    assert SECRET not in text and "sk-secret" not in text and "other" not in text


def test_provider_record_is_attributed(calls: Otel, demo_server: DemoServer) -> None:
    """The openai integration's record of a LiteLLM call carries LiteLLM's names too."""
    litellm.embedding(model="openai/text-embedding-3-small", input=[PROMPT],
                      encoding_format="float", api_base=demo_server.openai_base_url,
                      api_key=KEY, metadata={"trace_name": "x" * 300, "api_key": SECRET})
    (span,) = calls.call_spans()
    assert span.attributes["gen_ai.request.model"] == "text-embedding-3-small"  # openai's record
    calls.assert_attributed("litellm", "x" * 128)
    assert SECRET not in calls.everything(calls.ledger)  # type: ignore[attr-defined]


def test_no_name_without_metadata(calls: Otel, demo_server: DemoServer) -> None:
    litellm.completion(messages=MESSAGES, metadata={"generation_name": 42},
                       **route(ANTHROPIC_MODEL, demo_server))
    calls.assert_attributed("litellm", None)
