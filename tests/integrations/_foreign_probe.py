"""One process, one foreign instrumentation: make real client calls, report what was priced.

Run as ``python -m tests.integrations._foreign_probe PACKAGE CLIENT WITH_SDK LEDGER``: starts the
demo server, sets up a real TracerProvider with `EnergySpanProcessor` and an in-memory exporter,
configures the tracker (its own integration instrumented when WITH_SDK is ``1``), instruments
CLIENT (``openai`` or ``anthropic``) with PACKAGE, makes one plain and one streamed call, and
prints one JSON object: the tokens served, the ledger lines written, the foreign spans seen.
Each package runs in its own process because several of them patch the same client methods or
register the same entry points.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

KEY = "sk-canary-KEY-5b2c"
MESSAGES = [{"role": "user", "content": "canary-PROMPT-91d0 tell me"}]


def _instrument(package: str, client: str, provider: TracerProvider) -> Any:
    """Instrument `client` with `package` on `provider`; returns the provider spans go to."""
    if package == "otel-genai":
        if client == "openai":
            from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
            OpenAIInstrumentor().instrument(tracer_provider=provider)
        else:
            from opentelemetry.instrumentation.genai.anthropic import AnthropicInstrumentor
            AnthropicInstrumentor().instrument(tracer_provider=provider)
    elif package == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor as OI
        OI().instrument(tracer_provider=provider)
    elif package == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OL
        OL().instrument(tracer_provider=provider)
    elif package == "openlit":
        import openlit
        from opentelemetry import trace

        trace.set_tracer_provider(provider)  # OpenLIT takes the global provider already set
        openlit.init(disable_metrics=True, disable_events=True, capture_message_content=False,
                     collect_gpu_stats=False)
    elif package == "logfire":
        import logfire
        logfire.configure(send_to_logfire=False, console=False,
                          additional_span_processors=list(provider._active_span_processor
                                                          ._span_processors))
        if client == "openai":
            logfire.instrument_openai()
        else:
            logfire.instrument_anthropic()
    else:
        raise SystemExit(f"unknown package {package}")
    return provider


def main() -> None:
    package, client, with_sdk, ledger = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
    import tracker
    from tracker.demo._server import DemoServer
    from tracker.recording._span_pricing import EnergySpanProcessor

    exported = InMemorySpanExporter()
    provider = TracerProvider()
    processor = EnergySpanProcessor()
    provider.add_span_processor(processor)
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracker.configure(tracer_provider=provider, ledger=ledger, instrument=False, strict=True)
    if with_sdk:
        tracker.instrument(client)
    _instrument(package, client, provider)
    with DemoServer() as server:
        if client == "openai":
            import openai
            with openai.OpenAI(api_key=KEY, base_url=server.openai_base_url,
                               max_retries=0) as c:
                c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                for _ in c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                                   stream=True,
                                                   stream_options={"include_usage": True}):
                    pass
        else:
            import anthropic
            with anthropic.Anthropic(api_key=KEY, base_url=server.anthropic_base_url,
                                     max_retries=0) as a:
                a.messages.create(model="claude-3-5-haiku-latest", max_tokens=32,
                                  messages=MESSAGES)
                for _ in a.messages.create(model="claude-3-5-haiku-latest", max_tokens=32,
                                           messages=MESSAGES, stream=True):
                    pass
        served = [(s.input_tokens, s.output_tokens) for s in server.served]
    provider.force_flush()
    processor.force_flush()
    lines = [json.loads(line) for line in Path(ledger).read_text().splitlines()] \
        if Path(ledger).exists() else []
    spans = [{"scope": s.instrumentation_scope.name if s.instrumentation_scope else "",
              "name": s.name, "keys": sorted(s.attributes or {})}
             for s in exported.get_finished_spans()]
    print(json.dumps({"served": served, "lines": lines, "spans": spans,
                      "priced": processor.priced}, default=str))


if __name__ == "__main__":
    main()
