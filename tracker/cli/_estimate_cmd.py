"""`llm-energy estimate`: one request's energy, carbon, cost and water, as a card or JSON.

The card shows human units (``16.2 Wh``, ``3.93 gCO2e``, ``2.46 m$``), the electricity cost
beside the API price (list price, from the price table: ``api_usd``); ``--json`` prints the
`Estimate` in base units (kWh, gCO2e, USD, L). Bad input exits 2 with the field named; so does
a call with neither ``--output-tokens`` nor ``--input-tokens`` (an estimate of nothing is a
mistake, not 0 kWh).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TextIO

from tracker.cli._args import token_count
from tracker.exceptions import ConfigError
from tracker.model._estimate import Estimate, estimate
from tracker.render import _units as U
from tracker.render._tables import Column, render_table, write_wrapped

__all__ = ["main", "print_card"]


def _range(scale: U.Scale, low: float, high: float, unit: tuple[float, str]) -> str:
    if low == high:
        return "no range (a single figure)"
    return f"range {scale.format(low, unit)} - {scale.format(high, unit)}"


def print_card(e: Estimate, out: TextIO | None = None) -> None:
    """The estimate as a person reads it: one unit per quantity, ranges in the same unit.

    The card is a table without a header (`render_table`): it fits the terminal's width, the
    notes wrapping first.
    """
    stream = out if out is not None else sys.stdout
    e_unit = U.ENERGY.for_values((e.energy_kwh, e.energy_kwh_max))
    c_unit = U.CARBON.for_values((e.gco2e, e.gco2e_max))
    rows = [
        ["energy", U.energy(e.energy_kwh, e_unit),
         _range(U.ENERGY, e.energy_kwh_min, e.energy_kwh_max, e_unit)],
        ["accelerators", U.energy(e.accelerator_kwh, e_unit), "before host overhead and PUE"],
        ["carbon", U.carbon(e.gco2e, c_unit),
         _range(U.CARBON, e.gco2e_min, e.gco2e_max, c_unit)],
    ]
    if e.embodied_gco2e > 0:
        rows.append(["embodied", U.carbon(e.embodied_gco2e),
                     "hardware manufacturing, amortised (not in carbon)"])
    rows.append(["electricity", U.money(e.usd), "cost of the energy"])
    api = getattr(e, "api_usd", None)
    if api is not None:
        rows.append(["API price", U.money(api), f"list price ({getattr(e, 'price_table', '')})"])
    else:
        rows.append(["API price", "-", "not in the price table (or the prices extra missing)"])
    rows.append(["water", U.water(e.water_l), "on-site cooling"])
    known = "" if e.model_known else " (not in the registry: fallback)"
    est = ", parameters estimated" if e.params_estimated else ""
    cached = f" ({e.cached_input_tokens:,} cached)" if getattr(e, "cached_input_tokens", 0) else ""
    write_wrapped(f"{e.model}{known}{est}: {e.input_tokens:,} input{cached} + "
                  f"{e.output_tokens:,} output tokens\nmethod {e.method}\n", stream, indent="  ")
    card = [Column("", min_width=12), Column("", "r"), Column("", min_width=16, priority=2)]
    render_table(card, rows, header=False, out=stream)
    hardware = (f"{e.hardware}, {e.precision} (peak FLOP/J; gpus and batch not used)"
                if e.method == "flops" else
                f"{e.hardware} x {e.gpus}, {e.precision}, batch {U.number(e.batch_size)}")
    factors = [
        ["hardware", hardware],
        ["pue", f"{U.number(e.pue)}, host overhead {U.number(e.host_overhead)}"],
        ["region", e.region],
        ["grid", f"{U.per_kwh(e.carbon_intensity, 'gCO2e')} ({e.grid_source})"],
        ["price", U.per_kwh(e.price_usd_per_kwh, "$")],
        ["wue", U.per_kwh(e.wue, "L")],
    ]
    stream.write("\nfactors\n")
    render_table([Column("", min_width=12), Column("", min_width=16)], factors, header=False,
                 out=stream)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm-energy estimate",
        description="Estimate one request's energy, carbon, cost and water (human units; "
                    "--json: kWh, gCO2e, USD, L).")
    p.add_argument("--model", required=True, help="registry name or alias")
    p.add_argument("--output-tokens", type=token_count,
                   help="generated tokens: 1000, 1e6, 300k (this or --input-tokens is required)")
    p.add_argument("--input-tokens", type=token_count, help="prompt tokens (default 0)")
    p.add_argument("--cached-input-tokens", type=token_count,
                   help="of the input tokens, those read from a prompt cache (default 0)")
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
    parser = _parser()
    args = parser.parse_args(argv)
    if args.output_tokens is None and args.input_tokens is None:
        parser.error("the following arguments are required: --output-tokens (or --input-tokens)")
    e = estimate(
        model=args.model, output_tokens=args.output_tokens or 0,
        input_tokens=args.input_tokens or 0, cached_input_tokens=args.cached_input_tokens or 0,
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
