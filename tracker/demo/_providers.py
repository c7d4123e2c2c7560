"""The demo's calls through the Gemini, Bedrock, Mistral, Cohere and Ollama client libraries.

`run_provider_calls(server)` makes a plain and a streamed call (or an embedding) with each of
these libraries that is installed, against the local `DemoServer`, from ``@track_energy``
functions, and returns the names of the providers exercised. Credentials are dummies; nothing
leaves ``127.0.0.1``. A library that fails here is skipped (reported once), never fatal.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from tracker._internal_errors import report
from tracker.reduce._track import track_energy

__all__ = ["run_provider_calls"]

DUMMY_KEY = "demo-key-not-a-secret"
_MESSAGES = [{"role": "user", "content": "Why does the grid mix change an LLM call's carbon?"}]
_TEXT = "Why does the grid mix change an LLM call's carbon?"


def _gemini(server: Any) -> None:
    from google import genai  # type: ignore[import-untyped,import-not-found,unused-ignore]
    from google.genai import types  # type: ignore[import-untyped,import-not-found,unused-ignore]

    client = genai.Client(api_key=DUMMY_KEY, http_options=types.HttpOptions(base_url=server.url))
    try:
        client.models.generate_content(model="gemini-2.5-flash", contents=_TEXT)
        for _chunk in client.models.generate_content_stream(model="gemini-2.5-flash",
                                                            contents=_TEXT):
            pass
    finally:
        close = getattr(client, "close", None)  # (google-genai before 1.2x has no close())
        if close is not None:
            close()


def _bedrock(server: Any) -> None:
    import boto3  # type: ignore[import-untyped,import-not-found,unused-ignore]

    client = boto3.client("bedrock-runtime", endpoint_url=server.url, region_name="us-east-1",
                          aws_access_key_id="AKIADEMO", aws_secret_access_key=DUMMY_KEY)
    try:
        messages = [{"role": "user", "content": [{"text": _TEXT}]}]
        client.converse(modelId="us.meta.llama3-1-8b-instruct-v1:0", messages=messages)
        response = client.converse_stream(modelId="amazon.nova-lite-v1:0", messages=messages)
        for _event in response["stream"]:
            pass
    finally:
        client.close()


def _mistral(server: Any) -> None:
    try:
        from mistralai.client import Mistral  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:  # mistralai 1.x
        from mistralai import Mistral  # type: ignore[attr-defined,no-redef,import-not-found,unused-ignore]

    with Mistral(api_key=DUMMY_KEY, server_url=server.mistral_base_url) as client:
        client.chat.complete(model="mistral-small-latest", messages=_MESSAGES)
        with client.chat.stream(model="codestral-latest", messages=_MESSAGES) as stream:
            for _event in stream:
                pass


def _cohere(server: Any) -> None:
    import cohere  # type: ignore[import-untyped,import-not-found,unused-ignore]

    with cohere.ClientV2(api_key=DUMMY_KEY, base_url=server.cohere_base_url) as client:
        client.chat(model="command-a-03-2025", messages=_MESSAGES)
        for _event in client.chat_stream(model="command-r7b-12-2024", messages=_MESSAGES):
            pass


def _ollama(server: Any) -> None:
    import ollama  # type: ignore[import-untyped,import-not-found,unused-ignore]

    client = ollama.Client(host=server.url)
    try:
        client.chat(model="llama3.2:3b", messages=_MESSAGES)
        for _chunk in client.generate(model="qwen3:8b", prompt=_TEXT, stream=True):
            pass
    finally:
        client._client.close()


#: provider -> (import name that must be installed, function name in the story, the calls)
_CALLS: tuple[tuple[str, str, str, Callable[[Any], None]], ...] = (
    ("gemini", "google.genai", "ask_gemini", _gemini),
    ("bedrock", "boto3", "ask_bedrock", _bedrock),
    ("mistral", "mistralai", "ask_mistral", _mistral),
    ("cohere", "cohere", "ask_cohere", _cohere),
    ("ollama", "ollama", "ask_local_ollama", _ollama),
)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def run_provider_calls(server: Any) -> list[str]:
    """Make the calls of every installed library; returns the providers exercised."""
    done: list[str] = []
    for provider, module, name, calls in _CALLS:
        if not _installed(module):
            continue
        try:
            track_energy(name=name)(calls)(server)
        except Exception as exc:
            report(f"demo.{provider}", exc)
            continue
        done.append(provider)
    return done
