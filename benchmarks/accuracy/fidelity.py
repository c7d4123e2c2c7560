"""Score the energy model against every measured source in benchmarks/data/.

Usage::

    python -m benchmarks.accuracy.fidelity [--no-cv]

Each measured row is priced through the public ``tracker.estimate`` with the row's structural
facts only (params, precision, accelerator, accelerators per replica, batch, token lengths,
engine, power limit), at the row's boundary:

- ML.ENERGY (conversation and reasoning rows, vLLM): accelerator energy, ``pue=1``;
- MLPerf Inference power (distinct greedy-decoding runs, TensorRT-LLM): server energy at the
  wall, ``pue=1``.

Printed per source, by hardware and engine: median |log2(estimate / measured)|, the share within
2x and the median bias, for the default method (``calibrated``, the shipped coefficients), the
seed formula (``flops``) and EcoLogits' published regression. Then the checks that the model
generalises: fitted on one source alone and scored on the other (both ways), and
leave-one-model-out on each source (``benchmarks/accuracy/calibrate.py`` refits without the model).

EcoLogits' regression (genai-impact/ecologits, ecologits/impacts/llm.py, the batch-aware model
of EcoLogits 0.9+): Wh per output token per GPU = ALPHA * exp(BETA * batch) * active_params_b +
GAMMA with ALPHA = 1.1665273170451914e-06, BETA = -0.011205921025579175, GAMMA =
4.052928146734005e-05, times the row's GPU count. It is a GPU-energy regression: on MLPerf it is
compared with the wall figure as it is (no host term), which favours it.
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.accuracy import calibrate
from tracker.model._estimate import estimate
from tracker.model._specs import ModelSpec

ECOLOGITS_ALPHA = 1.1665273170451914e-06
ECOLOGITS_BETA = -0.011205921025579175
ECOLOGITS_GAMMA = 4.052928146734005e-05

#: The quality bars (docs/energy-model.md): (median |log2| at most, share within 2x at least).
BARS = {"ml.energy": (0.35, 0.90), "mlperf": (0.35, 0.85)}
CROSS_BAR = 0.6
LOMO_BAR = 0.45


def _row_dicts(rows: calibrate.Rows) -> list[dict[str, Any]]:
    c = rows.cols
    out = []
    for i in range(len(rows)):
        out.append({
            "model": rows.model[i], "engine": rows.engine[i], "gpu": rows.gpu[i],
            "active": float(c["active"][i]), "total": float(c["total"][i]),
            "precision": _precision(float(c["bpp"][i])), "gpus": int(c["gpus"][i]),
            "batch": float(c["batch"][i]), "prompt": float(c["prompt"][i]),
            "output": float(c["output"][i]), "limit": float(c["limit"][i]),
            "tdp": float(c["tdp_w"][i]), "measured": float(rows.measured[i]),
            "boundary": rows.boundary,
        })
    return out


def _precision(bpp: float) -> str:
    return {2.0: "bf16", 1.0: "fp8", 0.5: "fp4", 0.53125: "mxfp4", 4.0: "fp32"}[bpp]


def tracker_j_per_token(row: dict[str, Any], method: str = "calibrated") -> float:
    """Joules per output token from the public estimate() at the row's boundary."""
    spec = ModelSpec(name=row["model"], total_params_b=row["total"],
                     active_params_b=row["active"], precision=row["precision"])
    out = max(1, round(row["output"]))
    est = estimate(
        spec, output_tokens=out, input_tokens=round(row["prompt"]), hardware=row["gpu"],
        gpus=row["gpus"], batch_size=row["batch"], precision=row["precision"], method=method,
        engine=row["engine"], pue=1, fleet_idle=0, carbon_intensity=0, price_usd_per_kwh=0,
        power_limit_w=row["limit"] if row["limit"] < row["tdp"] else None,
    )
    kwh = est.accelerator_kwh if row["boundary"] == "accelerator" else est.server_kwh
    return float(kwh) * 3.6e6 / out


