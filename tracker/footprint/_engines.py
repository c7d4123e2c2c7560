"""The Python engine (the exact reference) and what the SQL engines share with it.

The Python engine prices each distinct mean request with `CallPricer.price` itself and sums in
Python; the SQL engines (`tracker.footprint._duck`, `_spark`) load the same rows as columns
(`usage_columns`) next to the coefficient table (`coefficient_table`) and run the plan's one
query (`tracker.footprint._plan`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tracker.footprint._coefficients import TABLE_COLUMNS, api_amount, api_rates, table_row
from tracker.footprint._plan import (
    API_FIGURES,
    COUNTS,
    FIGURES,
    USAGE_COLUMNS,
    GroupKey,
    recorded_figures,
    row_figures,
)
from tracker.footprint._schema import RECORDED, UsageRow
from tracker.model._estimate import CallPricer

__all__ = ["ENGINES", "Pricers", "arrow_schema", "coefficient_table", "duckdb_available",
           "group_values", "run_python", "usage_columns"]

ENGINES = ("auto", "duckdb", "spark", "python")
#: (provider, model) -> its pricer (built once per distinct pair).
Pricers = Callable[[str | None, str | None], CallPricer]


def duckdb_available() -> bool:
    """Whether the ``analytics`` extra (duckdb and pyarrow) is installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("duckdb", "pyarrow"))


def group_values(row: UsageRow, keys: Sequence[GroupKey]) -> tuple[str | None, ...]:
    """A row's value of each group key (the Python engine's `figures_sql` keys)."""
    out: list[str | None] = []
    for key in keys:
        if key.name == "month":
            out.append(row.timestamp[:7] if row.timestamp else None)
        elif key.name == "day":
            out.append(row.timestamp[:10] if row.timestamp else None)
        elif key.name == "api_key":
            out.append(row.api_key_id)
        elif key.label is not None:
            out.append(row.label(key.label))
        else:
            out.append(getattr(row, key.name))
    return tuple(out)


def run_python(rows: Iterable[UsageRow], keys: Sequence[GroupKey], pricers: Pricers, *,
               reprice: bool) -> dict[tuple[str | None, ...], dict[str, float]]:
    """Price and sum: `CallPricer.price` once per distinct mean request."""
    groups: dict[tuple[str | None, ...], dict[str, float]] = {}
    estimates: dict[tuple[Any, ...], Any] = {}
    for row in rows:
        n = row.requests
        if n <= 0:
            continue
        group = groups.get(values := group_values(row, keys))
        if group is None:
            group = groups[values] = dict.fromkeys((*COUNTS, *FIGURES, *API_FIGURES), 0)
        recorded = row.recorded is not None and not reprice
        if recorded:
            figures = recorded_figures(row.recorded or ())
        else:
            p = pricers(row.provider, row.model)
            mean = (row.input_tokens / n, row.output_tokens / n, row.cached_input_tokens / n)
            key = (row.provider, row.model, *mean)
            e = estimates.get(key)
            if e is None:
                e = estimates[key] = p.price(mean[0], mean[1],  # type: ignore[arg-type]
                                             cached_input_tokens=mean[2])  # type: ignore[arg-type]
            figures = row_figures(e, n)
            if not p.model_known:
                group["fallback_calls"] += n
        api = api_amount(api_rates(row.provider, row.model), row.input_tokens,
                         row.output_tokens, row.cached_input_tokens, row.cache_write_tokens,
                         row.batch)
        if api is not None:
            group["api_usd"] += api
            group["api_calls"] += n
        group["calls"] += n
        group["requests_assumed"] += n if row.requests_assumed else 0
        group["recorded_calls"] += n if recorded else 0
        group["input_tokens"] += row.input_tokens
        group["output_tokens"] += row.output_tokens
        group["cached_input_tokens"] += row.cached_input_tokens
        for name, value in figures.items():
            group[name] += value
    return groups


def usage_columns(rows: Sequence[UsageRow], keys: Sequence[GroupKey]) -> dict[str, list[Any]]:
    """The rows as columns of the usage table (`USAGE_COLUMNS`, then the label columns)."""
    cols: dict[str, list[Any]] = {c: [] for c in USAGE_COLUMNS}
    labels = [k.label for k in keys if k.label is not None]
    label_cols: list[list[Any]] = [[] for _ in labels]
    blank = (None,) * len(RECORDED)
    for r in rows:
        cols["ts"].append(r.timestamp)
        cols["provider"].append(r.provider)
        cols["model"].append(r.model)
        cols["requests"].append(r.requests)
        cols["requests_assumed"].append(1 if r.requests_assumed else 0)
        cols["input_tokens"].append(r.input_tokens)
        cols["output_tokens"].append(r.output_tokens)
        cols["cached_input_tokens"].append(r.cached_input_tokens)
        cols["batch"].append(1 if r.batch else 0)
        cols["cache_write_tokens"].append(r.cache_write_tokens)
        cols["project"].append(r.project)
        cols["api_key_id"].append(r.api_key_id)
        cols["function_name"].append(r.function)
        cols["has_recorded"].append(0 if r.recorded is None else 1)
        for i, value in enumerate(r.recorded or blank):
            cols[f"rec_{i}"].append(value)
        for i, label in enumerate(labels):
            label_cols[i].append(r.label(label))
    for i, values in enumerate(label_cols):
        cols[f"label_{i}"] = values
    return cols


def arrow_schema(n_labels: int) -> Any:
    import pyarrow as pa

    text, whole, real = pa.string(), pa.int64(), pa.float64()
    types = {"ts": text, "provider": text, "model": text, "project": text, "api_key_id": text,
             "function_name": text}
    fields = [(c, types.get(c, real if c.startswith("rec_") else whole)) for c in USAGE_COLUMNS]
    fields += [(f"label_{i}", text) for i in range(n_labels)]
    return pa.schema(fields)


def coefficient_table(pairs: Iterable[tuple[str | None, str | None]], pricers: Pricers) -> Any:
    """The coefficient table (Arrow) of the distinct (provider, model) pairs."""
    import pyarrow as pa

    providers, models, values = [], [], []
    for provider, model in pairs:
        providers.append(provider or "")
        models.append(model or "")
        values.append(table_row(pricers(provider, model), provider, model))
    data: dict[str, Any] = {"c_provider": pa.array(providers, pa.string()),
                            "c_model": pa.array(models, pa.string())}
    for i, col in enumerate(TABLE_COLUMNS):
        data[col] = pa.array([v[i] for v in values], pa.float64())
    return pa.table(data)
