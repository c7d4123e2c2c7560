"""`llm-energy demo`: real client calls of every installed provider, tracked, on a local server.

Runs offline with no API key: starts `tracker.demo_server.DemoServer` on ``127.0.0.1``, configures
the tracker (ledger in a temporary directory unless ``--ledger PATH``), calls the installed
`openai` / `anthropic` clients (with a dummy key) from ``@track_energy`` functions: plain,
streamed, async and nested, one agent run with a tool call (`tracker.demo._agent`), then those
of Gemini, Bedrock, Mistral, Cohere and Ollama (`tracker.demo._providers`). Tells the story as
it happens, one line per call (function, provider, model, tokens, energy, carbon, in human
units), the agent span's roll-up under its calls, then a summary table read back from the
ledger. ``--json`` prints the raw per-request records (JSON, base units) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from tracker import _attributes as A
from tracker.demo._providers import run_provider_calls
from tracker.demo._server import DemoServer
from tracker.render import _units as U
from tracker.render._tables import Column, output_width, render_table, write_wrapped

__all__ = ["main", "run_calls"]

DUMMY_KEY = "demo-key-not-a-secret"
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
_PROMPT: Any = [{"role": "user", "content": "Why measure the energy of LLM calls?"}]


class _PrintHandler(logging.Handler):
    """Prints each per-request record: a story line, or the raw JSON line with ``--json``."""

    def __init__(self, out: TextIO, *, raw: bool = False) -> None:
        super().__init__(logging.INFO)
        self.out = out
        self.raw = raw

    def emit(self, record: logging.LogRecord) -> None:
        data = getattr(record, "energy_record", None)
        if self.raw or not isinstance(data, dict):
            self.out.write(record.getMessage() + "\n")
        else:
            self.out.write(story_line(data, output_width(self.out)) + "\n")


#: The story's columns: function, model, tokens, energy, carbon (78, and " *" for estimated).
_WIDTHS = (17, 20, 13, 10, 12)


def _story(function: str, model: str, tokens: str, energy: str, carbon: str,
           width: int | None = None) -> str:
    names = f"  {function:<{_WIDTHS[0]}} {model:<{_WIDTHS[1]}}"
    numbers = (f" {tokens:>{_WIDTHS[2]}} {energy:>{_WIDTHS[3]}} {carbon:>{_WIDTHS[4]}}")
    if width is not None and width < 80:  # a narrow terminal: the numbers under the names
        return f"  {function} {model}\n  {numbers}"
    if len(function) > _WIDTHS[0] or len(model) > _WIDTHS[1]:  # never cut: names on a line
        return f"  {function} {model}\n{' ' * (3 + _WIDTHS[0] + _WIDTHS[1])}{numbers}"
    return names + numbers


def story_line(rec: dict[str, Any], width: int | None = None) -> str:
    """One call as a person reads it: function, model, tokens, energy, carbon (80 columns).

    A name too long for its column, or a terminal narrower than 80 columns (``width``), puts the
    names on a line of their own, the numbers under.
    """
    function = str(rec.get("function") or rec.get(A.ENERGY_FUNCTION) or "-").rsplit(".", 1)[-1]
    function = function.rpartition(" ")[2]  # an agent's or tool's scope: its name
    model = str(rec.get(A.GEN_AI_REQUEST_MODEL) or rec.get(A.GEN_AI_RESPONSE_MODEL) or "-")
    tokens = (f"{int(rec.get(A.GEN_AI_USAGE_INPUT_TOKENS) or 0):,}/"
              f"{int(rec.get(A.GEN_AI_USAGE_OUTPUT_TOKENS) or 0):,}")
    line = _story(function, model, tokens, U.energy(float(rec.get(A.ENERGY_KWH) or 0.0)),
                  U.carbon(float(rec.get(A.ENERGY_GCO2E) or 0.0)), width)
    return line + (" *" if rec.get(A.ENERGY_TOKENS_ESTIMATED) else "")


def run_calls(openai_base_url: str | None, anthropic_base_url: str | None,
              api_key: str = DUMMY_KEY) -> list[str]:
    """Make the demo's tracked calls; returns the names of the providers exercised."""
    from tracker.reduce._track import track_energy

    done: list[str] = []
    clients: list[Any] = []
    try:
        import openai
    except ImportError:
        openai = None  # type: ignore[assignment]
    try:
        import anthropic
    except ImportError:
        anthropic = None  # type: ignore[assignment]

    if openai is not None:
        client = openai.OpenAI(api_key=api_key, base_url=openai_base_url, max_retries=0)
        clients.append(client)

        @track_energy(name="answer_question")
        def answer_question() -> str:
            reply = client.chat.completions.create(model=OPENAI_MODEL, messages=_PROMPT)
            return reply.choices[0].message.content or ""

        @track_energy(name="stream_answer")
        def stream_answer() -> str:
            stream: Any = client.chat.completions.create(model=OPENAI_MODEL, messages=_PROMPT,
                                                         stream=True)
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

        @track_energy(name="embed_and_respond")
        def embed_and_respond() -> None:
            client.embeddings.create(model="text-embedding-3-small", input=["energy", "carbon"])
            with client.responses.stream(model=OPENAI_MODEL, input="Summarise in 5 words.") as rs:
                rs.until_done()

        @track_energy(name="support_pipeline")
        def support_pipeline() -> None:  # nested: its span sums the three above
            answer_question()
            stream_answer()
            embed_and_respond()

        support_pipeline()
        done.append("openai")

    if anthropic is not None:
        aclient = anthropic.Anthropic(api_key=api_key, base_url=anthropic_base_url,
                                      max_retries=0)
        clients.append(aclient)

        @track_energy(name="summarise_with_claude")
        def summarise_with_claude() -> str:
            message = aclient.messages.create(model=ANTHROPIC_MODEL, max_tokens=200,
                                              messages=_PROMPT)
            with aclient.messages.stream(model=ANTHROPIC_MODEL, max_tokens=200,
                                         messages=_PROMPT) as stream:
                text = "".join(stream.text_stream)
            return str(message.content[0].type) + text

        summarise_with_claude()
        done.append("anthropic")

    async def async_calls() -> None:
        tasks = []
        if openai is not None:
            oa = openai.AsyncOpenAI(api_key=api_key, base_url=openai_base_url, max_retries=0)

            async def plain() -> None:
                async with oa:
                    await oa.chat.completions.create(model=OPENAI_MODEL, messages=_PROMPT)

            tasks.append(plain())
        if anthropic is not None:
            an = anthropic.AsyncAnthropic(api_key=api_key, base_url=anthropic_base_url,
                                          max_retries=0)

            async def streamed() -> None:
                async with an, an.messages.stream(model=ANTHROPIC_MODEL, max_tokens=200,
                                                  messages=_PROMPT) as stream:
                    await stream.get_final_message()

            tasks.append(streamed())
        await asyncio.gather(*tasks)

    @track_energy(name="concurrent_batch")
    async def concurrent_batch() -> None:
        await async_calls()

    asyncio.run(concurrent_batch())
    for c in clients:
        c.close()
    return done


