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

from tracker.cli._args import token_count
from tracker.exceptions import ConfigError, UnknownModelError
from tracker.model._specs import ModelSpec
from tracker.model._training import DEFAULT_MFU, MFU_RANGE, TrainingEstimate, estimate_training
from tracker.render import _units as U
from tracker.render._tables import Column, render_table, write_wrapped

__all__ = ["main"]


def _flop(value: float) -> str:
    """A FLOP count as scaling-law papers write it: ``3.14e23``."""
    mantissa, _, exponent = f"{value:.3g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def _kwh(value: float, unit: tuple[float, str] | None = None) -> str:
    return U.energy(value, unit)


def _print_table(e: TrainingEstimate) -> None:
    lora = f" ({e.trainable_fraction:.3%} trainable)" if e.method != "full" else ""
    write_wrapped(f"{e.model}: {e.method} training{lora}, {e.training_tokens:,} tokens, "
                  f"{U.number(e.params_b)}B parameters (an estimate: no hardware counters are "
                  "read)", indent="  ")
    hours_note = ("given" if e.accelerator_hours_given else
                  f"{_flop(e.flops)} FLOP at MFU {U.number(e.mfu or 0.0)}; range "
                  f"{U.number(e.accelerator_hours_min)} - {U.number(e.accelerator_hours_max)}")
    e_unit = U.ENERGY.for_values((e.energy_kwh, e.energy_kwh_max))
    c_unit = U.CARBON.for_values((e.gco2e, e.gco2e_max))
    b_unit = U.CARBON.for_values((e.embodied_gco2e, e.embodied_gco2e_max))
    rows = [
        ["energy", U.energy(e.energy_kwh, e_unit),
         f"range {U.energy(e.energy_kwh_min, e_unit)} - {U.energy(e.energy_kwh_max, e_unit)} "
         "(facility)"],
        ["servers", U.energy(e.server_kwh), "accelerators + host, before PUE"],
        ["accelerators", U.energy(e.accelerator_kwh), "accelerators only"],
        ["accel-hours", U.number(e.accelerator_hours), hours_note],
        ["carbon", U.carbon(e.gco2e, c_unit),
         f"range {U.carbon(e.gco2e_min, c_unit)} - {U.carbon(e.gco2e_max, c_unit)}"],
        ["embodied", U.carbon(e.embodied_gco2e, b_unit),
         f"range {U.carbon(e.embodied_gco2e_min, b_unit)} - "
         f"{U.carbon(e.embodied_gco2e_max, b_unit)} (hardware manufacturing, not in carbon)"],
        [U.TOTAL_LABEL, U.carbon(e.total_gco2e), "carbon + embodied"],
        ["electricity", U.money(e.usd), "cost of the energy"],
        ["water", U.water(e.water_l), "on-site cooling"],
    ]
    if e.wall_clock_hours is not None:
        rows.insert(4, ["wall clock", U.duration(e.wall_clock_hours * 3600),
                        f"on {e.gpus} accelerators"])
    render_table([Column("", min_width=12), Column("", "r"), Column("", min_width=16)], rows,
                 header=False)
    print("\nfactors")
    factors = [
        ["hardware", f"{e.hardware}, {e.precision}, {U.number(e.accelerator_power_w)} W each "
                     "under training load"],
        ["pue", f"{U.number(e.pue)}, host overhead {U.number(e.host_overhead)}"],
        ["region", e.region],
        ["grid", f"{U.per_kwh(e.carbon_intensity, 'gCO2e')} ({e.grid_source})"],
        ["price", U.per_kwh(e.price_usd_per_kwh, "$")],
    ]
    render_table([Column("", min_width=12), Column("", min_width=16)], factors, header=False)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm-energy estimate-training",
        description="Estimate a training or fine-tuning run from model-card facts.")
    p.add_argument("--model", required=True,
                   help="registry name, or any name together with --params-b")
    p.add_argument("--params-b", type=float, help="parameters in billions (model not in registry)")
    p.add_argument("--active-params-b", type=float, help="active parameters (MoE), billions")
    p.add_argument("--tokens", type=token_count, required=True,
                   help="training tokens: 300000000000, 300_000_000_000, 3e11, 300B or 15T")
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
    except UnknownModelError as exc:
        print(f"llm-energy estimate-training: error: {exc}; for a model not in the registry, "
              "give its size: --params-b N (and --active-params-b for a mixture of experts)",
              file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"llm-energy estimate-training: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(est.to_dict(), indent=1))
    else:
        _print_table(est)
    return 0
