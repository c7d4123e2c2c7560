"""DuckDB reading the biggest sources itself: ledgers and LiteLLM spend logs (JSON Lines).

The Python readers are the reference; this is the same reading as one DuckDB ``read_json`` scan,
summed per (group, provider, model) by the plan's first stage as it reads (no row is kept), for
the shapes that grow to millions of lines. Counts and figures are typed
columns checked by range (a count must be a whole number from 0 to 10^12); names are checked
once per distinct value by the Python readers' own rule (`tracker.footprint._schema.name`).
Where a line does not read (it does not parse, a value has the wrong type, a timestamp is not
in the plain ISO 8601 UTC form the SDK and LiteLLM write, a count is out of range), nothing of
the file is kept and the Python reader reads it instead, naming the
malformed lines. One difference remains, on values no writer of these files produces: a number
where a name belongs is read as its text, and ``true``/``false`` where a count belongs as 1/0.
Plain files only (gzip and standard input go through the Python reader).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Any

from tracker import _attributes as A
from tracker.footprint._plan import GroupKey
from tracker.footprint._schema import name
from tracker.footprint.formats._litellm_spend import PROVIDERS

__all__ = ["load_native", "supported"]

_LABEL = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_TZ = r"(\.[0-9]{1,6})?(Z|\+00:00)"
_TZ_OPTIONAL = r"(\.[0-9]{1,6})?(Z|\+00:00)?"
_MAX_COUNT = 10**12
_MAX_VALUE = 1e15
_LEDGER_RECORDED = (A.ENERGY_KWH, A.ENERGY_KWH_MIN, A.ENERGY_KWH_MAX, A.ENERGY_SERVER_KWH,
                    A.ENERGY_ACCELERATOR_KWH, A.ENERGY_GCO2E, A.ENERGY_GCO2E_MIN,
                    A.ENERGY_GCO2E_MAX, A.ENERGY_USD, A.ENERGY_WATER_L,
                    A.ENERGY_EMBODIED_GCO2E)
_HEX = frozenset(string.hexdigits)


def supported(fmt: str, keys: Sequence[GroupKey], project_label: str) -> bool:
    """Whether the native reader reads format `fmt` with these keys."""
    labels = [k.label for k in keys if k.label is not None]
    return fmt in ("ledger", "litellm-spend") and all(
        _LABEL.match(x) for x in [*labels, project_label])


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _count(col: str) -> tuple[str, str]:
    value = f"CAST({col} AS BIGINT)"
    return value, f"({col} IS NULL OR ({col} = floor({col}) AND {col} BETWEEN 0 AND {_MAX_COUNT}))"


def _figure(col: str) -> tuple[str, str]:
    return col, f"({col} IS NULL OR ({col} BETWEEN 0 AND {_MAX_VALUE}))"


def _ts(col: str, suffix: str) -> tuple[str, str]:
    value = f"(REPLACE(SUBSTR({col}, 1, 19), ' ', 'T') || 'Z')"
    ok = (f"(TRY_CAST(REPLACE(SUBSTR({col}, 1, 19), 'T', ' ') AS TIMESTAMP) IS NOT NULL AND "
          f"length({col}) >= 19 AND regexp_full_match(SUBSTR({col}, 20), {_lit(suffix)}))")
    return value, ok


def _label(col: str, key: str) -> str:
    """A label's value: a string, a whole number or a boolean (``true``), as its JSON text."""
    path = _lit(f"$.{_q(key)}")
    return (f"(CASE WHEN json_type({col}, {path}) IN ('VARCHAR', 'BIGINT', 'UBIGINT', "
            f"'BOOLEAN') THEN json_extract_string({col}, {path}) END)")


