"""LangChain integration: real langchain-core chat models over HTTP to the local demo server.

`ChatOpenAI` and `ChatAnthropic` call the openai and anthropic clients underneath; with those
integrations also on, each HTTP request must be exactly one priced CLIENT span and one ledger
line, whichever integration was instrumented first. Without them, the callback handler records
the run from LangChain's ``usage_metadata``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_core")
langchain_openai = pytest.importorskip("langchain_openai")
langchain_anthropic = pytest.importorskip("langchain_anthropic")
import anthropic  # noqa: E402
import openai  # noqa: E402
from langchain_core.callbacks import manager as callback_manager  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from opentelemetry.trace import StatusCode  # noqa: E402

import tracker  # noqa: E402
from integrations import langchain as integration  # noqa: E402
from tests.conftest import Otel  # noqa: E402
from tracker.demo._server import DemoServer  # noqa: E402

INTEGRATION = "langchain"
KEY = "sk-langchain-secret-key-0123456789"
PROMPT = "Summarise the breeding season of the emperor penguin"
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"


def chat_openai(server: DemoServer, **kw: Any) -> Any:
    kw = {"model": OPENAI_MODEL, **kw}
    return langchain_openai.ChatOpenAI(base_url=server.openai_base_url, api_key=KEY,
                                       max_retries=0, **kw)


def chat_anthropic(server: DemoServer, **kw: Any) -> Any:
    kw = {"model": ANTHROPIC_MODEL, **kw}
    return langchain_anthropic.ChatAnthropic(base_url=server.anthropic_base_url, api_key=KEY,
                                             max_retries=0, **kw)


MODELS = {"openai": chat_openai, "anthropic": chat_anthropic}


@pytest.fixture(scope="module")
def run() -> Iterator[Callable[[Any], Any]]:
    """Runs coroutines on one event loop: LangChain caches its async HTTP clients per process."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture(params=["providers-first", "framework-first"])
def calls(request: pytest.FixtureRequest, ledger_otel: Otel) -> Iterator[Otel]:
    """LangChain, openai and anthropic instrumented (in either order)."""
    names = ["openai", "anthropic", INTEGRATION]
    if request.param == "framework-first":
        names.reverse()
    for name in names:
        tracker.instrument(name)
    yield ledger_otel
    tracker.uninstrument()


def assert_one_call_per_request(otel: Otel, server: DemoServer, before: int,
                                estimated: bool = False) -> Any:
    served = server.served[before:]
    spans = otel.call_spans()
    assert len(served) == 1
    assert len(spans) == 1, [s.name for s in spans]
    attrs = dict(spans[0].attributes or {})
    assert attrs["energy.kwh"] > 0
    if not estimated:
        assert attrs["gen_ai.usage.input_tokens"] == served[0].input_tokens
        assert attrs["gen_ai.usage.output_tokens"] == served[0].output_tokens
        assert attrs.get("energy.tokens_estimated") is not True
    assert len(otel.ledger_lines()) == 1
    return spans[0]


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_chain_is_one_priced_call_per_request(calls: Otel, demo_server: DemoServer,
                                              provider: str) -> None:
    model = MODELS[provider](demo_server)
    chain = ChatPromptTemplate.from_messages([("human", "{question}")]) | model | \
        StrOutputParser()
    before = len(demo_server.served)
    answer = chain.invoke({"question": PROMPT})
    assert isinstance(answer, str) and answer
    span = assert_one_call_per_request(calls, demo_server, before)
    assert span.attributes["gen_ai.provider.name"] == provider


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_async_invoke_is_one_call(calls: Otel, demo_server: DemoServer, provider: str,
                                  run: Callable[[Any], Any]) -> None:
    model = MODELS[provider](demo_server)
    before = len(demo_server.served)
    message = run(model.ainvoke(PROMPT))
    span = assert_one_call_per_request(calls, demo_server, before)
    assert span.attributes["gen_ai.usage.input_tokens"] == \
        message.usage_metadata["input_tokens"]


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_stream_is_one_call_finalized_once(calls: Otel, demo_server: DemoServer,
                                           provider: str) -> None:
    model = MODELS[provider](demo_server, stream_usage=True)
    before = len(demo_server.served)
    chunks = list(model.stream(PROMPT))
    assert len(chunks) > 1
    assert_one_call_per_request(calls, demo_server, before)


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_async_stream_is_one_call(calls: Otel, demo_server: DemoServer, provider: str,
                                  run: Callable[[Any], Any]) -> None:
    model = MODELS[provider](demo_server, stream_usage=True)
    before = len(demo_server.served)

    async def main() -> int:
        return len([c async for c in model.astream(PROMPT)])

    assert run(main()) > 1
    assert_one_call_per_request(calls, demo_server, before)


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_handler_records_when_no_provider_integration_is_on(
        ledger_otel: Otel, demo_server: DemoServer, provider: str) -> None:
    tracker.instrument(INTEGRATION)
    try:
        model = MODELS[provider](demo_server)
        before = len(demo_server.served)
        message = model.invoke(PROMPT)
        span = assert_one_call_per_request(ledger_otel, demo_server, before)
        assert span.attributes["gen_ai.provider.name"] == provider
        assert span.attributes["gen_ai.request.model"] == MODELS[provider](
            demo_server).model_name if provider == "openai" else ANTHROPIC_MODEL
        assert span.attributes["gen_ai.usage.input_tokens"] == \
            message.usage_metadata["input_tokens"]
    finally:
        tracker.uninstrument()


