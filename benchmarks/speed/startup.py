"""Start-up: what ``import tracker; tracker.configure()`` costs, against the OpenTelemetry SDK.

The reference is importing the OpenTelemetry SDK and building its three providers
(``TracerProvider()``, ``MeterProvider()``, ``LoggerProvider()``): what any application that
emits OpenTelemetry pays at start-up. Both are timed in fresh interpreters (nothing cached in
``sys.modules``), alternately, `--runs` times each; the figures are the medians of the time
from the first import to the end of the last statement (the interpreter's own start-up, common to
both, is left out). Run it in an environment with every extra installed: `configure()` must not
import the client libraries installed next to it (they are patched when the application imports
them), so their number must not change its cost. Prints the modules each imported, too.

    python -m benchmarks.speed.startup [--runs N]

Target: tracker at most 1.5x the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_RATIO = 1.5

_TIMED = textwrap.dedent("""
    import json, sys, time
    before = set(sys.modules)
    t0 = time.perf_counter()
    {code}
    elapsed = time.perf_counter() - t0
    print(json.dumps([elapsed, len(set(sys.modules) - before)]))
""")

CASES = {
    "otel_sdk": ("from opentelemetry.sdk.trace import TracerProvider\n"
                 "from opentelemetry.sdk.metrics import MeterProvider\n"
                 "from opentelemetry.sdk._logs import LoggerProvider\n"
                 "TracerProvider(); MeterProvider(); LoggerProvider()"),
    "tracker": "import tracker\ntracker.configure()",
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "OTEL_"))}
    # The warm-up run writes the bytecode caches an installed package has (pip compiles on
    # install, and the OpenTelemetry SDK's are there): without them every run would compile the
    # tracker's sources, a cost no application pays twice.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run_once(case: str, cwd: str) -> tuple[float, int]:
    """(seconds, modules imported) of one fresh interpreter running `case`."""
    code = _TIMED.replace("{code}", CASES[case])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(), cwd=cwd, timeout=120, check=True)
    elapsed, modules = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(elapsed), int(modules)


def measure(runs: int) -> dict[str, tuple[float, int]]:
    """Median seconds and module count per case, the cases run alternately."""
    times: dict[str, list[float]] = {case: [] for case in CASES}
    modules: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as cwd:  # the default ledger, if any, lands here
        for case in CASES:  # warm the file system and bytecode caches once
            run_once(case, cwd)
        for _ in range(runs):
            for case in CASES:
                elapsed, modules[case] = run_once(case, cwd)
                times[case].append(elapsed)
    return {case: (statistics.median(times[case]), modules[case]) for case in CASES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per case")
    args = parser.parse_args(argv)
    results = measure(args.runs)
    ref, ref_modules = results["otel_sdk"]
    ours, our_modules = results["tracker"]
    print(f"start-up, median of {args.runs} fresh interpreters each (Python "
          f"{sys.version.split()[0]})")
    print(f"  OpenTelemetry SDK, three providers : {ref * 1e3:8.1f} ms  {ref_modules:4d} modules")
    print(f"  import tracker; configure()        : {ours * 1e3:8.1f} ms  {our_modules:4d} modules")
    ratio = ours / ref
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"  ratio                              : {ratio:8.2f}x  ({verdict} the "
          f"{TARGET_RATIO}x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
