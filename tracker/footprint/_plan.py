"""The one pricing plan: group keys, figures, and the SQL every SQL engine runs.

A usage row of N requests is priced as N requests of its mean lengths (the model is
context-aware, so never as one request of the summed tokens), by the coefficients of its
(provider, model) (`tracker.footprint._coefficients`). A ledger line keeps the figures recorded
at call time unless the user asks to reprice. Figures are summed per group.

The API price (`API_FIGURES`) is summed the same way: the uncached input, cache-read,
cache-write and output tokens of each (group, provider, model), standard and batch apart, times
the pair's API price columns; only pairs the price table prices count (``api_calls``), so a
group none of whose calls has an API price has none. It is always the price table's, ledger
lines included.

`figures_sql()` writes one SQL query over a table of usage rows (`USAGE_COLUMNS`) joined to the
coefficient table; DuckDB and Spark SQL both run it as written (only standard functions:
``COALESCE``, ``LEAST``, ``GREATEST``, ``SUBSTR``, ``CASE``, ``SUM``). `row_figures()` is the same
arithmetic in Python, for the reference engine, from a `CallPricer.price` estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracker.exceptions import ConfigError
from tracker.footprint._coefficients import BASIS, basis_sql
from tracker.footprint._schema import RECORDED
from tracker.model._estimate import Estimate

__all__ = ["API_FIGURES", "BY_CHOICES", "COUNTS", "FIGURES", "SUMS", "USAGE_COLUMNS", "GroupKey",
           "figures_sql", "finish_sql", "parse_by", "row_figures", "sums_sql"]

BY_CHOICES = ("month", "day", "model", "provider", "project", "api_key", "function", "label:NAME")
#: Summed counts of each output row.
COUNTS = ("calls", "requests_assumed", "recorded_calls", "fallback_calls", "input_tokens",
          "output_tokens", "cached_input_tokens", "api_calls")
#: The API price of each output row (US dollars, the price table's; no range).
API_FIGURES = ("api_usd",)
#: Summed figures of each output row (base units: kWh, gCO2e, USD, L), each with its range.
FIGURES = tuple(f"{name}{bound}" for name in (
    "energy_kwh", "server_kwh", "accelerator_kwh", "gco2e", "embodied_gco2e", "usd", "water_l")
    for bound in ("", "_min", "_max"))
#: Columns of the usage table an SQL engine prices (labels follow as ``label_0``...).
USAGE_COLUMNS = ("ts", "provider", "model", "requests", "requests_assumed", "input_tokens",
                 "output_tokens", "cached_input_tokens", "batch", "cache_write_tokens", "project",
                 "api_key_id", "function_name", "has_recorded",
                 *(f"rec_{i}" for i in range(len(RECORDED))))


@dataclass(frozen=True)
class GroupKey:
    """One ``--by`` key: its output name and its SQL expression over the usage table."""

    name: str
    sql: str
    label: str | None = None


def parse_by(by: str | Sequence[str]) -> tuple[GroupKey, ...]:
    """``month,model`` or ``("month", "model")`` as group keys (`ConfigError` naming ``by``)."""
    items = [p.strip() for p in by.split(",")] if isinstance(by, str) else list(by)
    keys: list[GroupKey] = []
    labels = 0
    for item in items:
        if not isinstance(item, str) or not item:
            raise ConfigError("by", f"empty or not a text: {item!r}")
        if item == "month":
            keys.append(GroupKey("month", "SUBSTR(ts, 1, 7)"))
        elif item == "day":
            keys.append(GroupKey("day", "SUBSTR(ts, 1, 10)"))
        elif item in ("model", "provider", "project"):
            keys.append(GroupKey(item, item))
        elif item == "function":
            keys.append(GroupKey("function", "function_name"))
        elif item == "api_key":
            keys.append(GroupKey("api_key", "api_key_id"))
        elif item.startswith("label:") and len(item) > len("label:"):
            label = item[len("label:"):]
            keys.append(GroupKey(f"label:{label}", f"label_{labels}", label))
            labels += 1
        else:
            raise ConfigError("by", f"unknown key {item!r} (choose from {', '.join(BY_CHOICES)})")
    if len({k.name for k in keys}) != len(keys):
        raise ConfigError("by", "a key is given twice")
    return tuple(keys)


def _dot(vector: str, features: Sequence[str]) -> str:
    return " + ".join(f"{vector}_{k} * {f}" for k, f in enumerate(features))


#: Token sums the API price multiplies: uncached input, cached input, output; standard, batch.
_API_SUMS = ("a_unc", "a_cached", "a_write", "a_out", "ab_unc", "ab_cached", "ab_write",
             "ab_out")
#: Columns of the per-(group, provider, model) sums the query's first stage writes.
SUMS = ("calls", "requests_assumed", "recorded_calls", "priced_calls", "input_tokens",
        "output_tokens", "cached_input_tokens", *(f"b_{k}" for k in range(len(BASIS))),
        *(f"r_{f}" for f in FIGURES), *_API_SUMS)


def basis_columns() -> list[str]:
    """The basis features of a usage row's mean request, as SQL over the usage columns."""
    mean = {n: f"(CAST({n} AS DOUBLE) / requests)" for n in
            ("input_tokens", "output_tokens", "cached_input_tokens")}
    return list(basis_sql(mean["input_tokens"], mean["output_tokens"],
                          mean["cached_input_tokens"]))


