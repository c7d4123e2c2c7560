"""`llm-energy estimate`: one request's energy, carbon, cost and water, as a card or JSON.

The card shows human units (``16.2 Wh``, ``3.93 g CO2e``, ``0.246¢``); ``--json`` prints the
`Estimate` in base units (kWh, gCO2e, USD, L). Bad input exits 2 with the field named.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TextIO

from tracker.exceptions import ConfigError
from tracker.model._estimate import Estimate, estimate
from tracker.render import _units as U

__all__ = ["main", "print_card"]


def _factor(value: float) -> str:
    return U.number(value, 4)


def _range(low: str, high: str) -> str:
    return f"range {low} - {high}" if low != high else "no range (a single figure)"


def print_card(e: Estimate, out: TextIO | None = None) -> None:
    """The estimate as a person reads it: one unit per quantity, ranges in the same unit."""
    stream = out if out is not None else sys.stdout
    e_unit = U.ENERGY.unit_for(e.energy_kwh)
    c_unit = U.CARBON.unit_for(e.gco2e)
    rows = [
        ("energy", U.energy(e.energy_kwh, e_unit),
         _range(U.energy(e.energy_kwh_min, e_unit), U.energy(e.energy_kwh_max, e_unit))),
        ("accelerators", U.energy(e.accelerator_kwh, e_unit), "before host overhead and PUE"),
        ("carbon", U.carbon(e.gco2e, c_unit),
         _range(U.carbon(e.gco2e_min, c_unit), U.carbon(e.gco2e_max, c_unit))),
    ]
    if e.embodied_gco2e > 0:
        rows.append(("embodied", U.carbon(e.embodied_gco2e),
                     "hardware manufacturing, amortised (not in carbon)"))
    rows += [("electricity", U.money(e.usd), "cost of the energy"),
             ("water", U.water(e.water_l), "on-site cooling")]
    known = "" if e.model_known else " (not in the registry: fallback)"
    est = ", parameters estimated" if e.params_estimated else ""
    width = 14
    lines = [f"{e.model}{known}{est}: {e.input_tokens:,} input + {e.output_tokens:,} output tokens",
             f"method {e.method}", ""]
    value_width = max(len(v) for _, v, _ in rows) + 3
    lines += [f"  {label:<{width}}{value:<{value_width}}{note}" for label, value, note in rows]
    hardware = (f"{e.hardware}, {e.precision} (peak FLOP/J; gpus and batch not used)"
                if e.method == "flops" else
                f"{e.hardware} x {e.gpus}, {e.precision}, batch {_factor(e.batch_size)}")
    factors = [
        ("hardware", hardware),
        ("pue", f"{_factor(e.pue)}, host overhead {_factor(e.host_overhead)}"),
        ("region", e.region),
        ("grid", f"{_factor(e.carbon_intensity)} gCO2e/kWh ({e.grid_source})"),
        ("price", f"{_factor(e.price_usd_per_kwh)} USD/kWh"),
        ("wue", f"{_factor(e.wue)} L/kWh"),
    ]
    lines += ["", "factors", *(f"  {label:<{width}}{value}" for label, value in factors)]
    stream.write("\n".join(lines) + "\n")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm-energy estimate",
        description="Estimate one request's energy, carbon, cost and water (human units; "
                    "--json: kWh, gCO2e, USD, L).")
    p.add_argument("--model", required=True, help="registry name or alias")
    p.add_argument("--output-tokens", type=int, default=0, help="generated tokens (default 0)")
    p.add_argument("--input-tokens", type=int, default=0, help="prompt tokens (default 0)")
    p.add_argument("--hardware", help="accelerator (default h100)")
    p.add_argument("--precision", help="serving precision (default: the model's)")
    p.add_argument("--gpus", type=int, help="accelerators holding one replica")
    p.add_argument("--batch-size", type=float, help="concurrent sequences on the replica")
    p.add_argument("--method", default="calibrated", help="calibrated (default) or flops")
    p.add_argument("--pue", type=float, help="data-centre PUE (>= 1)")
    p.add_argument("--host-overhead", type=float, help="host energy as a share of accelerators'")
    p.add_argument("--region", help="gcp:us-central1, aws:us-east-1, FR, ... (default world)")
    p.add_argument("--carbon-intensity", type=float, help="gCO2e/kWh, overrides the region's")
    p.add_argument("--price", type=float, help="USD/kWh, overrides the region's")
    p.add_argument("--wue", type=float, help="on-site water, L per IT kWh")
    p.add_argument("--json", action="store_true", help="print one JSON object (base units)")
    return p


def main(argv: list[str]) -> int:
    """Parse, estimate, print; `ConfigError` (exit 2) for bad input, naming the field."""
    args = _parser().parse_args(argv)
    e = estimate(
        model=args.model, output_tokens=args.output_tokens, input_tokens=args.input_tokens,
        hardware=args.hardware, precision=args.precision, gpus=args.gpus,
        batch_size=args.batch_size, method=args.method, pue=args.pue,
        host_overhead=args.host_overhead, region=args.region,
        carbon_intensity=args.carbon_intensity, price_usd_per_kwh=args.price, wue=args.wue,
    )
    for name in ("energy_kwh", "gco2e", "usd", "water_l"):
        if not math.isfinite(getattr(e, name)):  # a safety net: estimate() validates its inputs
            raise ConfigError("estimate", f"the inputs give a non-finite {name}; check the "
                                          "numbers given")
    if args.json:
        print(json.dumps(e.to_dict()))
    else:
        print_card(e)
    return 0