def _ledger(keys: Sequence[GroupKey], project_label: str
            ) -> tuple[dict[str, str], list[str], dict[str, str]]:
    wanted = {k.name for k in keys}
    labelled = "project" in wanted or any(k.label is not None for k in keys)
    names = {"provider": A.GEN_AI_PROVIDER_NAME, "model_a": A.GEN_AI_REQUEST_MODEL,
             "model_b": A.GEN_AI_RESPONSE_MODEL, "model_c": A.ENERGY_MODEL}
    if "function" in wanted:  # only the columns a key needs are read: a narrower scan
        names.update(function_a="function", function_b=A.ENERGY_FUNCTION)
    counts = {"input_tokens": A.GEN_AI_USAGE_INPUT_TOKENS,
              "output_tokens": A.GEN_AI_USAGE_OUTPUT_TOKENS,
              "cached_input_tokens": A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS}
    columns = {"timestamp": "VARCHAR", **{c: "VARCHAR" for c in names.values()},
               **{c: "DOUBLE" for c in counts.values()},
               **{c: "DOUBLE" for c in _LEDGER_RECORDED}}
    if labelled:
        columns["labels"] = "JSON"
    select: dict[str, str] = {k: _q(v) for k, v in names.items()}
    checks: list[str] = []
    for out, col in counts.items():
        value, ok = _count(_q(col))
        select[out] = value
        checks.append(ok)
    rec = []
    for col in _LEDGER_RECORDED:
        value, ok = _figure(_q(col))
        rec.append(value)
        checks.append(ok)
    ts, ok = _ts(_q("timestamp"), _TZ)
    checks.append(ok)
    select["ts"] = ts
    has = f"({rec[0]} IS NOT NULL)"
    stand_in = {1: rec[0], 2: rec[0], 3: rec[0], 4: rec[0], 6: rec[5], 7: rec[5]}
    for i, r in enumerate(rec):
        full = f"COALESCE({r}, {stand_in[i]})" if i in stand_in else r
        select[f"rec_{i}"] = f"CASE WHEN {has} THEN COALESCE({full}, 0.0) END"
    select["has_recorded"] = f"CASE WHEN {has} THEN 1 ELSE 0 END"
    if labelled:  # a label that is not a string is no label (as in the Python reader)
        select["project"] = _label("labels", project_label)
        for i, key in enumerate(k.label for k in keys if k.label is not None):
            select[f"label_{i}"] = _label("labels", key)
    checks.append(f"({select['input_tokens']} IS NOT NULL OR {select['output_tokens']} IS NOT "
                  f"NULL OR {has})")
    return columns, checks, select


def _litellm(keys: Sequence[GroupKey]) -> tuple[dict[str, str], list[str], dict[str, str]]:
    texts = ["model", "custom_llm_provider", "team_id", "api_key", "user", "end_user"]
    columns = {"startTime": "VARCHAR", **dict.fromkeys(texts, "VARCHAR"),
               "prompt_tokens": "DOUBLE", "completion_tokens": "DOUBLE"}
    select = {"model_a": "model", "provider": "custom_llm_provider", "project": "team_id",
              "api_key_id": "api_key"}
    checks = ["model IS NOT NULL"]
    for out, col in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens")):
        value, ok = _count(col)
        select[out] = value
        checks.append(ok)
    checks.append(f"({select['input_tokens']} IS NOT NULL OR {select['output_tokens']} IS NOT "
                  "NULL)")
    ts, ok = _ts('"startTime"', _TZ_OPTIONAL)
    select["ts"] = ts
    checks.append(ok)
    labels = {"user": '"user"', "end_user": "end_user"}
    for i, key in enumerate(k.label for k in keys if k.label is not None):
        select[f"label_{i}"] = labels.get(key or "", "CAST(NULL AS VARCHAR)")
    return columns, checks, select


#: Name columns of the loaded table, checked per distinct value.
_NAMES = ("provider", "model_a", "model_b", "model_c", "function_a", "function_b", "project",
          "api_key_id")


def _clean_names(con: Any, table: str, present: Sequence[str], fmt: str) -> None:
    """NULL out the names the Python readers' rule refuses (checked per distinct value)."""
    for col in present:
        values = [v for (v,) in con.execute(f"SELECT DISTINCT {col} FROM {table}").fetchall()
                  if v is not None]
        rule = _key_id if col == "api_key_id" else name
        bad = [v for v in values if rule(v) is None]
        if bad:
            con.execute(f"UPDATE {table} SET {col} = NULL WHERE {col} IN "
                        f"(SELECT UNNEST(?::VARCHAR[]))", [bad])
    if fmt == "litellm-spend":  # model "bedrock/x" through provider "bedrock" is model "x"
        con.execute(f"UPDATE {table} SET model_a = SUBSTR(model_a, length(provider) + 2) "
                    f"WHERE provider IS NOT NULL AND starts_with(model_a, provider || '/')")
        mapped = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in PROVIDERS.items())
        con.execute(f"UPDATE {table} SET provider = CASE provider {mapped} ELSE provider END")


def _key_id(value: Any) -> str | None:
    text = name(value)
    return text if text is not None and len(text) >= 32 and set(text) <= _HEX else None


