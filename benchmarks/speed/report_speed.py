"""`llm-energy report` over a large ledger: wall time of the table, --json, and with progress.

Generates the ledger of `report_memory.py` (1,000,000 lines by default) once, then times, in a
fresh subprocess each, the best of ``--repeat`` runs (interleaved with the baseline's) of:

- ``report LEDGER --by model --json`` (machine output),
- ``report LEDGER --by model`` (the table, human units),
- the same with stderr on a pseudo-terminal, so that the progress indicator is drawn.

``--baseline FILE.py`` also times another implementation of the report module (for example the
previous release's ``tracker/cli/_report.py``) on the same ledger, for a before/after comparison.

    python -m benchmarks.speed.report_speed [--lines N] [--repeat N] [--baseline OLD_report.py]
"""

from __future__ import annotations

import argparse
import os
import pty
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.speed.report_memory import generate

RUN = ("import importlib.util, sys\n"
       "path = sys.argv[1]\n"
       "if path == '-':\n"
       "    from tracker.cli._report import main\n"
       "else:\n"
       "    spec = importlib.util.spec_from_file_location('baseline_report', path)\n"
       "    module = importlib.util.module_from_spec(spec)\n"
       "    sys.modules['baseline_report'] = module; spec.loader.exec_module(module)\n"
       "    main = module.main\n"
       "sys.exit(main(sys.argv[2:]))\n")


def timed(module: str, argv: list[str], *, tty: bool) -> float:
    cmd = [sys.executable, "-c", RUN, module, *argv]
    t0 = time.perf_counter()
    if tty:
        controller, terminal = pty.openpty()
        try:
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=terminal, check=False)
        finally:
            os.close(terminal)
            os.close(controller)
    else:
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"report failed ({proc.returncode}): {cmd}")
    return elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--baseline", help="another _report.py to time on the same ledger")
    args = p.parse_args()
    modules = [("current", "-")]
    if args.baseline:
        modules.append(("baseline", str(Path(args.baseline).resolve())))
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "ledger.jsonl"
        generate(ledger, args.lines)
        print(f"{args.lines:,} lines, {ledger.stat().st_size / 1e6:.0f} MB")
        cases = [("--json", [str(ledger), "--by", "model", "--json"], False),
                 ("table", [str(ledger), "--by", "model"], False),
                 ("table, progress on a tty", [str(ledger), "--by", "model"], True)]
        for label, argv, tty in cases:
            # Interleaved (current, baseline, current, ...): a shared machine's load drifts.
            best: dict[str, float] = {}
            for _ in range(args.repeat):
                for name, module in modules:
                    elapsed = timed(module, argv, tty=tty)
                    best[name] = min(best.get(name, elapsed), elapsed)
            for name, elapsed in best.items():
                print(f"  {name:<9} {label:<26} {elapsed:6.2f} s  "
                      f"({args.lines / elapsed:,.0f} lines/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