def test_explicit_handler_records_once_with_the_global_one_too(
        ledger_otel: Otel, demo_server: DemoServer) -> None:
    handler = integration.EnergyCallbackHandler()
    model = chat_anthropic(demo_server)
    before = len(demo_server.served)
    model.invoke(PROMPT, config={"callbacks": [handler]})  # not instrumented: the handler alone
    assert_one_call_per_request(ledger_otel, demo_server, before)
    tracker.instrument(INTEGRATION)
    try:
        model.invoke(PROMPT, config={"callbacks": [handler]})
        assert len(ledger_otel.call_spans()) == 2
    finally:
        tracker.uninstrument()


def test_model_without_usage_is_estimated(ledger_otel: Otel) -> None:
    tracker.instrument(INTEGRATION)
    try:
        FakeListChatModel(responses=["a short answer of some length"]).invoke(PROMPT)
    finally:
        tracker.uninstrument()
    (span,) = ledger_otel.call_spans()
    assert span.attributes["energy.tokens_estimated"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] == len(
        "a short answer of some length") // 4 + 1


def test_direct_provider_calls_stay_priced_once(calls: Otel, demo_server: DemoServer) -> None:
    messages = [{"role": "user", "content": PROMPT}]
    with openai.OpenAI(base_url=demo_server.openai_base_url, api_key=KEY) as client:
        client.chat.completions.create(model=OPENAI_MODEL, messages=messages)  # type: ignore
    with anthropic.Anthropic(base_url=demo_server.anthropic_base_url,
                             api_key=KEY) as client2:
        client2.messages.create(model=ANTHROPIC_MODEL, max_tokens=64,
                                messages=messages)  # type: ignore[arg-type]
    spans = calls.call_spans()
    assert [s.attributes["gen_ai.provider.name"] for s in spans] == ["openai", "anthropic"]
    for span, served in zip(spans, demo_server.served[-2:], strict=True):
        assert span.attributes["gen_ai.usage.input_tokens"] == served.input_tokens
    assert len(calls.ledger_lines()) == 2


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_provider_error_reaches_the_caller_unchanged(ledger_otel: Otel, demo_server: DemoServer,
                                                     provider: str) -> None:
    tracker.instrument("openai", "anthropic", INTEGRATION)
    try:
        model = MODELS[provider](demo_server, model="fault-500")
        with pytest.raises((openai.InternalServerError, anthropic.InternalServerError)) as info:
            model.invoke(PROMPT)
    finally:
        tracker.uninstrument()
    assert "demo server fault 500" in str(info.value)
    (span,) = ledger_otel.call_spans()
    assert span.status.status_code is StatusCode.ERROR


