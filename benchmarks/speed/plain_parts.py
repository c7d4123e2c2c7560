"""What each part of this SDK's own code costs on a plain (non-streamed) OpenAI call.

Instructions per part, counted by valgrind's callgrind: each part runs `--n` times in a block,
alternating with a block of as many empty loop steps for `--rounds` rounds, in one process in
which the tracker is configured and the openai client instrumented as in `overhead.py` (real SDK
providers behind batching processors, exporters that drop everything) and a few calls were made
first, so every cache is warm. The figure is the median over rounds of (part - empty) / n. These
are the rows of "Where ours goes" in docs/performance.md; what they leave out (the wrapper's
frames, the call's finishing and emitting steps) is what `overhead.py` measures above the floor
less their sum.

    python -m benchmarks.speed.plain_parts [--n 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.speed.overhead import (
    MODEL,
    _responses,
    _setup,
    alternate_blocks,
    callgrind_blocks,
    per_call,
)

PARTS = (
    "reading the usage block (one Usage)",
    "building one Usage",
    "the figures at three boundaries",
    "the attribute dictionary",
    "usage details and API price (and a copy of the attributes)",
    "the call's start",
    "provider name and server (client cache)",
    "request parameters",
    "raw response or stream?",
    "the energy counters",
    "the double-count mark",
    "the call-kind lookup",
    "the stream_usage check",
)


def _parts() -> dict[str, Callable[[], Any]]:
    """One callable per part, on the objects a benchmark call uses (after warm-up calls)."""
    import openai
    from openai.types.chat import ChatCompletion

    from integrations import _openai_usage
    from integrations import openai as integration
    from tracker._usage import Usage
    from tracker.export._call_attributes import add_reported, request_parameters
    from tracker.model import _registry
    from tracker.model._call_figures import call_figures
    from tracker.recording import _calls, _returned
    from tracker.recording._runtime import get_runtime

    toggle, _providers, runs = _setup("ours", hold=True)
    toggle.set(True)
    runs["plain sync"](3)
    response = ChatCompletion.model_validate(json.loads(_responses()[0]))
    client = openai.OpenAI(api_key="sk-bench", base_url="http://bench.invalid/v1")
    resource = client.chat.completions
    runtime = get_runtime()
    usage = _openai_usage.chat_usage(response)
    assert usage is not None
    provider, server = integration._client_info(resource)
    kind = ("chat", provider, MODEL, server, None)
    priced, static = runtime.plans[kind]
    pricer = priced.pricer
    n_in, n_out, model = usage.input_tokens or 0, usage.output_tokens or 0, usage.response_model
    attrs = static.attributes(call_figures(pricer, n_in, n_out, 0, pricer.carbon_intensity),
                              n_in, n_out, model, False)
    figures = call_figures(pricer, n_in, n_out, 0, pricer.carbon_intensity)
    kwargs = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    endpoint = integration._CHAT
    assert endpoint.prepare is not None
    prepare = endpoint.prepare
    metrics = runtime.telemetry._metrics

    def plan() -> Any:
        return runtime.plans.get(kind) if runtime.generation == _registry.generation() else None

    return dict(zip(PARTS, (
        lambda: _openai_usage.chat_usage(response),
        lambda: Usage(25, 50, model, False, None, None, None, "id", ("stop",), None, None),
        lambda: call_figures(pricer, n_in, n_out, 0, pricer.carbon_intensity),
        lambda: static.attributes(figures, n_in, n_out, model, False),
        lambda: add_reported(attrs.copy(), usage, False, priced.api, n_in, n_out),
        lambda: _calls._start(provider, "chat", MODEL, None, True, runtime),
        lambda: integration._client_info(resource),
        lambda: request_parameters(kwargs),
        lambda: endpoint.is_raw(response) or endpoint.is_stream(response),
        lambda: metrics.add(static.energy_row, 1e-6, 1e-3, 1e-7, 1e-5),
        lambda: _returned.mark_recorded(response),
        plan,
        lambda: prepare(kwargs),
    ), strict=True))


def oneshot(part: str, n: int, rounds: int) -> int:
    """Alternate blocks of `n` runs of `part` and `n` empty calls (for callgrind)."""
    sys.stdout = sys.stderr
    gc.disable()
    op = _parts()[part]

    alternate_blocks(op, n, rounds)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="runs per block (200)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--oneshot", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.oneshot:
        return oneshot(args.oneshot, args.n, args.rounds)
    if shutil.which("valgrind") is None:
        parser.error("needs valgrind (Debian: apt-get install valgrind)")
    print(f"instructions per part of a plain OpenAI call (callgrind; {args.rounds} rounds of "
          f"{args.n}; median over rounds):")
    for part in PARTS:
        counts = callgrind_blocks(
            [sys.executable, str(Path(__file__).resolve()), "--oneshot", part,
             "--n", str(args.n), "--rounds", str(args.rounds)], 2 * args.rounds, part)
        print(f"  {per_call(counts, args.rounds, args.n) / 1e3:6.1f} kI  {part}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
