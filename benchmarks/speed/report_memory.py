"""`llm-energy report` on a 1,000,000-line ledger: elapsed time, peak memory, exact totals.

Generates a ledger shaped like the tracker's (same keys as `tracker.telemetry` writes) in a
temporary directory, runs the report in a subprocess (``python -m tracker.report`` equivalent
through `tracker.report.main`), prints the elapsed time and the child's peak RSS
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``), and checks the totals against the sums
computed while writing. Exit status 1 if the peak is >= 200 MB or a total differs.

    python -m benchmarks.speed.report_memory [--lines N]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

LIMIT_MB = 200
MODELS = [f"model-{i}" for i in range(40)]
PROVIDERS = ["openai", "anthropic", "google", "local"]
FUNCTIONS = [f"fn_{i}" for i in range(25)] + [None]


def generate(path: Path, lines: int) -> dict[str, float]:
    rng = random.Random(1)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    # Running sums only: a forked child's peak RSS counts the parent's pages before exec.
    kwh = gco2e = usd = water = 0.0
    tokens_in = tokens_out = 0
    with path.open("w") as f:
        for i in range(lines):
            e = rng.uniform(1e-7, 1e-3)
            n_in, n_out = rng.randint(1, 4000), rng.randint(1, 1000)
            rec: dict[str, object] = {
                "timestamp": (start + timedelta(seconds=i * 30)).isoformat(),
                "event": "energy.request", "trace_id": f"{rng.getrandbits(128):032x}",
                "span_id": f"{rng.getrandbits(64):016x}", "function": rng.choice(FUNCTIONS),
                "labels": {"team": f"team-{i % 13}"}, "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": rng.choice(PROVIDERS),
                "gen_ai.request.model": rng.choice(MODELS), "energy.method": "calibrated",
                "energy.hardware": "h100", "energy.region": "world", "energy.pue": 1.2,
                "gen_ai.usage.input_tokens": n_in, "gen_ai.usage.output_tokens": n_out,
                "energy.kwh": e, "energy.gco2e": e * 458.3, "energy.usd": e * 0.15,
                "energy.water_l": e * 1.1, "energy.tokens_estimated": False,
            }
            tokens_in += n_in
            tokens_out += n_out
            kwh += e
            gco2e += e * 458.3
            usd += e * 0.15
            water += e * 1.1
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
    return {"calls": lines, "input_tokens": tokens_in, "output_tokens": tokens_out,
            "energy_kwh": kwh, "gco2e": gco2e, "usd": usd, "water_l": water}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--by", default="model")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "ledger.jsonl"
        t0 = time.perf_counter()
        expected = generate(ledger, args.lines)
        print(f"generated {args.lines:,} lines, {ledger.stat().st_size / 1e6:.0f} MB "
              f"in {time.perf_counter() - t0:.1f} s")
        code = ("import sys; from tracker.cli._report import main; "
                "sys.exit(main(sys.argv[1:]))")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code, str(ledger), "--by", args.by, "--json"],
                              capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    if proc.returncode != 0:
        print(proc.stderr)
        return 1
    doc = json.loads(proc.stdout)
    print(f"report --by {args.by}: {elapsed:.1f} s, {args.lines / elapsed:,.0f} lines/s, "
          f"peak RSS {peak_mb:.0f} MB (limit {LIMIT_MB} MB), {len(doc['groups'])} groups")
    ok = peak_mb < LIMIT_MB and doc["malformed"] == 0
    for key, want in expected.items():
        got = doc["total"][key]
        same = math.isclose(got, want, rel_tol=1e-9)
        ok &= same
        print(f"  {key:<14} report {got:<24.17g} sum of lines {want:<24.17g} "
              f"{'ok' if same else 'DIFFERENT'}")
    group_sum = math.fsum(g["energy_kwh"] for g in doc["groups"])
    ok &= math.isclose(group_sum, expected["energy_kwh"], rel_tol=1e-9)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