def _key_sql(key: GroupKey, present: Sequence[str], index: int) -> str:
    """A group key over the first stage's columns of a native source."""
    if key.name in ("month", "day"):
        return f"ts_{key.name}"
    if key.name == "model":
        return "COALESCE(" + ", ".join(c for c in ("model_a", "model_b", "model_c")
                                       if c in present) + ")"
    if key.name == "function":
        found = [c for c in ("function_a", "function_b") if c in present]
        return f"COALESCE({', '.join(found)})" if found else "CAST(NULL AS VARCHAR)"
    column = {"api_key": "api_key_id"}.get(key.name, key.name)
    if key.label is not None:
        column = f"label_{index}"
    return column if column in present else "CAST(NULL AS VARCHAR)"


def load_native(con: Any, path: str, fmt: str, keys: Sequence[GroupKey], project_label: str,
                target: str, bounds: tuple[str | None, str | None], *, reprice: bool) -> bool:
    """Sum the file's usage into table `target` (the plan's first stage) in one scan.

    Returns False, having added nothing, when a line needs the Python reader.
    """
    columns, checks, select = (_ledger(keys, project_label) if fmt == "ledger"
                               else _litellm(keys))
    spec = "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in columns.items()) + "}"
    # Without ignore_errors, a line that does not parse, or a value of the wrong type, fails
    # the whole scan: the caller then hands the file to the Python reader.
    source = (f"read_json({_lit(path)}, format = 'newline_delimited', "
              f"maximum_object_size = 16777216, columns = {spec})")
    lo, hi = bounds
    wanted = {k.name for k in keys}
    need_ts = bool(lo or hi or wanted & {"month", "day"})
    fields = {k: v for k, v in select.items() if k != "ts" or need_ts}
    fields.setdefault("has_recorded", "0")
    for i in range(len(_LEDGER_RECORDED)):
        fields.setdefault(f"rec_{i}", "CAST(NULL AS DOUBLE)")
    fields.setdefault("cached_input_tokens", "0")
    fields.setdefault("batch", "0")
    fields.setdefault("cache_write_tokens", "0")
    fields.update({"requests": "1", "requests_assumed": "0",
                   "input_tokens": f"COALESCE({select['input_tokens']}, 0)",
                   "output_tokens": f"COALESCE({select['output_tokens']}, 0)",
                   "line_ok": "(" + " AND ".join(checks) + ")"})
    if "cached_input_tokens" in select:
        fields["cached_input_tokens"] = f"COALESCE({select['cached_input_tokens']}, 0)"
    inner = ("(SELECT " + ", ".join(f"{v} AS {k}" for k, v in fields.items())
             + f" FROM {source})")
    present = [c for c in select if c in _NAMES or c.startswith("label_")]
    groups = [("line_ok", "line_ok"), *((c, c) for c in present)]
    if "month" in wanted:
        groups.append(("SUBSTR(ts, 1, 7)", "ts_month"))
    if "day" in wanted:
        groups.append(("SUBSTR(ts, 1, 10)", "ts_day"))
    where = [f"ts >= {_lit(lo)}" if lo else "", f"ts < {_lit(hi)}" if hi else ""]
    bound = " AND ".join(w for w in where if w)
    from tracker.footprint._plan import SUMS, sums_sql

    first = sums_sql(inner, groups, reprice=reprice,
                     where=f"NOT line_ok OR ({bound})" if bound else "")
    con.execute(f"CREATE OR REPLACE TEMP TABLE native_sums AS {first}")
    try:
        row = con.execute("SELECT count(*) FROM native_sums WHERE NOT line_ok").fetchone()
        if not row or int(row[0]) != 0:
            return False
        _clean_names(con, "native_sums", present, fmt)
        labels = [k for k in keys if k.label is not None]
        key_sql = [_key_sql(k, present, labels.index(k) if k in labels else 0) for k in keys]
        models = [c for c in ("model_a", "model_b", "model_c") if c in present]
        con.execute(f"INSERT INTO {target} BY NAME SELECT "
                    + ", ".join([*(f"{e} AS k_{i}" for i, e in enumerate(key_sql)),
                                 "provider", f"COALESCE({', '.join(models)}) AS model",
                                 *SUMS])
                    + " FROM native_sums")
        return True
    finally:
        con.execute("DROP TABLE IF EXISTS native_sums")
