"""The DuckDB engine: every source summed per (group, provider, model), then priced once.

The model is linear in the basis features of a request (`tracker.footprint._coefficients`), so
the plan's first stage (`tracker.footprint._plan.sums_sql`) sums N x basis(mean request) and the
recorded figures per (group, provider, model), and the second (`finish_sql`) applies each
pair's coefficients to its sums. Ledgers and LiteLLM spend logs in plain files are summed by
DuckDB itself in one scan (`tracker.footprint._native`) when every line reads exactly as the
Python reader would read it; any other source, or a file with a line the native reader
declines, goes through its Python reader (which names the malformed lines) into a row table in
Arrow batches, summed by the same first stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from tracker.exceptions import ConfigError
from tracker.footprint._engines import (
    Pricers,
    arrow_schema,
    coefficient_table,
    duckdb_available,
    usage_columns,
)
from tracker.footprint._native import load_native, supported
from tracker.footprint._plan import COUNTS, USAGE_COLUMNS, GroupKey, finish_sql, sums_sql
from tracker.footprint._schema import UsageRow
from tracker.footprint._sources import Source
from tracker.footprint.formats import ReadOptions, resolve_format

__all__ = ["run_duckdb"]

#: Rows per Arrow batch loaded into DuckDB (bounded memory for any input size).
_BATCH = 65536
Groups = dict[tuple[str | None, ...], dict[str, float]]


def _connect(threads: int | None) -> Any:
    if not duckdb_available():
        raise ConfigError("engine", "duckdb needs the analytics extra: pip install "
                                    "'llm-energy-tracker[analytics]'")
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _is_plain(source: Source) -> bool:
    if source.path is None:
        return False
    with open(source.path, "rb") as f:
        return f.read(2) != b"\x1f\x8b"


def run_duckdb(sources: Iterable[Source], fmt: str, options: ReadOptions,
               python_rows: Callable[[Source], Iterator[UsageRow]], keys: Sequence[GroupKey],
               pricers: Pricers, *, reprice: bool, bounds: tuple[str | None, str | None],
               note_pairs: Callable[[Iterable[tuple[str | None, str | None]]], None],
               threads: int | None = None) -> Groups:
    """Load every source, then price and sum with the plan's query."""
    import pyarrow as pa

    con = _connect(threads)
    try:
        names = [*USAGE_COLUMNS, *(f"label_{i}" for i, k in enumerate(
            [k for k in keys if k.label is not None]))]
        schema = arrow_schema(len(names) - len(USAGE_COLUMNS))
        con.register("empty_usage", pa.Table.from_pylist([], schema=schema))
        con.execute("CREATE TABLE usage AS SELECT * FROM empty_usage")
        con.unregister("empty_usage")
        groups = [*((k.sql, f"k_{i}") for i, k in enumerate(keys)), ("provider", "provider"),
                  ("model", "model")]
        con.execute(f"CREATE TABLE all_sums AS {sums_sql('usage', groups, reprice=reprice)} "
                    "LIMIT 0")
        for source in sources:
            source_fmt = resolve_format(source, fmt, options)
            if (_is_plain(source) and supported(source_fmt, keys, options.project_label)
                    and _native(con, source, source_fmt, keys, options, bounds, reprice)):
                continue
            _load_python(con, python_rows(source), keys, schema)
        con.execute(f"INSERT INTO all_sums BY NAME {sums_sql('usage', groups, reprice=reprice)}")
        note_pairs(con.execute("SELECT DISTINCT provider, model FROM all_sums "
                               "WHERE priced_calls > 0").fetchall())
        pairs = con.execute("SELECT DISTINCT provider, model FROM all_sums").fetchall()
        con.register("coefficients", coefficient_table(pairs, pricers))
        return _fetch(con, finish_sql("all_sums", "coefficients", len(keys)), len(keys))
    finally:
        con.close()


def _native(con: Any, source: Source, fmt: str, keys: Sequence[GroupKey],
            options: ReadOptions, bounds: tuple[str | None, str | None], reprice: bool) -> bool:
    """Sum `source` natively; False (nothing added) when a line needs the Python reader."""
    assert source.path is not None
    try:
        return load_native(con, source.path, fmt, keys, options.project_label, "all_sums",
                           bounds, reprice=reprice)
    except Exception:  # a file DuckDB's reader refuses as a whole: the Python reader decides
        return False


def _load_python(con: Any, rows: Iterable[UsageRow], keys: Sequence[GroupKey],
                 schema: Any) -> None:
    import pyarrow as pa

    batch: list[UsageRow] = []

    def flush() -> None:
        table = pa.Table.from_pydict(usage_columns(batch, keys), schema=schema)
        con.register("batch_rows", table)
        con.execute("INSERT INTO usage SELECT * FROM batch_rows")
        con.unregister("batch_rows")
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            flush()
    if batch:
        flush()


def _fetch(con: Any, query: str, n_keys: int) -> Groups:
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    out: Groups = {}
    for record in cursor.fetchall():
        values = dict(zip(names, record, strict=True))
        group = tuple(values.pop(f"k_{i}") for i in range(n_keys))
        out[group] = {k: (int(v) if k in COUNTS else float(v)) if v is not None else 0
                      for k, v in values.items()}
    return out