def ecologits_j_per_token(row: dict[str, Any]) -> float:
    """EcoLogits' batch-aware regression, GPU energy per output token."""
    wh_per_gpu = (ECOLOGITS_ALPHA * math.exp(ECOLOGITS_BETA * row["batch"]) * row["active"]
                  + ECOLOGITS_GAMMA)
    return wh_per_gpu * 3600.0 * row["gpus"]


def summary(errs: Sequence[float]) -> str:
    """One line of scores."""
    s = calibrate.score(list(errs))
    return (f"n={s['n']:3d}  median |log2|={s['median_abs_log2']:.3f}  "
            f"within 2x={100 * s['within_2x']:5.1f}%  median bias={s['median_log2_bias']:+.3f}")


def score_source(rows: calibrate.Rows) -> dict[str, list[float]]:
    """log2 errors of each method on one source."""
    dicts = _row_dicts(rows)
    methods: dict[str, Callable[[dict[str, Any]], float]] = {
        "calibrated (default)": tracker_j_per_token,
        "flops (seed formula)": lambda r: tracker_j_per_token(r, "flops"),
        "EcoLogits regression": ecologits_j_per_token,
    }
    return {name: [math.log2(fn(r) / r["measured"]) for r in dicts]
            for name, fn in methods.items()}


def generalisation(ml: calibrate.Rows, mp: calibrate.Rows, cv: bool) -> dict[str, Any]:
    """Cross-source and leave-one-model-out scores (refits with `benchmarks.accuracy.calibrate`)."""
    out: dict[str, Any] = {}
    c1, e1 = calibrate.fit([ml])
    c2, e2 = calibrate.fit([mp])
    out["fit ML.ENERGY, score MLPerf"] = calibrate.score(calibrate.errors(c1, e1, mp))
    out["fit MLPerf, score ML.ENERGY"] = calibrate.score(calibrate.errors(c2, e2, ml))
    if cv:
        out["leave-one-model-out ML.ENERGY"] = calibrate.score(calibrate.lomo(ml, [mp]))
        out["leave-one-model-out MLPerf"] = calibrate.score(calibrate.lomo(mp, [ml]))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Print every score and whether each quality bar holds."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--no-cv", action="store_true", help="skip leave-one-model-out")
    args = ap.parse_args(argv)
    ml, mp = calibrate.load_ml_energy(), calibrate.load_mlperf()
    ok = True
    for rows, title in ((ml, "ML.ENERGY (vLLM), accelerator energy"),
                        (mp, "MLPerf Inference power (TensorRT-LLM), server energy at the wall")):
        print(f"\n{title}: {len(rows)} rows")
        for name, errs in score_source(rows).items():
            print(f"  {name:22s} {summary(errs)}")
            if name.startswith("calibrated"):
                for key, labels in (("hardware", rows.gpu), ("engine", rows.engine)):
                    groups: dict[str, list[float]] = defaultdict(list)
                    for lab, e in zip(labels, errs, strict=True):
                        groups[lab].append(e)
                    for k, g in sorted(groups.items()):
                        print(f"      {key}={k:14s} {summary(g)}")
                s = calibrate.score(errs)
                med, within = BARS[rows.source]
                passed = s["median_abs_log2"] <= med and s["within_2x"] >= within
                ok &= passed
                print(f"      bar: median <= {med} and >= {100 * within:.0f} % within 2x: "
                      f"{'PASS' if passed else 'FAIL'}")
    print("\nGeneralisation (refitted on part of the data, scored on the rest):")
    for name, s in generalisation(ml, mp, not args.no_cv).items():
        bar = CROSS_BAR if name.startswith("fit") else LOMO_BAR
        passed = s["median_abs_log2"] <= bar
        ok &= passed
        print(f"  {name:32s} median |log2|={s['median_abs_log2']:.3f}  "
              f"within 2x={100 * s['within_2x']:5.1f}%  bias={s['median_log2_bias']:+.3f}  "
              f"(bar <= {bar}: {'PASS' if passed else 'FAIL'})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
