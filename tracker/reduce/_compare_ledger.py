"""What-if over a ledger: the recorded calls grouped by their factors, and re-priced.

`read_ledger()` makes one pass: groups of calls sharing model, hardware, method, region, PUE and
engine (token sums, with the grid figure, price and water each call was priced with), and the
recorded totals (with ranges) as the baseline, the same totals as ``llm-energy report``.
`reprice_group()` prices one group under one alternative; `reprice_api()` gives the groups the
API price of another model (the recorded one stays the baseline's).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tracker import _attributes as A
from tracker._text import clean
from tracker.exceptions import ConfigError
from tracker.export._ledger_reader import LINE_ERRORS, Totals, parse_line
from tracker.model._api_prices import ApiPrice, table_version
from tracker.model._estimate import CallPricer, pricer
from tracker.reduce._compare_rows import Sums

#: Below this a kWh figure divides nothing: a ledger line's subnormal energy would make the
#: ratios taken from it (water per kWh, the range's bounds) overflow to infinity.
_TINY_KWH = 1e-30

__all__ = ["Group", "read_ledger", "reprice_api", "reprice_group"]

#: Largest factor one line may carry (the ledger reader's own bound on a line's values).
_MAX_VALUE = 1e15
#: Longest registry key read from a line.
_MAX_KEY = 256
#: PUE values taken from a line (at least 1, as `pricer` requires; above 10 is a corrupt line).
_PUE_MIN, _PUE_MAX = 1.0, 10.0


class Group:
    """Ledger calls sharing model, hardware, method, region and PUE: token sums (with factors)."""

    __slots__ = ("tcached", "tin", "tin_ci", "tin_p", "tin_w", "tout", "tout_ci", "tout_p",
                 "tout_w")

    def __init__(self) -> None:
        self.tin = self.tout = self.tcached = 0.0
        self.tin_ci = self.tout_ci = self.tin_p = self.tout_p = self.tin_w = self.tout_w = 0.0


def _factor(record: dict[str, Any], key: str) -> float:
    """A per-line factor (grid figure, price, water, range bound): finite, 0 to 1e15, else 0."""
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    try:
        number = float(value)
    except OverflowError:
        return 0.0
    return number if 0.0 <= number <= _MAX_VALUE else 0.0


def _name(value: object) -> str | None:
    """A registry key read from a line (model, hardware, method, region, engine), or None."""
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_KEY else None


def read_ledger(path: Path) -> tuple[dict[tuple[Any, ...], Group], Sums]:
    """One pass: groups for re-pricing, and the recorded figures (with ranges) as the baseline.

    Lines go through the report's own validated reader (`parse_line`): a line the report skips
    (malformed JSON, nesting too deep, a count written as a string, a negative or huge value) is
    skipped here too, so the baseline is the report's total and no alternative re-prices it.
    """
    groups: dict[tuple[Any, ...], Group] = {}
    tables: list[str] = []
    total = Totals()
    ranges = [0.0, 0.0, 0.0, 0.0]  # kwh min/max, gco2e min/max
    with path.open("rb") as stream:
        for raw in stream:
            if not raw.strip():
                continue
            try:
                rec, _, row = parse_line(raw)
            except LINE_ERRORS:
                continue
            total.add(row)
            table = rec.get(A.ENERGY_PRICE_TABLE)
            if row.api_calls and not tables and isinstance(table, str) and len(table) <= 64:
                tables.append(clean(table))
            if not isinstance(rec.get(A.ENERGY_KWH), (int, float)):
                continue  # not priced: counted in the totals, nothing to re-price
            tin, tout = float(row.input_tokens), float(row.output_tokens)
            model = _name(rec.get(A.ENERGY_MODEL)) or _name(rec.get(A.GEN_AI_REQUEST_MODEL))
            pue = rec.get(A.ENERGY_PUE)
            key = (model if rec.get(A.ENERGY_MODEL_KNOWN, True) is not False else None,
                   _name(rec.get(A.ENERGY_HARDWARE)),
                   _name(rec.get(A.ENERGY_METHOD)) or "calibrated",
                   _name(rec.get(A.ENERGY_REGION)),
                   pue if _PUE_MIN <= _factor(rec, A.ENERGY_PUE) <= _PUE_MAX else None,
                   _name(rec.get(A.ENERGY_ENGINE)))
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group()
            ci = _factor(rec, A.ENERGY_GRID_GCO2E_PER_KWH)
            price = _factor(rec, A.ENERGY_PRICE_USD_PER_KWH)
            kwh = row.energy_kwh
            # on-site water per facility kWh as recorded (the line's WUE / PUE)
            per_kwh = row.water_l / kwh if kwh > _TINY_KWH else 0.0
            group.tin += tin
            group.tout += tout
            cached = rec.get(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)
            if type(cached) is int and 0 < cached <= tin:
                group.tcached += cached
            group.tin_ci += tin * ci
            group.tout_ci += tout * ci
            group.tin_p += tin * price
            group.tout_p += tout * price
            group.tin_w += tin * per_kwh
            group.tout_w += tout * per_kwh
            for i, name in enumerate((A.ENERGY_KWH_MIN, A.ENERGY_KWH_MAX, A.ENERGY_GCO2E_MIN,
                                      A.ENERGY_GCO2E_MAX)):
                ranges[i] += _factor(rec, name)
    t = total
    base = Sums()
    lo = ranges[0] / t.energy_kwh if t.energy_kwh > _TINY_KWH else 1.0
    hi = ranges[1] / t.energy_kwh if t.energy_kwh > _TINY_KWH else 1.0
    base.add((t.energy_kwh, ranges[0], ranges[1]), (t.gco2e, ranges[2], ranges[3]),
             (t.usd, t.usd * lo, t.usd * hi), (t.water_l, t.water_l * lo, t.water_l * hi))
    if t.api_calls:  # the API price the lines recorded
        base.add_api(t.api_usd, tables[0] if tables else None)
    return groups, base


def reprice_api(groups: Iterable[Group], api: ApiPrice | None, sums: Sums) -> None:
    """The API price of the groups' tokens at another model's list prices.

    Flat prices only: prices tiered by prompt size need each call's own size, which the groups
    no longer have (the alternative then has no API price).
    """
    flat = api.flat if api is not None else None
    if flat is None:
        return
    for g in groups:
        sums.add_api((g.tin - g.tcached) * flat[0] + g.tcached * flat[1] + g.tout * flat[3],
                     table_version())


def _pricer(model: str | None, kind: str, kw: dict[str, Any]) -> CallPricer:
    """The pricer of one alternative.

    A factor a line names that the registry does not know (a hostile or foreign ledger) is priced
    at its default, never an error; the alternative's own value still raises.
    """
    for _ in range(len(kw) + 1):
        try:
            return pricer(model, **kw)
        except ConfigError as exc:
            if exc.field == kind or exc.field not in kw or kw[exc.field] is None:
                raise
            kw[exc.field] = None
    return pricer(model, **kw)


def reprice_group(key: tuple[Any, ...], group: Group, change: tuple[str, str],
                   sums: Sums) -> None:
    model, hardware, method, region, pue, engine = key
    kw: dict[str, Any] = {"hardware": hardware, "method": method, "region": region,
                          "pue": pue if isinstance(pue, (int, float)) else None,
                          "unknown_model": "fallback"}
    if engine is not None:
        kw["engine"] = engine  # the profile the line was priced with
    kind, value = change
    if kind == "model":
        model = value
    else:
        kw[kind] = value
    p = _pricer(model, kind, kw)
    if kind == "region":  # the alternative region's own grid figure and price
        g_in, g_out = group.tin * p.carbon_intensity, group.tout * p.carbon_intensity
        u_in, u_out = group.tin * p.price_usd_per_kwh, group.tout * p.price_usd_per_kwh
    else:  # the figures each call was priced with
        g_in, g_out, u_in, u_out = group.tin_ci, group.tout_ci, group.tin_p, group.tout_p
    kwh = (p.kwh_in * group.tin + p.kwh_out * group.tout,
           p.kwh_in_min * group.tin + p.kwh_out_min * group.tout,
           p.kwh_in_max * group.tin + p.kwh_out_max * group.tout)
    g = p.kwh_in * g_in + p.kwh_out * g_out
    usd = p.kwh_in * u_in + p.kwh_out * u_out
    lo = kwh[1] / kwh[0] if kwh[0] > _TINY_KWH else 1.0
    hi = kwh[2] / kwh[0] if kwh[0] > _TINY_KWH else 1.0
    water = p.kwh_in * group.tin_w + p.kwh_out * group.tout_w
    sums.add(kwh, (g, g * lo, g * hi), (usd, usd * lo, usd * hi), (water, water * lo, water * hi))


