"""`llm-energy models | hardware | regions`: the registries, as tables or JSON, with sources.

Nothing is cut: on a narrow terminal long text wraps and the least needed columns (source first)
are left out, with a note; piped output has every column on one line per entry.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from tracker.model._registry import get_registry
from tracker.render import _units as U
from tracker.render._tables import Column, render_table

__all__ = ["hardware_main", "models_main", "regions_main"]


def _fmt(value: float | None) -> str:
    return "-" if value is None else U.number(float(value))


def _matches(text: str | None, *fields: object) -> bool:
    if not text:
        return True
    needle = text.lower()
    return any(needle in str(f).lower() for f in fields if f is not None)


def _parser(name: str, what: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"llm-energy {name}",
                                description=f"List the {what} registry, each entry with its "
                                            "source and year.")
    p.add_argument("--search", help="case-insensitive substring filter")
    p.add_argument("--json", action="store_true", help="print a JSON array of the entries")
    return p


def _emit(args: argparse.Namespace, records: list[dict[str, Any]], header: list[Column],
          row: Callable[[dict[str, Any]], list[str]]) -> int:
    if args.json:
        print(json.dumps(records, indent=1))
        return 0
    render_table(header, [row(r) for r in records])
    print(f"\n{len(records)} entries")
    return 0


def models_main(argv: list[str]) -> int:
    """`llm-energy models`."""
    args = _parser("models", "model").parse_args(argv)
    specs = [m for m in get_registry().models()
             if _matches(args.search, m.name, m.provider, *m.aliases)]

    def row(m: dict[str, Any]) -> list[str]:
        active = _fmt(m["active_params_b"])
        if m["active_params_b_min"] != m["active_params_b_max"]:
            active += f" ({_fmt(m['active_params_b_min'])}-{_fmt(m['active_params_b_max'])})"
        est = "estimate" if m["estimated"] else "official"
        return [m["name"], m["provider"] or "", active, _fmt(m["total_params_b"]), m["precision"],
                est, f"{m['source']} ({m['year']})"]

    return _emit(args, [m.model_dump() for m in specs],
                 [Column("model", min_width=16), Column("provider", priority=4),
                  Column("active B", "r", priority=2), Column("total B", "r", priority=3),
                  Column("precision", priority=3), Column("params", priority=5),
                  Column("source", priority=6, min_width=24, max_lines=2)], row)


def hardware_main(argv: list[str]) -> int:
    """`llm-energy hardware`."""
    args = _parser("hardware", "hardware").parse_args(argv)
    specs = [h for h in get_registry().hardware_list() if _matches(args.search, h.name, *h.aliases)]

    def row(h: dict[str, Any]) -> list[str]:
        peaks = h["peak_tflops"]
        return [h["name"], _fmt(h["tdp_w"]), _fmt(h["memory_gb"]), _fmt(h["bandwidth_tb_s"]),
                _fmt(peaks.get("bf16", peaks.get("fp16", 0))),
                _fmt(peaks["fp8"]) if "fp8" in peaks else "-",
                f"{h['source']} ({h['year']})"]

    return _emit(args, [h.model_dump() for h in specs],
                 [Column("hardware", min_width=16), Column("TDP W", "r"),
                  Column("memory GB", "r", priority=3), Column("HBM TB/s", "r", priority=3),
                  Column("bf16 TFLOP/s", "r", priority=2), Column("fp8 TFLOP/s", "r", priority=4),
                  Column("source", priority=6, min_width=24, max_lines=2)], row)


def regions_main(argv: list[str]) -> int:
    """`llm-energy regions`."""
    args = _parser("regions", "region").parse_args(argv)
    specs = [r for r in get_registry().regions()
             if _matches(args.search, r.name, r.description, r.country, *r.aliases)]

    def row(r: dict[str, Any]) -> list[str]:
        return [r["name"], r["description"], _fmt(r["gco2e_per_kwh"]), r["basis"],
                str(r["year"]), _fmt(r["price_usd_per_kwh"]), r["source"]]

    return _emit(args, [r.model_dump() for r in specs],
                 [Column("region", min_width=16),
                  Column("where", priority=3, min_width=16, max_lines=2),
                  Column("gCO2e/kWh", "r"), Column("basis", priority=5, min_width=16, max_lines=2),
                  Column("year", "r", priority=4), Column("$/kWh", "r", priority=2),
                  Column("source", priority=6, min_width=24, max_lines=2)], row)
