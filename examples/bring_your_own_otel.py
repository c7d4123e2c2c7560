"""Bring your own OpenTelemetry: the SDK uses the providers you configured, nothing global.

Prints the LLM call span (with its energy.* attributes) to the console.
Uses the real API when OPENAI_API_KEY is set, otherwise the local demo server (offline).
Run: python examples/bring_your_own_otel.py
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

import tracker
from tracker.demo._server import DemoServer


def main() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    with ExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = openai.OpenAI()
        else:
            server = stack.enter_context(DemoServer())
            client = openai.OpenAI(api_key="demo", base_url=server.openai_base_url)
        stack.enter_context(client)
        tracker.configure(tracer_provider=provider, ledger=None, region="FR")
        tracer = provider.get_tracer("my-app")
        with tracer.start_as_current_span("handle-request"):  # the LLM span is its child
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}],
                stream=True)
            for _chunk in stream:
                pass
    provider.shutdown()


if __name__ == "__main__":
    main()
