"""`llm-energy compare`: one workload re-priced under alternatives, sorted by carbon.

The workload is one request shape (``--model``, ``--output-tokens``, ``--input-tokens``,
``--count``, the baseline's ``--region``/``--hardware``/``--precision``/``--method``) or a ledger
(``--ledger FILE``: what it recorded, and what it would have cost). Alternatives: ``--regions``
(comma-separated; ``gcp:*`` for every region of a cloud), ``--accelerators``, ``--precisions``,
``--engines``, ``--models`` (``siblings``: the smaller models of the same family). Prints a
table in human units with ranges and the saving against the baseline; ``--json`` prints the
comparison in base units (kWh, gCO2e, USD, L); ``--plot FILE`` draws the carbon per alternative
(``.svg`` built in, ``.png`` with the ``plot`` extra). Bad input exits 2 with the field named.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from tracker.cli._args import token_count
from tracker.exceptions import ConfigError
from tracker.reduce._compare import Comparison, Row, compare
from tracker.render import _units as U
from tracker.render._tables import Column, render_table

__all__ = ["main", "print_comparison"]


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm-energy compare",
        description="Re-price one workload under other regions, hardware, precisions, engines "
                    "or models; rows sorted by carbon, lowest first.")
    w = p.add_argument_group("workload (one request shape, or --ledger)")
    w.add_argument("--model", help="registry name or alias")
    w.add_argument("--output-tokens", type=token_count,
                   help="generated tokens per call: 1000, 1e6, 300k (this or --input-tokens)")
    w.add_argument("--input-tokens", type=token_count, help="prompt tokens per call")
    w.add_argument("--count", type=token_count, default=1, help="calls of this shape (default 1)")
    w.add_argument("--region", help="the baseline's region (default world)")
    w.add_argument("--hardware", help="the baseline's accelerator (default h100)")
    w.add_argument("--precision", help="the baseline's precision (default: the model's)")
    w.add_argument("--method", help="calibrated (default) or flops")
    w.add_argument("--ledger", metavar="FILE", help="re-price what a JSON Lines ledger holds")
    a = p.add_argument_group("alternatives (comma-separated)")
    a.add_argument("--regions", type=_list,
                   help="e.g. gcp:us-central1,gcp:europe-north1,FR, or gcp:* (every GCP region)")
    a.add_argument("--accelerators", type=_list, help="other hardware, e.g. h200,b200")
    a.add_argument("--precisions", type=_list, help="e.g. bf16,fp8")
    a.add_argument("--engines", type=_list, help="serving-engine profiles, e.g. vllm")
    a.add_argument("--models", type=_list, help="other models; 'siblings' for smaller ones of "
                   "the same family")
    p.add_argument("--json", action="store_true", help="print one JSON document (base units)")
    p.add_argument("--plot", metavar="FILE", help="bar chart of carbon: .svg, or .png (needs "
                   "matplotlib: the 'plot' extra)")
    return p


def _workload(args: argparse.Namespace) -> Any:
    if args.ledger:
        if args.model:
            raise ConfigError("ledger", "give either --ledger or --model, not both")
        return Path(args.ledger)
    if not args.model:
        raise ConfigError("model", "required (or --ledger FILE)")
    if args.output_tokens is None and args.input_tokens is None:
        raise ConfigError("output_tokens", "--output-tokens (or --input-tokens) is required "
                          "with --model")
    work: dict[str, Any] = {"model": args.model, "output_tokens": args.output_tokens or 0,
                            "input_tokens": args.input_tokens or 0, "count": args.count}
    for key in ("region", "hardware", "precision", "method"):
        if getattr(args, key) is not None:
            work[key] = getattr(args, key)
    if args.count < 0:
        raise ConfigError("count", f"must be an integer >= 0, got {args.count}")
    return work


def _with_range(scale: U.Scale, unit: tuple[float, str], central: float, low: float,
                high: float) -> str:
    text = scale.cell(central, unit)
    if low == high:
        return text
    return f"{text} ({scale.cell(low, unit)}-{scale.cell(high, unit)})"


def _saving(row: Row) -> str:
    if row.kind == "baseline":
        return "baseline"
    sign = "+" if row.saving_pct < 0 else "-"
    return f"{sign}{U.number(abs(row.saving_pct))} %"


def print_comparison(result: Comparison, out: TextIO | None = None) -> None:
    """The comparison as a table: human units, one unit per column, ranges in brackets.

    On a narrow terminal the columns go in this order: changes, water, API price, electricity,
    energy. The API price (list price, from the price table) is "-" where the table lacks the
    model, and the column is left out when no row has one.
    """
    stream = out if out is not None else sys.stdout
    rows = result.rows
    e_unit = U.ENERGY.for_values(r.energy_kwh for r in rows)
    c_unit = U.CARBON.for_values(r.gco2e for r in rows)
    m_unit = U.MONEY.for_values(r.usd for r in rows)
    w_unit = U.WATER.for_values(r.water_l for r in rows)
    a_unit = U.MONEY.for_values(r.api_usd for r in rows if r.api_usd is not None)
    body = []
    for r in rows:
        name = r.alternative if r.like_for_like else f"{r.alternative} *"
        body.append([
            name, r.kind, _saving(r),
            _with_range(U.CARBON, c_unit, r.gco2e, r.gco2e_min, r.gco2e_max),
            _with_range(U.ENERGY, e_unit, r.energy_kwh, r.energy_kwh_min, r.energy_kwh_max),
            _with_range(U.MONEY, m_unit, r.usd, r.usd_min, r.usd_max),
            "-" if r.api_usd is None else U.MONEY.cell(r.api_usd, a_unit),
            _with_range(U.WATER, w_unit, r.water_l, r.water_l_min, r.water_l_max),
        ])
    columns = [Column("alternative", min_width=16, wrap=True), Column("changes", priority=5),
               Column("vs baseline", "r"),
               Column(f"carbon {c_unit[1]} (range)", "r"),
               Column(f"energy {e_unit[1]} (range)", "r", priority=2),
               Column(f"electricity {m_unit[1]} (range)", "r", priority=3),
               Column(f"API price {a_unit[1]}", "r", priority=4),
               Column(f"water {w_unit[1]} (range)", "r", priority=5)]
    if all(r.api_usd is None for r in rows):
        columns.pop(6)
        for cells in body:
            cells.pop(6)
    render_table(columns, body, title=f"{result.workload}: sorted by carbon, lowest first",
                 out=stream)
    notes = sorted({r.note for r in rows if not r.like_for_like})
    for note in notes:
        stream.write(f"* {note}\n")
    tables = sorted({r.price_table for r in rows if r.price_table})
    if tables:
        stream.write(f"API price: list prices of {', '.join(tables)}\n")


def _plot(result: Comparison, path: str) -> None:
    items = [(r.alternative, r.gco2e) for r in result.rows]
    if path.lower().endswith(".svg"):
        from tracker.render._charts import bar_chart

        text = bar_chart(items, U.CARBON, "carbon per alternative")
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError("plot", f"cannot write {path!r}: {exc.strerror or exc}") from None
        return
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError("plot", "a .png needs matplotlib: pip install "
                          f"'llm-energy-tracker[plot]', or write .svg ({exc})") from None
    unit = U.CARBON.for_values(v for _, v in items)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(items) + 1.2))
    try:
        ax.barh([n for n, _ in items][::-1], [v * unit[0] for _, v in items][::-1])
        ax.set_xlabel(unit[1])
        ax.set_title(f"{result.workload}: carbon per alternative")
        fig.tight_layout()
        fig.savefig(path)
    except OSError as exc:
        raise ConfigError("plot", f"cannot write {path!r}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)


def main(argv: list[str]) -> int:
    """Run the comparison; 0, or 2 for bad input (the field named on stderr)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        result = compare(_workload(args), regions=args.regions, hardware=args.accelerators,
                         precisions=args.precisions, engines=args.engines, models=args.models)
        if args.json:
            print(json.dumps(result.to_dict()))
        else:
            print_comparison(result)
        if args.plot:
            _plot(result, args.plot)
            print(f"chart written to {args.plot}", file=sys.stderr)
    except ConfigError as exc:
        print(f"llm-energy compare: error: {exc}", file=sys.stderr)
        return 2
    return 0
