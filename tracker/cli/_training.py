"""`llm-energy estimate-training`: a training or fine-tuning run's energy, carbon and cost.

Takes what a model card states (parameters, tokens, hardware, PUE, accelerator-hours where
published) and prints `tracker.estimate_training()` as a table, or one JSON object with
``--json``. Bad input exits with status 2 and a message naming the field.
"""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import ValidationError

from tracker.exceptions import ConfigError
from tracker.model._specs import ModelSpec
from tracker.model._training import DEFAULT_MFU, MFU_RANGE, TrainingEstimate, estimate_training

__all__ = ["main"]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _flop(value: float) -> str:
    """A FLOP count as scaling-law papers write it: ``3.14e23``."""
    mantissa, _, exponent = f"{value:.3g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def _count(text: str) -> int:
    """A token count: ``300000000000``, ``300_000_000_000``, ``3e11``, ``300B``, ``15T``."""
    raw = text.strip().replace("_", "").replace(",", "")
    scale = _SUFFIXES.get(raw[-1:].lower(), 1.0)
    number = raw[:-1] if scale != 1.0 else raw
    try:
        value = float(number) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a count (e.g. 300000000000, 3e11, 300B, 15T)") from None
    if not value == value or value in (float("inf"), float("-inf")) or value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of tokens")
    return int(value)


def _kwh(value: float) -> str:
    if value >= 1e4:
        return f"{_fmt(value / 1e3)} MWh"
    return f"{_fmt(value)} kWh"


def _grams(value: float) -> str:
    if value >= 1e6:
        return f"{_fmt(value / 1e6)} tCO2e"
    if value >= 1e3:
        return f"{_fmt(value / 1e3)} kgCO2e"
    return f"{_fmt(value)} gCO2e"


def _print_table(e: TrainingEstimate) -> None:
    lora = f" ({e.trainable_fraction:.3%} trainable)" if e.method != "full" else ""
    print(f"{e.model}: {e.method} training{lora}, {e.training_tokens:,} tokens, "
          f"{_fmt(e.params_b)}B parameters (an estimate: no hardware counters are read)")
    hours_note = ("given" if e.accelerator_hours_given else
                  f"{_flop(e.flops)} FLOP at MFU {_fmt(e.mfu or 0.0)}; "
                  f"range {_fmt(e.accelerator_hours_min)} - {_fmt(e.accelerator_hours_max)}")
    rows = [
        ("energy", _kwh(e.energy_kwh),
         f"range {_kwh(e.energy_kwh_min)} - {_kwh(e.energy_kwh_max)} (facility)"),
        ("servers", _kwh(e.server_kwh), "accelerators + host, before PUE"),
        ("accelerators", _kwh(e.accelerator_kwh), "accelerators only"),
        ("accel-hours", _fmt(e.accelerator_hours), hours_note),
        ("carbon", _grams(e.gco2e), f"range {_grams(e.gco2e_min)} - {_grams(e.gco2e_max)}"),
        ("embodied", _grams(e.embodied_gco2e),
         f"range {_grams(e.embodied_gco2e_min)} - {_grams(e.embodied_gco2e_max)} "
         "(hardware manufacturing, not in carbon)"),
        ("total", _grams(e.total_gco2e), "carbon + embodied"),
        ("electricity", f"{_fmt(e.usd)} USD", "cost of the energy"),
        ("water", f"{_fmt(e.water_l)} L", "on-site cooling"),
    ]
    if e.wall_clock_hours is not None:
        rows.insert(4, ("wall clock", f"{_fmt(e.wall_clock_hours)} h", f"on {e.gpus} accelerators"))
    width = max(len(r[0]) for r in rows) + 2
    for label, value, note in rows:
        print(f"  {label:<{width}}{value:<16}{note}")
    print("\nfactors")
    factors = [
        ("hardware", f"{e.hardware}, {e.precision}, {_fmt(e.accelerator_power_w)} W each "
                     "under training load"),
        ("pue", f"{_fmt(e.pue)}, host overhead {_fmt(e.host_overhead)}"),
        ("region", e.region),
        ("grid", f"{_fmt(e.carbon_intensity)} gCO2e/kWh ({e.grid_source})"),
        ("price", f"{_fmt(e.price_usd_per_kwh)} USD/kWh"),
    ]
    for label, value in factors:
        print(f"  {label:<{width}}{value}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm-energy estimate-training",
        description="Estimate a training or fine-tuning run from model-card facts.")
    p.add_argument("--model", required=True,
                   help="registry name, or any name together with --params-b")
    p.add_argument("--params-b", type=float, help="parameters in billions (model not in registry)")
    p.add_argument("--active-params-b", type=float, help="active parameters (MoE), billions")
    p.add_argument("--tokens", type=_count, required=True,
                   help="training tokens: 300000000000, 3e11, 300B or 15T")
    p.add_argument("--hardware", help="accelerator (default h100): v100, a100-80gb, tpu-v4, ...")
    p.add_argument("--gpus", type=int, help="accelerators used (for the wall-clock time)")
    p.add_argument("--gpu-hours", type=float, help="published accelerator-hours (win over FLOPs)")
    p.add_argument("--mfu", type=float,
                   help=f"model FLOPs utilisation (default {DEFAULT_MFU}, "
                        f"range {MFU_RANGE[0]}-{MFU_RANGE[1]})")
    p.add_argument("--method", default="full", help="full (default), lora or qlora")
    p.add_argument("--trainable-fraction", type=float, help="lora/qlora trainable share (0-1]")
    p.add_argument("--precision", default="bf16", help="training precision (default bf16)")
    p.add_argument("--context-length", type=int, help="sequence length (attention term)")
    p.add_argument("--n-layers", type=int, help="transformer layers (attention term)")
    p.add_argument("--d-model", type=int, help="hidden size (attention term)")
    p.add_argument("--pue", type=float)
    p.add_argument("--host-overhead", type=float)
    p.add_argument("--region", help="gcp:us-central1, FR, ... (default world)")
    p.add_argument("--carbon-intensity", type=float, help="gCO2e/kWh, overrides the region's")
    p.add_argument("--price", type=float, help="USD/kWh, overrides the region's")
    p.add_argument("--wue", type=float, help="on-site water, L per IT kWh")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: list[str]) -> int:
    """Run ``llm-energy estimate-training``; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        model: str | ModelSpec = args.model
        if args.params_b is not None or args.active_params_b is not None:
            if args.params_b is None:
                raise ConfigError("params_b", "is required with --active-params-b")
            try:
                model = ModelSpec(name=args.model, total_params_b=args.params_b,
                                  active_params_b=args.active_params_b,
                                  source="command line (model card)")
            except (ConfigError, ValidationError) as exc:
                field = "active_params_b" if "active" in str(exc) else "params_b"
                raise ConfigError(field, "must be a positive number (active <= total)") from None
        est = estimate_training(
            model, args.tokens, hardware=args.hardware, gpus=args.gpus, mfu=args.mfu,
            gpu_hours=args.gpu_hours, method=args.method,
            trainable_fraction=args.trainable_fraction, precision=args.precision,
            context_length=args.context_length, n_layers=args.n_layers, d_model=args.d_model,
            pue=args.pue, host_overhead=args.host_overhead, region=args.region,
            carbon_intensity=args.carbon_intensity, price_usd_per_kwh=args.price, wue=args.wue,
        )
    except ConfigError as exc:
        print(f"llm-energy estimate-training: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(est.to_dict(), indent=1))
    else:
        _print_table(est)
    return 0
