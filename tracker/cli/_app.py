"""The `llm-energy` command line: estimates, registry listings, and delegated subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tracker.exceptions import ConfigError
from tracker.model._estimate import Estimate, estimate
from tracker.model._registry import get_registry

__all__ = ["main"]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.5g}"


def _print_estimate(e: Estimate) -> None:
    width = 14
    rows = [
        ("energy", f"{_fmt(e.energy_kwh)} kWh",
         f"range {_fmt(e.energy_kwh_min)} - {_fmt(e.energy_kwh_max)}"),
        ("accelerators", f"{_fmt(e.accelerator_kwh)} kWh", "before host overhead and PUE"),
        ("carbon", f"{_fmt(e.gco2e)} gCO2e", f"range {_fmt(e.gco2e_min)} - {_fmt(e.gco2e_max)}"),
        ("cost", f"{_fmt(e.usd)} USD", "electricity only"),
        ("water", f"{_fmt(e.water_l)} L", "on-site cooling"),
    ]
    known = "" if e.model_known else " (not in the registry: fallback)"
    est = ", parameters estimated" if e.params_estimated else ""
    print(f"{e.model}{known}{est}: {e.input_tokens:,} input + {e.output_tokens:,} output tokens")
    print(f"method {e.method}\n")
    for label, value, note in rows:
        print(f"  {label:<{width}}{value:<20}{note}")
    print("\nfactors")
    factors = [
        ("hardware", f"{e.hardware}, {e.precision} (peak FLOP/J; gpus and batch not used)"
         if e.method == "flops" else
         f"{e.hardware} x {e.gpus}, {e.precision}, batch {_fmt(e.batch_size)}"),
        ("pue", f"{_fmt(e.pue)}, host overhead {_fmt(e.host_overhead)}"),
        ("region", e.region),
        ("grid", f"{_fmt(e.carbon_intensity)} gCO2e/kWh ({e.grid_source})"),
        ("price", f"{_fmt(e.price_usd_per_kwh)} USD/kWh"),
        ("wue", f"{_fmt(e.wue)} L/kWh"),
    ]
    for label, value in factors:
        print(f"  {label:<{width}}{value}")


def _cmd_estimate(args: argparse.Namespace) -> int:
    e = estimate(
        model=args.model, output_tokens=args.output_tokens, input_tokens=args.input_tokens,
        hardware=args.hardware, precision=args.precision, gpus=args.gpus,
        batch_size=args.batch_size, method=args.method, pue=args.pue,
        host_overhead=args.host_overhead, region=args.region,
        carbon_intensity=args.carbon_intensity, price_usd_per_kwh=args.price, wue=args.wue,
    )
    if args.json:
        print(json.dumps(e.to_dict()))
    else:
        _print_estimate(e)
    return 0


def _matches(text: str | None, *fields: object) -> bool:
    if not text:
        return True
    needle = text.lower()
    return any(needle in str(f).lower() for f in fields if f is not None)


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _emit(args: argparse.Namespace, records: list[dict[str, Any]], header: list[str],
          row: Callable[[dict[str, Any]], list[str]]) -> int:
    if args.json:
        print(json.dumps(records, indent=1))
    else:
        _table([row(r) for r in records], header)
        print(f"\n{len(records)} entries")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    specs = [m for m in get_registry().models()
             if _matches(args.search, m.name, m.provider, *m.aliases)]
    records = [m.model_dump() for m in specs]

    def row(m: dict[str, Any]) -> list[str]:
        active = _fmt(m["active_params_b"])
        if m["active_params_b_min"] != m["active_params_b_max"]:
            active += f" ({_fmt(m['active_params_b_min'])}-{_fmt(m['active_params_b_max'])})"
        est = "estimate" if m["estimated"] else "official"
        return [m["name"], m["provider"] or "", active, _fmt(m["total_params_b"]), m["precision"],
                est, f"{m['source'][:48]} ({m['year']})"]

    return _emit(args, records, ["model", "provider", "active B", "total B", "precision",
                                 "params", "source"], row)


def _cmd_hardware(args: argparse.Namespace) -> int:
    specs = [h for h in get_registry().hardware_list() if _matches(args.search, h.name, *h.aliases)]
    records = [h.model_dump() for h in specs]

    def row(h: dict[str, Any]) -> list[str]:
        peaks = h["peak_tflops"]
        return [h["name"], _fmt(h["tdp_w"]), _fmt(h["memory_gb"]), _fmt(h["bandwidth_tb_s"]),
                _fmt(peaks.get("bf16", peaks.get("fp16", 0))),
                _fmt(peaks["fp8"]) if "fp8" in peaks else "-",
                f"{h['source'][:40]} ({h['year']})"]

    return _emit(args, records, ["hardware", "TDP W", "memory GB", "HBM TB/s", "bf16 TFLOP/s",
                                 "fp8 TFLOP/s", "source"], row)


def _cmd_regions(args: argparse.Namespace) -> int:
    specs = [r for r in get_registry().regions()
             if _matches(args.search, r.name, r.description, r.country, *r.aliases)]
    records = [r.model_dump() for r in specs]

    def row(r: dict[str, Any]) -> list[str]:
        price = _fmt(r["price_usd_per_kwh"]) if r["price_usd_per_kwh"] is not None else "-"
        return [r["name"], r["description"][:28], _fmt(r["gco2e_per_kwh"]), r["basis"][:24],
                str(r["year"]), price, r["source"][:40]]

    return _emit(args, records, ["region", "where", "gCO2e/kWh", "basis", "year", "USD/kWh",
                                 "source"], row)


#: Subcommands that live in their own modules: `main(argv) -> int` there parses the rest.
_DELEGATED: dict[str, tuple[str, str]] = {
    "demo": ("tracker.cli._demo", "offline demo: real clients against a local compatible server"),
    "report": ("tracker.cli._report", "totals from a ledger, grouped by model, function, day, ..."),
    "grid": ("tracker.cli._grid", "current grid carbon intensity from the live provider"),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="llm-energy", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("estimate", help="estimate one request's energy, carbon, cost and water")
    e.add_argument("--model", required=True, help="registry name or alias")
    e.add_argument("--output-tokens", type=int, default=0)
    e.add_argument("--input-tokens", type=int, default=0)
    e.add_argument("--hardware", help="accelerator (default h100)")
    e.add_argument("--precision", help="serving precision (default: the model's)")
    e.add_argument("--gpus", type=int, help="accelerators holding one replica")
    e.add_argument("--batch-size", type=float, help="concurrent sequences on the replica")
    e.add_argument("--method", default="calibrated", help="calibrated (default) or flops")
    e.add_argument("--pue", type=float)
    e.add_argument("--host-overhead", type=float)
    e.add_argument("--region", help="gcp:us-central1, aws:us-east-1, FR, ... (default world)")
    e.add_argument("--carbon-intensity", type=float, help="gCO2e/kWh, overrides the region's")
    e.add_argument("--price", type=float, help="USD/kWh, overrides the region's")
    e.add_argument("--wue", type=float, help="on-site water, L per IT kWh")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=_cmd_estimate)

    for name, func, help_ in (("models", _cmd_models, "list the model registry"),
                              ("hardware", _cmd_hardware, "list the hardware registry"),
                              ("regions", _cmd_regions, "list the region registry")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--search", help="case-insensitive substring filter")
        s.add_argument("--json", action="store_true")
        s.set_defaults(func=func)

    for name, (_, help_) in _DELEGATED.items():
        sub.add_parser(name, help=help_, add_help=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 with a message naming the field for bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _DELEGATED:
        import importlib

        module = importlib.import_module(_DELEGATED[argv[0]][0])
        try:
            delegated: int = module.main(argv[1:])
        except ConfigError as exc:
            print(f"llm-energy: error: {exc}", file=sys.stderr)
            return 2
        return delegated
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"llm-energy: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