def record_without_clients() -> None:
    """What an application without a supported client does: report each call's usage itself."""
    from tracker.recording._calls import record_usage
    from tracker.reduce._track import track_energy

    with track_energy("support_pipeline"):
        record_usage(OPENAI_MODEL, 10, 15, provider="openai")
        record_usage(OPENAI_MODEL, 10, 15, provider="openai", operation="chat")
    with track_energy("summarise_with_claude"):
        record_usage(ANTHROPIC_MODEL, 10, 13, provider="anthropic")


def _agent_run(server: DemoServer, out: TextIO, *, quiet: bool) -> None:
    """One agent run (a tool call, two model calls), then its span's roll-up under its calls."""
    from tracker.demo._agent import rollup_line, run_agent

    sums = run_agent(server.openai_base_url, DUMMY_KEY, OPENAI_MODEL)
    if sums is not None and not quiet:
        out.write(rollup_line(sums, U.energy(float(sums.get(A.ENERGY_KWH) or 0.0)),
                              U.carbon(float(sums.get(A.ENERGY_GCO2E) or 0.0))) + "\n")


def _summary(ledger: Path, out: TextIO) -> int:
    """The summary table (per model, human units) read back from the ledger.

    Under it, where each provider's calls were priced: region, hardware, engine, grid intensity.
    """
    from tracker.export._ledger_reader import Totals, parse_line
    from tracker.render._columns import human_columns

    rows: dict[tuple[str, str], Totals] = {}
    cached: dict[tuple[str, str], int] = {}
    where: dict[str, set[tuple[str, str, str, str]]] = {}
    lines = ledger.read_text(encoding="utf-8").splitlines() if ledger.exists() else []
    total = Totals()
    for line in lines:
        rec, _, row = parse_line(line.encode("utf-8"))  # the sums `report` takes, API price too
        provider = str(rec.get(A.GEN_AI_PROVIDER_NAME))
        key = (str(rec.get(A.GEN_AI_REQUEST_MODEL)), provider)
        rows.setdefault(key, Totals()).add(row)
        cached[key] = cached.get(key, 0) + int(rec.get(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0))
        total.add(row)
        where.setdefault(provider, set()).add(
            (str(rec.get(A.ENERGY_REGION)), str(rec.get(A.ENERGY_HARDWARE)),
             str(rec.get(A.ENERGY_ENGINE) or "-"),
             U.number(float(rec.get(A.ENERGY_GRID_GCO2E_PER_KWH) or 0.0))))
    ordered = sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    columns, cells, total_row = human_columns([t for _, t in ordered], total)
    # The tokens explain the rows (cached tokens cost less), so they stay longer than cost and
    # water; the provider is in the table under this one.
    columns.insert(2, Column("cached tok", "r"))
    columns = [Column(c.name, "r", priority=2) if "tok" in c.name else c for c in columns]
    body = []
    for ((model, provider), _), c in zip(ordered, cells, strict=True):
        body.append([model, provider, *c[:2], f"{cached[(model, provider)]:,}", *c[2:]])
    out.write("\n")
    out.flush()
    render_table([Column("model", min_width=16, wrap=True), Column("provider", priority=6),
                  *columns],
                 body, out=out, total=[U.TOTAL_LABEL, "", *total_row[:2],
                                       f"{sum(cached.values()):,}", *total_row[2:]])
    write_wrapped("\nwhere each provider's calls were priced (the model registry's "
                  "deployments):", out)
    render_table([Column("provider"), Column("region"), Column("hardware"),
                  Column("engine", priority=2), Column("grid gCO2e/kWh", "r")],
                 [[p, *w] for p in sorted(where) for w in sorted(where[p])], out=out)
    return len(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llm-energy demo", description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", help="write the ledger here (default: a temporary directory)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary table")
    parser.add_argument("--json", action="store_true",
                        help="print each call's raw per-request record (JSON) instead of a line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``llm-energy demo``; returns the process exit code."""
    args = _parser().parse_args(list(argv) if argv is not None else None)

    import tracker.setup._configure as config
    from tracker.instrumentation import _registry as instrumentation

    out = sys.stdout
    tmp = None
    if args.ledger:
        ledger = Path(args.ledger)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="llm-energy-demo-")
        ledger = Path(tmp.name) / "ledger.jsonl"
    requests_logger = logging.getLogger(A.REQUESTS_LOGGER)
    handler = _PrintHandler(out, raw=args.json)
    previous_level = requests_logger.level
    already = set(instrumentation.instrumented())
    try:
        with DemoServer() as server:
            # A real SDK tracer provider (exporting nowhere) so that records carry trace and
            # span ids, as they would in an application that has OpenTelemetry set up.
            from opentelemetry.sdk.trace import TracerProvider

            config.configure(ledger=str(ledger), instrument=True,
                             tracer_provider=TracerProvider())
            if not args.quiet:
                requests_logger.addHandler(handler)
                requests_logger.setLevel(logging.INFO)
                write_wrapped(f"demo server on {server.url}; each call as it is recorded:", out)
                if not args.json:
                    narrow = (output_width(out) or 80) < 80
                    out.write(_story("function", "model", "tokens in/out", "energy", "carbon",
                                     60 if narrow else None) + "\n")
                    out.write("  (* tokens estimated: the response reported none)\n")
            if not run_calls(server.openai_base_url, server.anthropic_base_url):
                write_wrapped("neither openai nor anthropic is installed (pip install "
                              "'.[openai,anthropic]' in a checkout); recording the same calls "
                              "with tracker.record_usage() instead", out)
                record_without_clients()
            _agent_run(server, out, quiet=args.quiet or args.json)
            run_provider_calls(server)
            config.shutdown()
        count = _summary(ledger, out)
        where = "a temporary file, removed" if tmp is not None else str(ledger)
        write_wrapped(f"\n{count} calls recorded; ledger: {where}", out)
        return 0 if count else 1
    finally:
        instrumentation.uninstrument(*(set(instrumentation.instrumented()) - already))
        requests_logger.removeHandler(handler)
        requests_logger.setLevel(previous_level)
        if tmp is not None:
            tmp.cleanup()
