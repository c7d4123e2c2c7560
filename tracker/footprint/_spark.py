"""The Spark engine: the plan's one SQL query as a Spark job (the ``spark`` extra).

The usage rows become a DataFrame (in batches), the coefficients a small one; both are
registered as temporary views and `tracker.footprint._plan.figures_sql` runs on Spark SQL as
written, no Python UDF. The caller's own SparkSession is used when given (``spark=``); else one
is started on ``master`` (default ``local[*]``) and stopped afterwards.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from tracker.exceptions import ConfigError
from tracker.footprint._coefficients import TABLE_COLUMNS, table_row
from tracker.footprint._engines import Pricers, usage_columns
from tracker.footprint._plan import COUNTS, USAGE_COLUMNS, GroupKey, figures_sql
from tracker.footprint._schema import UsageRow

__all__ = ["run_spark", "spark_available"]

_BATCH = 200_000
_TEXT = ("ts", "provider", "model", "project", "api_key_id", "function_name")


def spark_available() -> bool:
    """Whether pyspark (the ``spark`` extra) is installed."""
    return importlib.util.find_spec("pyspark") is not None


def _schema(n_labels: int) -> Any:
    from pyspark.sql import types as T

    fields = []
    for col in USAGE_COLUMNS:
        kind = (T.StringType() if col in _TEXT
                else T.DoubleType() if col.startswith("rec_") else T.LongType())
        fields.append(T.StructField(col, kind, True))
    fields += [T.StructField(f"label_{i}", T.StringType(), True) for i in range(n_labels)]
    return T.StructType(fields)


def _session(spark: Any, master: str | None) -> tuple[Any, bool]:
    if spark is not None:
        return spark, False
    if not spark_available():
        raise ConfigError("engine", "spark needs the spark extra: pip install "
                                    "'llm-energy-tracker[spark]' (and Java 17)")
    from pyspark.sql import SparkSession

    try:
        session = (SparkSession.builder.master(master or "local[*]")
                   .appName("llm-energy price").config("spark.ui.enabled", "false")
                   .config("spark.sql.shuffle.partitions", "8").getOrCreate())
    except Exception as exc:  # no Java, a master that cannot be reached
        raise ConfigError("master", f"cannot start Spark on {master or 'local[*]'}: "
                                    f"{exc.__class__.__name__}") from None
    return session, True


def run_spark(rows: Iterable[UsageRow], keys: Sequence[GroupKey], pricers: Pricers, *,
              reprice: bool, spark: Any = None, master: str | None = None
              ) -> dict[tuple[str | None, ...], dict[str, float]]:
    """Price and sum on Spark: the same query as DuckDB, over DataFrames of the rows."""
    session, owned = _session(spark, master)
    n_labels = sum(1 for k in keys if k.label is not None)
    schema = _schema(n_labels)
    names = [f.name for f in schema.fields]
    tag = uuid.uuid4().hex[:12]
    usage_view, coef_view = f"llm_energy_usage_{tag}", f"llm_energy_coefficients_{tag}"
    try:
        frame = None
        pairs: dict[tuple[str | None, str | None], None] = {}
        batch: list[UsageRow] = []

        def flush(frame: Any) -> Any:
            cols = usage_columns(batch, keys)
            part = session.createDataFrame(list(zip(*(cols[n] for n in names), strict=True)),
                                           schema)
            batch.clear()
            return part if frame is None else frame.unionByName(part)

        for row in rows:
            pairs[(row.provider, row.model)] = None
            batch.append(row)
            if len(batch) >= _BATCH:
                frame = flush(frame)
        if batch or frame is None:
            frame = flush(frame)
        frame.createOrReplaceTempView(usage_view)
        from pyspark.sql import types as T

        coef_schema = T.StructType(
            [T.StructField("c_provider", T.StringType(), False),
             T.StructField("c_model", T.StringType(), False),
             *(T.StructField(c, T.DoubleType(), False) for c in TABLE_COLUMNS)])
        coef_rows = [(p or "", m or "", *table_row(pricers(p, m), p, m)) for p, m in pairs]
        session.createDataFrame(coef_rows, coef_schema).createOrReplaceTempView(coef_view)
        result = session.sql(figures_sql(usage_view, coef_view, keys, reprice=reprice))
        out: dict[tuple[str | None, ...], dict[str, float]] = {}
        for record in result.collect():
            values = record.asDict()
            group = tuple(values.pop(f"k_{i}") for i in range(len(keys)))
            out[group] = {k: (int(v) if k in COUNTS else float(v)) if v is not None else 0
                          for k, v in values.items()}
        return out
    finally:
        for view in (usage_view, coef_view):
            session.catalog.dropTempView(view)
        if owned:
            session.stop()
