"""Threads and asyncio tasks never mix totals; the ledger holds exactly one line per call."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import tracker
from tracker import _attributes as A

MODELS = ("llama-3.1-8b", "gpt-4o", "qwen3-30b-a3b")


def _expected(estimates: list[Any]) -> tuple[float, float, float, int, int]:
    kwh = gco2e = usd = 0.0
    n_in = n_out = 0
    for e in estimates:  # same order as the scope adds them: exact float equality
        kwh += e.energy_kwh
        gco2e += e.gco2e
        usd += e.usd
        n_in += e.input_tokens
        n_out += e.output_tokens
    return kwh, gco2e, usd, n_in, n_out


def _ledger(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_32_threads_x_100_calls(configure_tracker: Any, tmp_path: Path) -> None:
    path = tmp_path / "threads.jsonl"
    otel = configure_tracker(ledger=str(path))
    results: dict[int, tuple[Any, list[Any]]] = {}
    barrier = threading.Barrier(32)

    def worker(i: int) -> None:
        barrier.wait()
        estimates = []
        with tracker.track_energy(f"thread-{i}") as scope:
            for j in range(100):
                est = tracker.record_usage(MODELS[(i + j) % 3], i + j, 2 * j + 1)
                estimates.append(est)
        results[i] = (scope, estimates)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 32
    for scope, estimates in results.values():
        assert None not in estimates
        kwh, gco2e, usd, n_in, n_out = _expected(estimates)
        assert scope.calls == 100
        assert (scope.energy_kwh, scope.gco2e, scope.usd) == (kwh, gco2e, usd)
        assert (scope.input_tokens, scope.output_tokens) == (n_in, n_out)
    tracker.shutdown()
    records = _ledger(path)
    assert len(records) == 3200
    assert Counter(r["function"] for r in records) == {f"thread-{i}": 100 for i in range(32)}
    assert len({r["span_id"] for r in records}) == 3200
    assert otel.metric_sum(A.METRIC_CONSUMPTION) > 0


def test_2000_asyncio_tasks_x_3_calls(configure_tracker: Any, tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    configure_tracker(ledger=str(path))

    async def task(i: int) -> tuple[Any, list[Any]]:
        estimates = []
        async with tracker.track_energy(f"task-{i}") as scope:
            for j in range(3):
                estimates.append(tracker.record_usage(MODELS[j], i % 97 + j, i % 89 + 1))
                await asyncio.sleep(0)
        return scope, estimates

    async def main() -> list[tuple[Any, list[Any]]]:
        return await asyncio.gather(*(task(i) for i in range(2000)))

    results = asyncio.run(main())
    for scope, estimates in results:
        kwh, gco2e, usd, n_in, n_out = _expected(estimates)
        assert scope.calls == 3
        assert (scope.energy_kwh, scope.gco2e, scope.usd) == (kwh, gco2e, usd)
        assert (scope.input_tokens, scope.output_tokens) == (n_in, n_out)
    tracker.shutdown()
    records = _ledger(path)
    assert len(records) == 6000
    assert set(Counter(r["function"] for r in records).values()) == {3}


def test_parallel_decorated_coroutines_roll_up_to_their_own_parent(configured: Any) -> None:
    @tracker.track_energy
    async def leaf(n: int) -> None:
        await asyncio.sleep(0)
        tracker.record_usage("gpt-4o", n, n)

    async def parent(i: int) -> Any:
        async with tracker.track_energy(f"parent-{i}") as scope:
            await asyncio.gather(leaf(i + 1), leaf(i + 2))
        return scope

    async def main() -> list[Any]:
        return await asyncio.gather(*(parent(i) for i in range(50)))

    for i, scope in enumerate(asyncio.run(main())):
        assert scope.calls == 2 and scope.input_tokens == 2 * i + 3
