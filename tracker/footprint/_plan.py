"""The one pricing plan: group keys, figures, and the SQL every SQL engine runs.

A usage row of N requests is priced as N requests of its mean lengths (the model is
context-aware, so never as one request of the summed tokens), by the coefficients of its
(provider, model) (`tracker.footprint._coefficients`). A ledger line keeps the figures recorded
at call time unless the user asks to reprice. Figures are summed per group.

`figures_sql()` writes one SQL query over a table of usage rows (`USAGE_COLUMNS`) joined to the
coefficient table; DuckDB and Spark SQL both run it as written (only standard functions:
``COALESCE``, ``LEAST``, ``GREATEST``, ``SUBSTR``, ``CASE``, ``SUM``). `row_figures()` is the same
arithmetic in Python, for the reference engine, from a `CallPricer.price` estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracker.exceptions import ConfigError
from tracker.footprint._coefficients import BASIS, COEFFICIENT_COLUMNS, basis_sql
from tracker.footprint._schema import RECORDED
from tracker.model._estimate import Estimate

__all__ = ["BY_CHOICES", "COUNTS", "FIGURES", "USAGE_COLUMNS", "GroupKey", "figures_sql",
           "parse_by", "row_figures"]

BY_CHOICES = ("month", "day", "model", "provider", "project", "api_key", "function", "label:NAME")
#: Summed counts of each output row.
COUNTS = ("calls", "requests_assumed", "recorded_calls", "fallback_calls", "input_tokens",
          "output_tokens", "cached_input_tokens")
#: Summed figures of each output row (base units: kWh, gCO2e, USD, L), each with its range.
FIGURES = tuple(f"{name}{bound}" for name in (
    "energy_kwh", "server_kwh", "accelerator_kwh", "gco2e", "embodied_gco2e", "usd", "water_l")
    for bound in ("", "_min", "_max"))
#: Columns of the usage table an SQL engine prices (labels follow as ``label_0``...).
USAGE_COLUMNS = ("ts", "provider", "model", "requests", "requests_assumed", "input_tokens",
                 "output_tokens", "cached_input_tokens", "project", "api_key_id", "function_name",
                 "has_recorded", *(f"rec_{i}" for i in range(len(RECORDED))))


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


def _figure_sql(reprice: bool) -> dict[str, str]:
    """Per-row figure expressions over the priced columns ``p_*`` and the recorded ``rec_*``."""
    priced = {
        "energy_kwh": "p_srv * facility", "energy_kwh_min": "p_srv_min * facility",
        "energy_kwh_max": "p_srv_max * facility",
        "server_kwh": "p_srv", "server_kwh_min": "p_srv_min", "server_kwh_max": "p_srv_max",
        "accelerator_kwh": "p_acc", "accelerator_kwh_min": "p_acc_min",
        "accelerator_kwh_max": "p_acc_max",
        "embodied_gco2e": "p_acc * emb", "embodied_gco2e_min": "p_acc_min * emb_min",
        "embodied_gco2e_max": "p_acc_max * emb_max",
    }
    for bound in ("", "_min", "_max"):
        kwh = priced[f"energy_kwh{bound}"]
        priced[f"gco2e{bound}"] = f"{kwh} * ci"
        priced[f"usd{bound}"] = f"{kwh} * price"
        priced[f"water_l{bound}"] = f"{kwh} * water_per_kwh"
    if reprice:
        return priced
    r = [f"rec_{i}" for i in range(len(RECORDED))]

    def scaled(value: str, bound: str) -> str:
        return f"(CASE WHEN {r[0]} > 0 THEN {value} * {bound} / {r[0]} ELSE {value} END)"

    recorded = {
        "energy_kwh": r[0], "energy_kwh_min": r[1], "energy_kwh_max": r[2],
        "server_kwh": r[3], "server_kwh_min": r[3], "server_kwh_max": r[3],
        "accelerator_kwh": r[4], "accelerator_kwh_min": r[4], "accelerator_kwh_max": r[4],
        "gco2e": r[5], "gco2e_min": r[6], "gco2e_max": r[7],
        "usd": r[8], "usd_min": scaled(r[8], r[1]), "usd_max": scaled(r[8], r[2]),
        "water_l": r[9], "water_l_min": scaled(r[9], r[1]), "water_l_max": scaled(r[9], r[2]),
        "embodied_gco2e": r[10], "embodied_gco2e_min": r[10], "embodied_gco2e_max": r[10],
    }
    return {k: f"(CASE WHEN has_recorded = 1 THEN {recorded[k]} ELSE {priced[k]} END)"
            for k in FIGURES}


def figures_sql(usage: str, coefficients: str, keys: Sequence[GroupKey], *,
                reprice: bool) -> str:
    """The query pricing table `usage` by table `coefficients` and summing per group."""
    mean = {n: f"(CAST({n} AS DOUBLE) / requests)" for n in
            ("input_tokens", "output_tokens", "cached_input_tokens")}
    features = basis_sql(mean["input_tokens"], mean["output_tokens"], mean["cached_input_tokens"])
    names = [f"f_{name}" for name in BASIS]
    vectors = ("acc", "acc_min", "acc_max", "srv", "srv_min", "srv_max")
    coef = ", ".join(f"c.{col}" for col in COEFFICIENT_COLUMNS)
    joined = (f"SELECT u.*, {coef}, "
              + ", ".join(f"{sql} AS {n}" for sql, n in zip(features, names, strict=True))
              + f" FROM {usage} u JOIN {coefficients} c ON COALESCE(u.provider, '') = "
                "c.c_provider AND COALESCE(u.model, '') = c.c_model WHERE u.requests > 0")
    priced = ("SELECT b.*, "
              + ", ".join(f"requests * ({_dot(v, names)}) AS p_{v}" for v in vectors)
              + " FROM b")
    figures = _figure_sql(reprice)
    use_recorded = "0" if reprice else "has_recorded"
    group = ", ".join(f"{k.sql} AS k_{i}" for i, k in enumerate(keys))
    sums = [
        "SUM(requests) AS calls",
        "SUM(CASE WHEN requests_assumed = 1 THEN requests ELSE 0 END) AS requests_assumed",
        f"SUM(CASE WHEN {use_recorded} = 1 THEN requests ELSE 0 END) AS recorded_calls",
        f"SUM(CASE WHEN known = 0 AND NOT ({use_recorded} = 1) THEN requests ELSE 0 END) "
        "AS fallback_calls",
        "SUM(input_tokens) AS input_tokens", "SUM(output_tokens) AS output_tokens",
        "SUM(cached_input_tokens) AS cached_input_tokens",
        *(f"SUM({figures[f]}) AS {f}" for f in FIGURES),
    ]
    select = ", ".join([*(f"k_{i}" for i in range(len(keys))), *sums])
    inner = f"SELECT p.*{', ' + group if group else ''} FROM p"
    group_by = f" GROUP BY {', '.join(f'k_{i}' for i in range(len(keys)))}" if keys else ""
    return (f"WITH b AS ({joined}), p AS ({priced}), g AS ({inner}) "
            f"SELECT {select} FROM g{group_by}")


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