def sums_sql(usage: str, groups: Sequence[tuple[str, str]], *, reprice: bool,
             where: str = "") -> str:
    """The first stage: usage rows summed per group (expression, alias) into `SUMS`.

    The model is linear in the basis features, so N requests of a row's mean add
    N x basis(mean) to the sums, and the coefficients apply once per (provider, model) group.
    """
    use_rec = "0" if reprice else "has_recorded"
    recorded = _recorded_sql()
    features = basis_columns()
    aggregates = [
        "SUM(requests) AS calls",
        "SUM(CASE WHEN requests_assumed = 1 THEN requests ELSE 0 END) AS requests_assumed",
        f"SUM(CASE WHEN {use_rec} = 1 THEN requests ELSE 0 END) AS recorded_calls",
        f"SUM(CASE WHEN {use_rec} = 1 THEN 0 ELSE requests END) AS priced_calls",
        "SUM(input_tokens) AS input_tokens", "SUM(output_tokens) AS output_tokens",
        "SUM(cached_input_tokens) AS cached_input_tokens",
        *(f"SUM(CASE WHEN {use_rec} = 1 THEN 0.0 ELSE requests * {f} END) AS b_{k}"
          for k, f in enumerate(features)),
        *(f"SUM(CASE WHEN {use_rec} = 1 THEN {recorded[f]} ELSE 0.0 END) AS r_{f}"
          for f in FIGURES),
        *_api_sums_sql(),
    ]
    select = ", ".join([*(f"{e} AS {a}" for e, a in groups), *aggregates])
    group_by = f" GROUP BY {', '.join(a for _, a in groups)}" if groups else ""
    condition = f"requests > 0 AND ({where})" if where else "requests > 0"
    return f"SELECT {select} FROM {usage} WHERE {condition}{group_by}"


def _api_sums_sql() -> list[str]:
    """The token sums of `_API_SUMS` (every row: the API price is never a recorded one)."""
    cached = "LEAST(GREATEST(cached_input_tokens, 0), input_tokens)"
    written = f"LEAST(GREATEST(COALESCE(cache_write_tokens, 0), 0), input_tokens - {cached})"
    tokens = (f"(input_tokens - {cached} - {written})", cached, written, "output_tokens")
    out = []
    for prefix, test in (("a", "<> 1"), ("ab", "= 1")):
        for name, value in zip(("unc", "cached", "write", "out"), tokens, strict=True):
            out.append(f"SUM(CASE WHEN COALESCE(batch, 0) {test} THEN CAST({value} AS DOUBLE) "
                       f"ELSE 0.0 END) AS {prefix}_{name}")
    return out


def _recorded_sql() -> dict[str, str]:
    r = [f"rec_{i}" for i in range(len(RECORDED))]

    def scaled(value: str, bound: str) -> str:
        return f"(CASE WHEN {r[0]} > 0 THEN {value} * {bound} / {r[0]} ELSE {value} END)"

    return {
        "energy_kwh": r[0], "energy_kwh_min": r[1], "energy_kwh_max": r[2],
        "server_kwh": r[3], "server_kwh_min": r[3], "server_kwh_max": r[3],
        "accelerator_kwh": r[4], "accelerator_kwh_min": r[4], "accelerator_kwh_max": r[4],
        "gco2e": r[5], "gco2e_min": r[6], "gco2e_max": r[7],
        "usd": r[8], "usd_min": scaled(r[8], r[1]), "usd_max": scaled(r[8], r[2]),
        "water_l": r[9], "water_l_min": scaled(r[9], r[1]), "water_l_max": scaled(r[9], r[2]),
        "embodied_gco2e": r[10], "embodied_gco2e_min": r[10], "embodied_gco2e_max": r[10],
    }


def _priced_sql() -> dict[str, str]:
    """Figures of summed basis features ``b_*`` by the coefficients joined as ``c``."""
    names = [f"b_{k}" for k in range(len(BASIS))]
    p = {v: f"({_dot(v, names)})" for v in ("acc", "acc_min", "acc_max", "srv", "srv_min",
                                            "srv_max")}
    priced = {
        "energy_kwh": f"{p['srv']} * facility", "energy_kwh_min": f"{p['srv_min']} * facility",
        "energy_kwh_max": f"{p['srv_max']} * facility",
        "server_kwh": p["srv"], "server_kwh_min": p["srv_min"], "server_kwh_max": p["srv_max"],
        "accelerator_kwh": p["acc"], "accelerator_kwh_min": p["acc_min"],
        "accelerator_kwh_max": p["acc_max"],
        "embodied_gco2e": f"{p['acc']} * emb", "embodied_gco2e_min": f"{p['acc_min']} * emb_min",
        "embodied_gco2e_max": f"{p['acc_max']} * emb_max",
    }
    for bound in ("", "_min", "_max"):
        kwh = priced[f"energy_kwh{bound}"]
        priced[f"gco2e{bound}"] = f"{kwh} * ci"
        priced[f"usd{bound}"] = f"{kwh} * price"
        priced[f"water_l{bound}"] = f"{kwh} * water_per_kwh"
    return priced


