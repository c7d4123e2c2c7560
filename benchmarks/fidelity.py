"""Score the energy methods against measured GPU energy (ML.ENERGY) on the calibration file.

Usage::

    python benchmarks/fidelity.py [CSV]

For each conversation and reasoning row (tasks lm-arena-chat, chat, gpqa) it asks the public
`tracker.estimate` for 1,000,000 output tokens with the row's params, precision, hardware,
accelerators and batch, GPU only (pue=1, host_overhead=0, input_tokens=0), and compares
`accelerator_kwh` as joules per output token with the measured figure. Printed: median
|log2(estimate / measured)| and the share within 2x, for the default method (`calibrated`), the
seed formula (`flops`) and EcoLogits' published regression on the same rows.

EcoLogits' regression (genai-impact/ecologits, ecologits/impacts/llm.py, the batch-aware model of
EcoLogits 0.9+): Wh per output token per GPU = ALPHA * exp(BETA * batch) * active_params_b + GAMMA
with ALPHA = 1.1665273170451914e-06, BETA = -0.011205921025579175, GAMMA = 4.052928146734005e-05,
multiplied by the number of GPUs (here the row's).
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import tracker  # noqa: E402
from tracker.model._specs import ModelSpec  # noqa: E402

DEFAULT_CSV = REPO.parent / "shared" / "calibration" / "measured_energy_calibration.csv"
TASKS = ("lm-arena-chat", "chat", "gpqa")
TOKENS = 1_000_000

ECOLOGITS_ALPHA = 1.1665273170451914e-06
ECOLOGITS_BETA = -0.011205921025579175
ECOLOGITS_GAMMA = 4.052928146734005e-05


def _estimate_fn() -> Callable[..., Any]:
    fn = getattr(tracker, "estimate", None)
    if fn is None:  # not re-exported yet: the module that defines it
        from tracker.model._estimate import estimate

        fn = estimate
    return fn  # type: ignore[no-any-return]


def load_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["task"] in TASKS]


def tracker_j_per_token(row: dict[str, str], method: str) -> float:
    spec = ModelSpec(
        name=row["model"], total_params_b=float(row["total_params_b"]),
        active_params_b=float(row["active_params_b"]), precision=row["precision"],  # type: ignore[arg-type]
    )
    est = _estimate_fn()(
        model=spec, output_tokens=TOKENS, input_tokens=0, hardware=row["gpu"],
        gpus=int(row["num_gpus"]), batch_size=float(row["avg_batch"]),
        precision=row["precision"], method=method, pue=1, host_overhead=0,
        carbon_intensity=0, price_usd_per_kwh=0,
    )
    return float(est.accelerator_kwh) * 3.6e6 / TOKENS


def ecologits_j_per_token(row: dict[str, str]) -> float:
    wh_per_gpu = (ECOLOGITS_ALPHA * math.exp(ECOLOGITS_BETA * float(row["avg_batch"]))
                  * float(row["active_params_b"]) + ECOLOGITS_GAMMA)
    return wh_per_gpu * 3600.0 * int(row["num_gpus"])


def summary(errs: Sequence[float]) -> str:
    a = [abs(e) for e in errs]
    within = sum(x <= 1.0 for x in a) / len(a)
    return (f"n={len(a):3d}  median |log2|={statistics.median(a):.3f}  "
            f"within 2x={100 * within:5.1f}%  median bias={statistics.median(errs):+.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV)
    args = ap.parse_args(argv)
    rows = load_rows(args.csv)
    methods: dict[str, Callable[[dict[str, str]], float]] = {
        "calibrated (default)": lambda r: tracker_j_per_token(r, "calibrated"),
        "flops (seed formula)": lambda r: tracker_j_per_token(r, "flops"),
        "EcoLogits regression": ecologits_j_per_token,
    }
    print(f"{len(rows)} rows ({', '.join(TASKS)}) from {args.csv}")
    for name, fn in methods.items():
        errs = [math.log2(fn(r) / float(r["joules_per_output_token"])) for r in rows]
        print(f"{name:22s} {summary(errs)}")
        if name.startswith("calibrated"):
            for key in ("gpu", "task"):
                groups: dict[str, list[float]] = defaultdict(list)
                for r, e in zip(rows, errs, strict=True):
                    groups[r[key]].append(e)
                for k, g in sorted(groups.items()):
                    print(f"    {key}={k:14s} {summary(g)}")
    print("quality bar (energy-model.md section 3): median <= 0.35 and >= 90 % within 2x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
