"""`llm-energy price SOURCE...`: the footprint of usage exports, gateway logs, traces, ledgers.

A thin layer over `tracker.footprint.price_usage`: arguments in, a table in human units (or
``--json``, ``--csv``, ``--parquet FILE``) out. Malformed lines are named in one warning on
stderr and the rest is priced; an unknown format or a missing required field exits 2 naming the
file and the field.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from tracker.exceptions import ConfigError
from tracker.footprint import PricedUsage, price_usage
from tracker.footprint._engines import ENGINES
from tracker.footprint._plan import API_FIGURES, COUNTS, FIGURES
from tracker.footprint._schema import DEFAULT_MEAN_INPUT_TOKENS
from tracker.footprint.formats import FORMATS
from tracker.model._api_prices import table_version
from tracker.render import _units as U
from tracker.render._tables import Column, render_table

__all__ = ["main"]

#: --flag -> price_usage() deployment keyword (the options `llm-energy estimate` has).
_DEPLOYMENT = (("--hardware", "hardware", str, "accelerator (default: the provider's, else h100)"),
               ("--region", "region", str, "region or country (default: the provider's)"),
               ("--pue", "pue", float, "data-centre PUE (>= 1)"),
               ("--precision", "precision", str, "serving precision"),
               ("--gpus", "gpus", int, "accelerators holding one replica"),
               ("--batch-size", "batch_size", float, "concurrent sequences on the replica"),
               ("--method", "method", str, "calibrated (default) or flops"),
               ("--host-overhead", "host_overhead", float, "host as a share of accelerators'"),
               ("--carbon-intensity", "carbon_intensity", float, "gCO2e/kWh, for every row"),
               ("--price", "price_usd_per_kwh", float, "USD/kWh, for every row"),
               ("--wue", "wue", float, "on-site water, L per IT kWh"))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm-energy price",
        description="Energy, carbon, cost and water of the LLM usage you already have: usage "
                    "exports (OpenAI, Anthropic), gateway logs (LiteLLM), Bedrock invocation "
                    "logs, OTLP JSON traces, ledgers. Files, directories, globs, gzip, - (stdin).")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("--format", default="auto", choices=("auto", *FORMATS))
    p.add_argument("--engine", default="auto", choices=ENGINES,
                   help="auto: duckdb when the analytics extra is installed, else python")
    p.add_argument("--master", help="Spark master URL (--engine spark; default local[*])")
    p.add_argument("--by", default="month,model",
                   help="month, day, model, provider, project, api_key, function, label:NAME "
                        "(comma-separated; default month,model)")
    p.add_argument("--since", help="first date/time included (ISO 8601, UTC)")
    p.add_argument("--until", help="last date included, or a time excluded")
    p.add_argument("--reprice", action="store_true",
                   help="price ledger lines with today's model (else their recorded figures)")
    p.add_argument("--map", dest="column_map",
                   help="CSV columns: input_tokens=COL,output_tokens=COL,model=COL,...")
    p.add_argument("--mean-input-tokens", type=int, default=DEFAULT_MEAN_INPUT_TOKENS,
                   help="input tokens per request assumed where a source counts no requests "
                        f"(Anthropic usage reports; default {DEFAULT_MEAN_INPUT_TOKENS})")
    p.add_argument("--project-label", default="project",
                   help="the ledger label read as the project (default project)")
    for flag, name, kind, text in _DEPLOYMENT:
        p.add_argument(flag, dest=name, type=kind, help=text)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object (base units)")
    out.add_argument("--csv", action="store_true", help="CSV, one row per group (base units)")
    out.add_argument("--parquet", metavar="FILE", help="write a Parquet file (analytics extra)")
    return p


def _table(result: PricedUsage, keys: list[str]) -> None:
    """One row per group, one unit per column (in its header), each figure with its range.

    On a narrow terminal the columns go in this order: water, tokens, electricity, API price,
    energy. The API price is what the provider bills at list price (the price table's), the
    electricity what serving the calls used; "-" where the table has no price for the model.
    """
    e_unit = U.ENERGY.for_values(r["energy_kwh"] for r in result)
    c_unit = U.CARBON.for_values(r["gco2e"] for r in result)
    m_unit = U.MONEY.for_values(r["usd"] for r in result)
    w_unit = U.WATER.for_values(r["water_l"] for r in result)
    a_unit = U.MONEY.for_values(r["api_usd"] for r in result if r["api_usd"] is not None)

    def ranged(scale: Any, unit: Any, r: dict[str, Any], key: str) -> str:
        low, high = r.get(f"{key}_min", r[key]), r.get(f"{key}_max", r[key])
        return f"{scale.cell(r[key], unit)} ({scale.cell(low, unit)}-{scale.cell(high, unit)})"

    def row(r: dict[str, Any]) -> list[str]:
        names = ["(none)" if r[k] is None else str(r[k]) for k in keys]
        return [*names, f"{r['calls']:,}", f"{r['input_tokens']:,}", f"{r['output_tokens']:,}",
                ranged(U.CARBON, c_unit, r, "gco2e"), ranged(U.ENERGY, e_unit, r, "energy_kwh"),
                U.MONEY.cell(r["usd"], m_unit),
                "-" if r["api_usd"] is None else U.MONEY.cell(r["api_usd"], a_unit),
                U.WATER.cell(r["water_l"], w_unit)]

    total: dict[str, Any] = {k: sum(r[k] for r in result) for k in (*COUNTS, *FIGURES)}
    priced = [r["api_usd"] for r in result if r["api_usd"] is not None]
    total["api_usd"] = sum(priced) if priced else None
    columns = [*(Column(k, min_width=12, wrap=True) for k in keys),
               Column("calls", "r"), Column("input tok", "r", priority=5),
               Column("output tok", "r", priority=5),
               Column(f"carbon {c_unit[1]} (range)", "r"),
               Column(f"energy {e_unit[1]} (range)", "r", priority=2),
               Column(f"electricity {m_unit[1]}", "r", priority=4),
               Column(f"API price {a_unit[1]}", "r", priority=3),
               Column(f"water {w_unit[1]}", "r", priority=6)]
    total_row = row({**dict.fromkeys(keys), **total})
    total_row[0] = U.TOTAL_LABEL
    for i in range(1, len(keys)):
        total_row[i] = ""
    body = [row(r) for r in result]
    if not priced:  # no column of dashes: the note under the table says why there is none
        at = len(keys) + 6
        del columns[at], total_row[at]
        for cells in body:
            del cells[at]
    render_table(columns, body, total=total_row if len(result) > 1 else None,
                 title="Footprint: facility energy, electricity cost, "
                       + ("API price, " if priced else "") + "on-site water")
    notes = []
    assumed = total["requests_assumed"]
    if assumed:
        notes.append(f"{assumed:,} requests assumed from input tokens (the source counts no "
                     "requests; --mean-input-tokens)")
    if total["recorded_calls"]:
        notes.append(f"{total['recorded_calls']:,} ledger calls keep their recorded figures "
                     "(--reprice to price them again)")
    if priced:
        unpriced = total["calls"] - total["api_calls"]
        notes.append(f"API price: list prices of {table_version()}"
                     + (f"; none for {unpriced:,} of the calls (model not in the table)"
                        if unpriced else ""))
    else:
        notes.append("API price: none (the price table lacks these models, or the prices "
                     "extra is not installed: pip install 'llm-energy-tracker[prices]')")
    if result.unknown_models:
        notes.append("priced by the fallback model (not in the registry): "
                     + ", ".join(result.unknown_models[:20])
                     + (" ..." if len(result.unknown_models) > 20 else ""))
    for note in notes:
        print(f"  {note}")


def _write_parquet(result: PricedUsage, path: str) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("parquet", "needs the analytics extra: pip install "
                                     "'llm-energy-tracker[analytics]'") from None
    rows = [{k: ("; ".join(v) if k == "assumptions" else v) for k, v in r.items()}
            for r in result]
    try:
        pq.write_table(pa.Table.from_pylist(rows), path)
    except OSError as exc:
        raise ConfigError("parquet", f"{path}: cannot be written ({exc.strerror or exc})"
                          ) from None


def main(argv: list[str]) -> int:
    """Parse, price, print; `ConfigError` (exit 2) for bad input, naming the field or file."""
    args = _parser().parse_args(argv)
    deployment = {name: getattr(args, name) for _, name, _, _ in _DEPLOYMENT
                  if getattr(args, name) is not None}
    result = price_usage(
        args.sources, format=args.format, engine=args.engine, by=args.by, since=args.since,
        until=args.until, reprice=args.reprice, master=args.master, column_map=args.column_map,
        mean_input_tokens=args.mean_input_tokens, project_label=args.project_label,
        **deployment)
    if result.malformed:
        print(f"llm-energy price: warning: {result.malformed}", file=sys.stderr)
    keys = [k.strip() for k in args.by.split(",")]
    if args.json:
        print(json.dumps({"rows": list(result), "unknown_models": result.unknown_models,
                          "malformed_lines": result.malformed_count,
                          "deployments": result.deployments, "engine": result.engine,
                          "price_table": table_version()}))
    elif args.csv:
        fields = [*keys, *COUNTS, *FIGURES, *API_FIGURES, "api_currency", "price_table",
                  "boundary", "assumptions"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for r in result:
            writer.writerow({**r, "assumptions": "; ".join(r["assumptions"])})
    elif args.parquet:
        _write_parquet(result, args.parquet)
        print(f"wrote {len(result)} rows to {args.parquet}")
    elif not result:
        print("no usage found in the sources (or none in the time window)")
    else:
        _table(result, keys)
    return 0