def test_handler_failure_path_records_an_error(ledger_otel: Otel, demo_server: DemoServer) -> None:
    """Only LangChain on: the run's error is the record (and still reaches the caller)."""
    tracker.instrument(INTEGRATION)
    try:
        with pytest.raises(openai.InternalServerError):
            chat_openai(demo_server, model="fault-500").invoke(PROMPT)
    finally:
        tracker.uninstrument()
    (span,) = ledger_otel.call_spans()
    assert span.status.status_code is StatusCode.ERROR


def test_no_prompt_or_key_anywhere(calls: Otel, demo_server: DemoServer) -> None:
    for build in MODELS.values():
        build(demo_server).invoke(PROMPT)
        list(build(demo_server).stream(PROMPT))
    text = calls.everything(calls.ledger)  # type: ignore[attr-defined]
    assert len(calls.call_spans()) == 4
    assert PROMPT not in text and "penguin" not in text
    assert KEY not in text and "sk-langchain" not in text


def test_uninstrument_restores_everything(ledger_otel: Otel, demo_server: DemoServer,
                                          run: Callable[[Any], Any]) -> None:
    originals = (vars(callback_manager.CallbackManager)["configure"],
                 vars(callback_manager.AsyncCallbackManager)["configure"],
                 vars(openai.resources.chat.completions.Completions)["create"])
    tracker.instrument("openai", INTEGRATION)
    model = chat_openai(demo_server)
    model.invoke(PROMPT)  # the model's client now caches `with_raw_response.create`
    assert len(ledger_otel.call_spans()) == 1
    tracker.uninstrument()
    assert (vars(callback_manager.CallbackManager)["configure"],
            vars(callback_manager.AsyncCallbackManager)["configure"],
            vars(openai.resources.chat.completions.Completions)["create"]) == originals
    model.invoke(PROMPT)
    run(model.ainvoke(PROMPT))
    list(model.stream(PROMPT))
    assert len(ledger_otel.call_spans()) == 1  # nothing more, through the cached method either


@pytest.mark.parametrize(("ls_provider", "expected"), [
    ("openai", "openai"), ("anthropic", "anthropic"), ("amazon_bedrock", "aws.bedrock"),
    ("google_genai", "gcp.gemini"), ("google_vertexai", "gcp.vertex_ai"),
    ("mistral", "mistral_ai"), ("ollama", "ollama"), ("azure", "azure.ai.openai"),
    ("someone_new", "someone_new"), (None, None),
])
def test_provider_names(ls_provider: Any, expected: Any) -> None:
    assert integration.provider_name(ls_provider) == expected


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_run_name_is_on_the_one_record(calls: Otel, demo_server: DemoServer,
                                       provider: str) -> None:
    """The provider integration's record carries the LangChain run name (`with_config`)."""
    model = MODELS[provider](demo_server).with_config(run_name="summarise")
    model.invoke(PROMPT, config={"metadata": {"api_key": KEY}, "tags": ["secret-tag"]})
    calls.assert_attributed("langchain", "summarise")
    text = calls.everything(calls.ledger)  # type: ignore[attr-defined]
    assert KEY not in text and "secret-tag" not in text and PROMPT not in text


def test_default_run_name_is_the_model_class(calls: Otel, demo_server: DemoServer) -> None:
    chain = ChatPromptTemplate.from_messages([("human", "{question}")]) | \
        chat_openai(demo_server) | StrOutputParser()
    chain.with_config(run_name="the-chain").invoke({"question": PROMPT})
    calls.assert_attributed("langchain", "ChatOpenAI")  # the model run's name, not the chain's


def test_handler_record_is_attributed_too(ledger_otel: Otel, demo_server: DemoServer) -> None:
    """Without the provider integrations the handler's own record carries the same names."""
    tracker.instrument(INTEGRATION)
    try:
        chat_anthropic(demo_server).invoke(PROMPT, config={"run_name": "summarise"})
    finally:
        tracker.uninstrument()
    ledger_otel.assert_attributed("langchain", "summarise")
