"""`llm-energy price` at scale: ratios against a bare DuckDB scan of the same file, in one run.

Generates, in a temporary directory, a ledger of ``--lines`` lines (the shape of
`report_memory.py`: 40 models, 4 providers) and a LiteLLM spend log of as many per-request rows
(40 registry models, varied lengths), then times the best of ``--repeat`` runs of:

- the bare scan: DuckDB ``read_json`` + ``GROUP BY`` model of the same columns (the reference);
- ``price_usage(ledger, by="model")``: report-shaped totals, the recorded figures (target <= 2x);
- ``price_usage(spend_log, by="model")``: every row priced by today's model (target <= 5x);
- the same two on the Python engine, for scale (``--python``; slow).

    python -m benchmarks.speed.footprint_scale [--lines N] [--repeat N] [--threads N] [--python]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.speed.report_memory import generate as generate_ledger

SPEND_PROVIDERS = ("openai", "anthropic", "bedrock", "vertex_ai")
#: LiteLLM stores the hash of each virtual key: a few dozen keys, not one per request.
KEYS = [f"{random.Random(k).getrandbits(256):064x}" for k in range(30)]


def registry_models(count: int) -> list[str]:
    from tracker.model._registry import get_registry

    names = sorted(m.name for m in get_registry().models())
    step = max(1, len(names) // count)
    return names[::step][:count]


def generate_spend(path: Path, lines: int) -> None:
    rng = random.Random(2)
    models = registry_models(40)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with path.open("w") as f:
        for i in range(lines):
            n_in = int(rng.lognormvariate(7.0, 1.2)) + 1  # median about 1,100, long tail
            n_out = int(rng.lognormvariate(5.0, 1.0)) + 1
            f.write(json.dumps({
                "request_id": f"chatcmpl-{i:012d}", "call_type": "acompletion",
                "api_key": KEYS[i % len(KEYS)], "spend": 0.0001,
                "total_tokens": n_in + n_out, "prompt_tokens": n_in, "completion_tokens": n_out,
                "startTime": (start + timedelta(seconds=i * 30)).strftime(
                    "%Y-%m-%dT%H:%M:%S.%f"),
                "endTime": (start + timedelta(seconds=i * 30 + 2)).strftime(
                    "%Y-%m-%dT%H:%M:%S.%f"),
                "model": rng.choice(models), "custom_llm_provider": rng.choice(SPEND_PROVIDERS),
                "api_base": "", "user": f"user-{i % 50}", "metadata": {}, "cache_hit": "False",
                "cache_key": "", "request_tags": [], "team_id": f"team-{i % 7}", "end_user": "",
                "status": "success"}, separators=(",", ":")) + "\n")


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bare(path: Path, model: str, numbers: list[str], threads: int | None) -> Callable[[], Any]:
    import duckdb

    def run() -> Any:
        con = duckdb.connect()
        if threads:
            con.execute(f"SET threads = {threads}")
        cols = {model: "VARCHAR", **dict.fromkeys(numbers, "DOUBLE")}
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"
        sums = ", ".join(f'sum("{n}")' for n in numbers)
        out = con.execute(f"SELECT \"{model}\", count(*), {sums} FROM read_json('{path}', "
                          f"format = 'newline_delimited', columns = {spec}) GROUP BY 1"
                          ).fetchall()
        con.close()
        return out
    return run


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, help="DuckDB threads for both sides (default: all)")
    p.add_argument("--python", action="store_true", help="also time the Python engine")
    args = p.parse_args()
    from tracker.footprint import _duck, price_usage

    if args.threads:  # the engine's own connection, the same threads as the bare scan
        connect = _duck._connect
        _duck._connect = lambda threads: connect(args.threads)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        ledger, spend = Path(tmp) / "ledger.jsonl", Path(tmp) / "spend.jsonl"
        generate_ledger(ledger, args.lines)
        generate_spend(spend, args.lines)
        print(f"{args.lines:,} lines: ledger {ledger.stat().st_size / 1e6:.0f} MB, "
              f"spend log {spend.stat().st_size / 1e6:.0f} MB")
        ledger_cols = ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "energy.kwh",
                       "energy.gco2e", "energy.usd", "energy.water_l"]
        cases = [
            ("ledger, report-shaped (recorded figures)", 2.0,
             bare(ledger, "gen_ai.request.model", ledger_cols, args.threads),
             lambda: price_usage(str(ledger), engine="duckdb", by="model"),
             lambda: price_usage(str(ledger), engine="python", by="model")),
            ("spend log, every row priced (--reprice shape)", 5.0,
             bare(spend, "model", ["prompt_tokens", "completion_tokens"], args.threads),
             lambda: price_usage(str(spend), engine="duckdb", by="model", reprice=True),
             lambda: price_usage(str(spend), engine="python", by="model", reprice=True)),
        ]
        for label, target, reference, engine, python in cases:
            t_ref = best(reference, args.repeat)
            t_eng = best(engine, args.repeat)
            ratio = t_eng / t_ref
            verdict = "meets" if ratio <= target else "MISSES"
            print(f"{label}: bare scan {t_ref:.2f} s, duckdb engine {t_eng:.2f} s, "
                  f"ratio {ratio:.2f}x ({verdict} the {target:g}x target)")
            if args.python:
                t_py = best(python, 1)
                print(f"    python engine {t_py:.1f} s ({t_py / t_ref:.0f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
