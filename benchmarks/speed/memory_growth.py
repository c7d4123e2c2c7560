"""Resident memory across 100,000 tracked LLM calls in one process (must stay within 20 MB).

Real OpenTelemetry SDK providers with batching processors and exporters that drop everything, and a
periodic metric reader, as in production. The calls mix every path: `record_usage()` inside
`@track_energy` functions (a few distinct names and models, a per-call user attribute), calls
opened with `start_call()` and finished later, and OpenAI client calls (plain and streamed)
through the instrumented client on an ``httpx.MockTransport``. Resident memory (VmRSS) is read
after a warm-up (caches and export queues at their steady state) and at the end, each after a
full garbage collection.

    python -m benchmarks.speed.memory_growth [--calls 100000] [--client-calls 4000] [--limit-mb 20]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
import tracker  # noqa: E402
from benchmarks.speed.overhead import MODEL, _providers, _responses  # noqa: E402


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc; else peak RSS from resource)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--client-calls", type=int, default=4_000,
                        help="how many of the calls go through the instrumented OpenAI client")
    parser.add_argument("--limit-mb", type=float, default=20.0)
    args = parser.parse_args(argv)

    import httpx
    import openai

    providers = _providers()
    tracker.configure(**providers, ledger=None, instrument=False, labels={"service": "bench"})
    tracker.instrument("openai")
    plain_body, stream_body = _responses()

    def handler(request: httpx.Request) -> httpx.Response:
        if b'"stream":true' in request.content.replace(b" ", b""):
            return httpx.Response(200, content=stream_body,
                                  headers={"content-type": "text/event-stream"})
        return httpx.Response(200, content=plain_body, headers={"content-type": "application/json"})

    client = openai.OpenAI(api_key="sk-bench", base_url="http://bench.invalid/v1", max_retries=0,
                           http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    messages: Any = [{"role": "user", "content": "Say hello."}]
    models = ("gpt-4o-mini", "gpt-4o", "claude-3-haiku", "llama-3.1-8b", "a-model-nobody-knows")

    @tracker.track_energy
    def summarize(i: int) -> None:
        tracker.record_usage(models[i % len(models)], 500 + i % 97, 100 + i % 31,
                             provider="openai" if i % 2 else None, request_id=f"r-{i}")

    @tracker.track_energy(name="pipeline", labels={"team": "search"})
    def pipeline(i: int) -> None:
        call = tracker.start_call(provider="anthropic", request_model="claude-3-haiku")
        summarize(i)
        call.finish(input_tokens=40, output_tokens=i % 50)

    def client_call(i: int) -> None:
        if i % 2:
            client.chat.completions.create(model=MODEL, messages=messages)
        else:
            for _chunk in client.chat.completions.create(
                    model=MODEL, messages=messages, stream=True,
                    stream_options={"include_usage": True}):
                pass

    every = max(1, args.calls // max(1, args.client_calls))

    def run(start: int, stop: int) -> int:
        done = 0
        for i in range(start, stop):
            if i % every == 0:
                client_call(i)
                done += 1
            else:
                pipeline(i)  # two tracked calls (start_call + record_usage)
                done += 2
            if done >= stop - start:
                break
        return done

    started = time.perf_counter()
    warm = run(0, 2_000)
    gc.collect()
    before = rss_mb()
    done = run(2_000, 2_000 + args.calls)
    for provider in providers.values():
        provider.force_flush()
    gc.collect()
    after = rss_mb()
    growth = after - before
    ok = growth <= args.limit_mb
    print(f"{warm} warm-up calls, then {done} tracked calls "
          f"({args.client_calls} through the OpenAI client, half streamed) in "
          f"{time.perf_counter() - started:.0f} s")
    print(f"resident memory: {before:.1f} MB after warm-up, {after:.1f} MB after "
          f"{done} calls: {growth:+.1f} MB (limit {args.limit_mb:g} MB): "
          f"{'within' if ok else 'OVER'}")
    tracker.reset()
    for provider in providers.values():
        provider.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
