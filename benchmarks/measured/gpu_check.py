"""The measured path on a real GPU: the sampler against the counter, the split, the check table.

Run on a machine with an NVIDIA GPU (H100 or H200) and the ``measure-check`` extra installed
(torch, transformers, nvidia-ml-py)::

    python -m benchmarks.measured.gpu_check [--gpu 0] [--out results.json] [--quick]

1. Sampler vs counter: `Meter` (the sampler on its own thread, 20 ms, and the online
   attribution) runs through rounds of in-process requests with idle gaps between them; the
   sampler's total over the run must match the difference of the GPU's energy counter read
   directly before and after, within 1 %.
2. Split: the per-request energies the meter returned, plus the idle energy, must sum to the
   measured total (to 1e-6 relative); the offline `split()` of the same intervals likewise.
3. The check mode's table: measured vs estimated (calibrated) accelerator J per output token for
   a 1B- and an 8B-shaped model (random weights) at batch 1, 16 and 64.

Exit status 0 when checks 1 and 2 pass, 1 when one fails, 2 when the machine cannot run it.
Nothing is downloaded; a few minutes on an H100.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from dataclasses import asdict
from typing import Any

from tracker.measure import MEASURED, Meter, RequestSpan, _check, split

SHAPES = ("llama-1b", "llama-8b")
BATCHES = (1, 16, 64)


def _counter_j(nvml: Any, handle: Any) -> float:
    return float(nvml.nvmlDeviceGetTotalEnergyConsumption(handle)) / 1000


def sampler_and_split(gpu: int, rounds: int) -> dict[str, Any]:
    """Checks 1 and 2 on a 1B-shaped model: rounds of requests with idle gaps between them."""
    torch = importlib.import_module("torch")
    nvml = importlib.import_module("pynvml")
    nvml.nvmlInit()
    handle = nvml.nvmlDeviceGetHandleByIndex(gpu)
    torch.cuda.set_device(gpu)
    fields = _check.load_shape("llama-1b")
    net = _check._build(torch, fields)
    spans: list[RequestSpan] = []
    intervals: list[tuple[float, float, float | None]] = []
    results: dict[int, Any] = {}
    c0 = _counter_j(nvml, handle)
    meter = Meter((gpu,), interval_s=0.02)
    if meter.status != "measuring":
        raise RuntimeError(meter.status)
    add = meter.sampler._sink
    assert add is not None

    def record(t0: float, t1: float, joules: float | None, reason: str | None) -> None:
        intervals.append((t0, t1, joules))
        add(t0, t1, joules, reason)

    meter.sampler._sink = record
    rid = 0
    with torch.inference_mode():
        for r in range(rounds):
            batch, n_in, n_out = (4, 8, 16)[r % 3], (128, 512, 1024)[r % 3], (64, 128, 32)[r % 3]
            ids = torch.randint(0, int(fields["vocab_size"]), (batch, n_in), device="cuda")
            started = []
            for _ in range(batch):
                meter.begin(rid)
                started.append((rid, meter.clock()))
                rid += 1
            net.generate(ids, max_new_tokens=n_out, min_new_tokens=n_out, do_sample=False,
                         pad_token_id=0)
            torch.cuda.synchronize()
            for request_id, start in started:
                end = meter.clock()
                results[request_id] = meter.end(request_id, n_in, n_out)
                spans.append(RequestSpan(request_id, start, end, n_in, n_out))
            time.sleep(0.5)  # idle between rounds
    meter.sampler.sample_now()
    meter.close()
    c1 = _counter_j(nvml, handle)
    totals = meter.attribution.snapshot()
    per_request = sum(m.joules or 0.0 for m in results.values())
    statuses = sorted({m.status for m in results.values()})
    offline, offline_idle = split([(a, b, j or 0.0) for a, b, j in intervals], spans)
    sampler_j, counter_j = meter.sampler.total_joules, c1 - c0
    return {
        "requests": len(results), "statuses": statuses,
        "sampler_j": sampler_j, "counter_j": counter_j,
        "sampler_vs_counter": abs(sampler_j - counter_j) / counter_j if counter_j else None,
        "per_request_j": per_request, "idle_j": totals["idle"],
        "unattributed_j": totals["unattributed"], "pending_j": totals["pending"],
        "online_split_error": abs(per_request + totals["idle"] - totals["total"])
        / max(totals["total"], 1e-12),
        "offline_split_error": abs(sum(offline.values()) + offline_idle - sampler_j)
        / max(sampler_j, 1e-12),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gpu", type=int, default=0)
    p.add_argument("--out", help="write every figure as JSON here")
    p.add_argument("--quick", action="store_true", help="fewer rounds, 1B table only")
    args = p.parse_args(argv)
    missing = _check.missing_dependencies()
    if missing:
        print(f"needs {', '.join(missing)} (pip install -e '.[measure-check]')", file=sys.stderr)
        return 2
    report: dict[str, Any] = {}
    try:
        check = sampler_and_split(args.gpu, rounds=3 if args.quick else 9)
    except RuntimeError as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    report["sampler_and_split"] = check
    ok_counter = check["sampler_vs_counter"] is not None and check["sampler_vs_counter"] < 0.01
    ok_split = (check["online_split_error"] < 1e-6 and check["offline_split_error"] < 1e-6
                and check["statuses"] == [MEASURED] and check["unattributed_j"] == 0)
    print(f"1. sampler {check['sampler_j']:.1f} J vs counter {check['counter_j']:.1f} J: "
          f"{100 * (check['sampler_vs_counter'] or 0):.3f} % "
          f"{'PASS' if ok_counter else 'FAIL'} (< 1 %)")
    print(f"2. {check['requests']} requests: {check['per_request_j']:.1f} J + idle "
          f"{check['idle_j']:.1f} J = total; online error {check['online_split_error']:.2e}, "
          f"offline {check['offline_split_error']:.2e}, statuses {check['statuses']}: "
          f"{'PASS' if ok_split else 'FAIL'}")
    table: list[dict[str, Any]] = []
    print("\n3. | model | batch | measured J/token | estimated J/token | measured/estimated |")
    print("   |---|---|---|---|---|")
    for shape in SHAPES[:1] if args.quick else SHAPES:
        try:
            header, rows = _check.run_check(shape, BATCHES, input_tokens=512,
                                            output_tokens=256, gpu=args.gpu, hardware=None)
        except Exception as exc:  # out of memory at batch 64, say: reported, the rest goes on
            print(f"   {shape}: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        print(f"   ({header})")
        for row in rows:
            m, e = row.measured_j_per_token, row.estimated_j_per_token
            ratio = f"{m / e:.2f}" if m is not None else "-"
            print(f"   | {shape} | {row.batch} | {m if m is None else f'{m:.3g}'} | {e:.3g} | "
                  f"{ratio} |")
            table.append({"model": shape, "header": header, **asdict(row)})
    report["table"] = table
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0 if ok_counter and ok_split else 1


if __name__ == "__main__":
    sys.exit(main())
