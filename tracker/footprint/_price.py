"""`price_usage()`: the footprint of the usage an organisation already has, grouped.

Beside the electricity (``usd``), each group has its API price (``api_usd``, what the provider
bills at list price, from the price table named in ``price_table``), or None when none of its
calls has one.

Sources (files, directories, globs, gzip, ``-``) are read by the format readers
(`tracker.footprint.formats`) into usage rows, filtered by time, priced by the same model and
provider deployment as live calls, and summed per group by an engine: DuckDB (the ``analytics``
extra; the default when installed), Python (the exact reference) or Spark (the ``spark``
extra, or the caller's own SparkSession). Bad input is a `ConfigError` naming the field or
file; malformed lines are counted in `PricedUsage.malformed` and the rest is priced.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from tracker.exceptions import ConfigError
from tracker.footprint._coefficients import resolve_pricer
from tracker.footprint._engines import ENGINES, duckdb_available, run_python
from tracker.footprint._plan import API_FIGURES, COUNTS, FIGURES, GroupKey, parse_by
from tracker.footprint._schema import DEFAULT_MEAN_INPUT_TOKENS, UsageRow
from tracker.footprint._sources import Issues, expand
from tracker.footprint.formats import FORMATS, ReadOptions, read_source
from tracker.model._api_prices import CURRENCY, table_version
from tracker.model._deployment import Deployment
from tracker.model._estimate import CallPricer, pricer

__all__ = ["BOUNDARY", "PricedUsage", "parse_map", "price_usage", "time_bound"]

#: What ``energy_kwh`` covers (the inner boundaries are ``server_kwh`` and ``accelerator_kwh``).
BOUNDARY = "facility"
_SERVING = {"serving_engine": "engine"}


class PricedUsage(list[dict[str, Any]]):
    """One dict per group (the rows ``--json`` prints), with what the run found on the side."""

    #: One warning naming the malformed lines, or None.
    malformed: str | None = None
    malformed_count: int = 0
    #: Models the registry lacks, priced by the fallback model.
    unknown_models: list[str]
    #: How each (provider, model) was priced: the deployment assumed.
    deployments: list[dict[str, Any]]
    engine: str = ""


def parse_map(value: str | Mapping[str, str] | None) -> dict[str, str]:
    """``input_tokens=prompt_tok,output_tokens=completion_tok`` as a dict (`ConfigError`)."""
    from tracker.footprint.formats._csv import COLUMNS

    if value is None:
        return {}
    pairs = (list(value.items()) if isinstance(value, Mapping)
             else [p.partition("=")[::2] for p in value.split(",") if p.strip()])
    out: dict[str, str] = {}
    for key, column in pairs:
        key, column = str(key).strip(), str(column).strip()
        if not column or (key not in COLUMNS and not (key.startswith("label.") and len(key) > 6)):
            raise ConfigError("map", f"expected FIELD=COLUMN with FIELD one of "
                                     f"{', '.join(COLUMNS)} or label.NAME, got {key}={column}")
        out[key] = column
    return out


def time_bound(value: str | datetime | None, *, end: bool) -> str | None:
    """A ``since``/``until`` bound as a canonical timestamp (a bare ``until`` date: inclusive)."""
    from tracker._isotime import parse_iso

    if value is None:
        return None
    moment = value if isinstance(value, datetime) else parse_iso(value)
    if moment is None:
        raise ConfigError("until" if end else "since", f"not an ISO 8601 date or time: {value!r}")
    if end and isinstance(value, str) and len(value.strip()) == 10:
        moment += timedelta(days=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _deployment(options: Mapping[str, Any]) -> Deployment:
    fields = set(Deployment.field_names())
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        field = _SERVING.get(key, key)
        if field not in fields or key == "engine":
            raise ConfigError(key, "is not a deployment option (serving engine: serving_engine)")
        kwargs[field] = value
    deployment = Deployment(**kwargs)
    pricer(None, unknown_model="fallback", **deployment.pricer_kwargs())  # validates, names field
    return deployment


class _Run:
    """Rows read, filtered and noted on their way to an engine."""

    def __init__(self, deployment: Deployment, reprice: bool) -> None:
        self.deployment = deployment
        self.reprice = reprice
        self.cache: dict[tuple[str | None, str | None], CallPricer] = {}
        self.priced: dict[tuple[str | None, str | None], None] = {}
        self.assumed = 0

    def pricer(self, provider: str | None, model: str | None) -> CallPricer:
        key = (provider, model)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = resolve_pricer(self.deployment, provider, model)
        return found

    def rows(self, rows: Iterable[UsageRow], since: str | None,
             until: str | None) -> Iterator[UsageRow]:
        for row in rows:
            if since is not None or until is not None:
                ts = row.timestamp
                if ts is None or (since is not None and ts < since) or (
                        until is not None and ts >= until):
                    continue
            if row.recorded is None or self.reprice:
                self.priced[(row.provider, row.model)] = None
            yield row


def _rows(sources: Any, fmt: str, issues: Issues, options: ReadOptions) -> Iterator[UsageRow]:
    for source in expand(sources):
        yield from read_source(source, fmt, issues, options)


def _engine(engine: str, spark: Any) -> str:
    if engine not in ENGINES:
        raise ConfigError("engine", f"unknown {engine!r} (choose from {', '.join(ENGINES)})")
    if engine == "auto":
        return "spark" if spark is not None else ("duckdb" if duckdb_available() else "python")
    return engine


def _deployments(run: _Run) -> list[dict[str, Any]]:
    out = []
    for (provider, model), p in sorted(run.cache.items(), key=lambda kv: (
            kv[0][0] or "", kv[0][1] or "")):
        out.append({"provider": provider, "model": model, "priced_as": p.model,
                    "model_known": p.model_known, "hardware": p.hardware, "region": p.region,
                    "pue": p.pue, "gco2e_per_kwh": p.carbon_intensity,
                    "grid_source": p.grid_source, "usd_per_kwh": p.price_usd_per_kwh,
                    "wue": p.wue, "method": p.method})
    return out


def _assumptions(row: dict[str, Any], mean_input: int) -> list[str]:
    notes = ["each usage row priced as its request count of its mean request"]
    if row["requests_assumed"]:
        notes.append(f"{row['requests_assumed']} requests assumed from input tokens at "
                     f"{mean_input} per request (the source counts no requests)")
    if row["recorded_calls"]:
        notes.append(f"{row['recorded_calls']} calls keep the figures recorded at call time")
    if row["api_calls"] < row["calls"]:
        notes.append(f"{row['calls'] - row['api_calls']} calls without an API price (the price "
                     "table lacks the model, prices it in tiers by prompt size, or is not "
                     "installed)")
    if row["fallback_calls"]:
        notes.append(f"{row['fallback_calls']} calls of models the registry lacks, priced by "
                     "the fallback model")
    return notes


def price_usage(
    sources: str | Sequence[str],
    *,
    format: str = "auto",
    engine: str = "auto",
    by: str | Sequence[str] = ("month", "model"),
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    reprice: bool = False,
    spark: Any = None,
    master: str | None = None,
    column_map: str | Mapping[str, str] | None = None,
    mean_input_tokens: int = DEFAULT_MEAN_INPUT_TOKENS,
    project_label: str = "project",
    **deployment: Any,
) -> PricedUsage:
    """Price usage exports, gateway logs, trace files or ledgers; one dict per group.

    ``format``: ``auto`` or one of `tracker.footprint.formats.FORMATS`. ``engine``: ``auto``
    (DuckDB when the ``analytics`` extra is installed, else Python; Spark when ``spark`` is
    given), ``duckdb``, ``python`` or ``spark`` (``spark``: a SparkSession; else one is started
    on ``master``, default ``local[*]``). ``by``: month, day, model, provider, project, api_key,
    function, label:NAME. ``reprice``: price ledger lines again instead of keeping their
    recorded figures. ``deployment``: `tracker.estimate()`'s keywords (hardware, region, pue,
    ...; ``serving_engine`` for its ``engine``). Raises `ConfigError` naming the field or file.
    """
    keys = parse_by(by)
    if format != "auto" and format not in FORMATS:
        raise ConfigError("format", f"unknown {format!r} (choose from auto, {', '.join(FORMATS)})")
    if type(mean_input_tokens) is not int or not 1 <= mean_input_tokens <= 10**7:
        raise ConfigError("mean_input_tokens", f"must be a whole number from 1 to 10,000,000, "
                                               f"got {mean_input_tokens!r}")
    run = _Run(_deployment(deployment), reprice)
    chosen = _engine(engine, spark)
    lo, hi = time_bound(since, end=False), time_bound(until, end=True)
    issues = Issues()
    options = ReadOptions(parse_map(column_map), mean_input_tokens, project_label)
    rows = run.rows(_rows(sources, format, issues, options), lo, hi)
    groups: dict[tuple[str | None, ...], dict[str, Any]]
    if chosen == "python":
        groups = run_python(rows, keys, run.pricer, reprice=reprice)
    elif chosen == "duckdb":
        from tracker.footprint._duck import run_duckdb

        groups = run_duckdb(
            expand(sources), format, options,
            lambda source: run.rows(read_source(source, format, issues, options), lo, hi),
            keys, run.pricer, reprice=reprice, bounds=(lo, hi),
            note_pairs=lambda pairs: run.priced.update(dict.fromkeys(pairs)))
    else:
        from tracker.footprint._spark import run_spark

        groups = run_spark(rows, keys, run.pricer, reprice=reprice, spark=spark, master=master)
    return _result(groups, keys, run, issues, chosen, mean_input_tokens)


def _result(groups: Mapping[tuple[str | None, ...], Mapping[str, Any]],
            keys: Sequence[GroupKey], run: _Run, issues: Issues, engine: str,
            mean_input: int) -> PricedUsage:
    result = PricedUsage()
    for values in sorted(groups, key=lambda g: tuple((v is None, v or "") for v in g)):
        sums = groups[values]
        row: dict[str, Any] = dict(zip((k.name for k in keys), values, strict=True))
        row.update({k: int(sums[k]) for k in COUNTS})
        row.update({k: float(sums[k]) for k in FIGURES})
        priced = row["api_calls"] > 0  # no API price at all: absent, not zero
        row.update({k: float(sums[k]) if priced else None for k in API_FIGURES})
        row["api_currency"] = CURRENCY if priced else None
        row["price_table"] = table_version() if priced else None
        row["boundary"] = BOUNDARY
        row["assumptions"] = _assumptions(row, mean_input)
        result.append(row)
    result.malformed = issues.message()
    result.malformed_count = issues.count
    result.unknown_models = sorted({m or "(none)" for (p, m) in run.priced
                                    if not run.pricer(p, m).model_known})
    result.deployments = _deployments(run)
    result.engine = engine
    return result