def finish_sql(sums: str, coefficients: str, n_keys: int) -> str:
    """The second stage: the sums (with ``k_*``, provider, model) priced and summed per group."""
    priced = _priced_sql()
    keys = [f"k_{i}" for i in range(n_keys)]
    aggregates = [
        "SUM(calls) AS calls", "SUM(requests_assumed) AS requests_assumed",
        "SUM(recorded_calls) AS recorded_calls",
        "SUM(CASE WHEN known = 0 THEN priced_calls ELSE 0 END) AS fallback_calls",
        "SUM(input_tokens) AS input_tokens", "SUM(output_tokens) AS output_tokens",
        "SUM(cached_input_tokens) AS cached_input_tokens",
        *(f"SUM(r_{f} + {priced[f]}) AS {f}" for f in FIGURES),
        "SUM(CASE WHEN api_known = 1 THEN calls ELSE 0 END) AS api_calls",
        "SUM(CASE WHEN api_known = 1 THEN a_unc * api_in + a_cached * api_cached + a_write * "
        "api_write + a_out * api_out + ab_unc * bapi_in + ab_cached * bapi_cached + ab_write * "
        "bapi_write + ab_out * bapi_out ELSE 0.0 END) AS api_usd",
    ]
    group_by = f" GROUP BY {', '.join(keys)}" if keys else ""
    return (f"SELECT {', '.join([*keys, *aggregates])} FROM {sums} s JOIN {coefficients} c "
            "ON COALESCE(s.provider, '') = c.c_provider AND COALESCE(s.model, '') = c.c_model"
            f"{group_by}")


def figures_sql(usage: str, coefficients: str, keys: Sequence[GroupKey], *,
                reprice: bool) -> str:
    """The query pricing table `usage` by table `coefficients` and summing per group."""
    groups = [*((k.sql, f"k_{i}") for i, k in enumerate(keys)), ("provider", "provider"),
              ("model", "model")]
    first = sums_sql(usage, groups, reprice=reprice)
    return finish_sql(f"({first})", coefficients, len(keys))


def row_figures(e: Estimate, n: int) -> dict[str, float]:
    """The figures of `n` requests each priced as estimate `e` (the Python reference)."""
    price = e.price_usd_per_kwh
    water = e.wue / e.pue
    f = {
        "energy_kwh": e.energy_kwh, "energy_kwh_min": e.energy_kwh_min,
        "energy_kwh_max": e.energy_kwh_max, "server_kwh": e.server_kwh,
        "server_kwh_min": e.server_kwh_min, "server_kwh_max": e.server_kwh_max,
        "accelerator_kwh": e.accelerator_kwh, "accelerator_kwh_min": e.accelerator_kwh_min,
        "accelerator_kwh_max": e.accelerator_kwh_max, "gco2e": e.gco2e,
        "gco2e_min": e.gco2e_min, "gco2e_max": e.gco2e_max,
        "embodied_gco2e": e.embodied_gco2e, "embodied_gco2e_min": e.embodied_gco2e_min,
        "embodied_gco2e_max": e.embodied_gco2e_max,
        "usd": e.usd, "usd_min": e.energy_kwh_min * price, "usd_max": e.energy_kwh_max * price,
        "water_l": e.water_l, "water_l_min": e.energy_kwh_min * water,
        "water_l_max": e.energy_kwh_max * water,
    }
    return {k: v * n for k, v in f.items()}


def recorded_figures(rec: Sequence[float]) -> dict[str, float]:
    """The figures of a ledger line's recorded values (`RECORDED` order)."""
    kwh = rec[0]

    def scaled(value: float, bound: float) -> float:
        return value * bound / kwh if kwh > 0 else value

    return {
        "energy_kwh": kwh, "energy_kwh_min": rec[1], "energy_kwh_max": rec[2],
        "server_kwh": rec[3], "server_kwh_min": rec[3], "server_kwh_max": rec[3],
        "accelerator_kwh": rec[4], "accelerator_kwh_min": rec[4], "accelerator_kwh_max": rec[4],
        "gco2e": rec[5], "gco2e_min": rec[6], "gco2e_max": rec[7],
        "embodied_gco2e": rec[10], "embodied_gco2e_min": rec[10], "embodied_gco2e_max": rec[10],
        "usd": rec[8], "usd_min": scaled(rec[8], rec[1]), "usd_max": scaled(rec[8], rec[2]),
        "water_l": rec[9], "water_l_min": scaled(rec[9], rec[1]),
        "water_l_max": scaled(rec[9], rec[2]),
    }
