"""What-if over a ledger: the recorded calls grouped by their factors, and re-priced.

`read_ledger()` makes one pass: groups of calls sharing model, hardware, method, region, PUE and
engine (token sums, with the grid figure, price and water each call was priced with), and the
recorded totals (with ranges) as the baseline, the same totals as ``llm-energy report``.
`reprice_group()` prices one group under one alternative.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tracker import _attributes as A
from tracker.model._estimate import CallPricer, pricer
from tracker.reduce._compare_rows import Sums

__all__ = ["Group", "read_ledger", "reprice_group"]


class Group:
    """Ledger calls sharing model, hardware, method, region and PUE: token sums (with factors)."""

    __slots__ = ("tin", "tin_ci", "tin_p", "tin_w", "tout", "tout_ci", "tout_p", "tout_w")

    def __init__(self) -> None:
        self.tin = self.tout = 0.0
        self.tin_ci = self.tout_ci = self.tin_p = self.tout_p = self.tin_w = self.tout_w = 0.0


def read_ledger(path: Path) -> tuple[dict[tuple[Any, ...], Group], Sums]:
    """One pass: groups for re-pricing, and the recorded figures (with ranges) as the baseline."""
    from tracker.export._ledger_reader import summarize

    with path.open("rb") as stream:
        summary = summarize(stream)
    groups: dict[tuple[Any, ...], Group] = {}
    ranges = [0.0, 0.0, 0.0, 0.0]  # kwh min/max, gco2e min/max
    with path.open("rb") as stream:
        for raw in stream:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(rec, dict) or not isinstance(rec.get(A.ENERGY_KWH), (int, float)):
                continue
            tin = float(rec.get(A.GEN_AI_USAGE_INPUT_TOKENS) or 0)
            tout = float(rec.get(A.GEN_AI_USAGE_OUTPUT_TOKENS) or 0)
            model = rec.get(A.ENERGY_MODEL) or rec.get(A.GEN_AI_REQUEST_MODEL)
            engine = rec.get(A.ENERGY_ENGINE)
            key = (model if rec.get(A.ENERGY_MODEL_KNOWN, True) else None,
                   rec.get(A.ENERGY_HARDWARE), rec.get(A.ENERGY_METHOD) or "calibrated",
                   rec.get(A.ENERGY_REGION), rec.get(A.ENERGY_PUE),
                   engine if isinstance(engine, str) else None)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group()
            ci = float(rec.get(A.ENERGY_GRID_GCO2E_PER_KWH) or 0.0)
            price = float(rec.get(A.ENERGY_PRICE_USD_PER_KWH) or 0.0)
            kwh = float(rec[A.ENERGY_KWH])
            water = rec.get(A.ENERGY_WATER_L)
            # on-site water per facility kWh as recorded (the line's WUE / PUE)
            per_kwh = float(water) / kwh if isinstance(water, (int, float)) and kwh > 0 else 0.0
            group.tin += tin
            group.tout += tout
            group.tin_ci += tin * ci
            group.tout_ci += tout * ci
            group.tin_p += tin * price
            group.tout_p += tout * price
            group.tin_w += tin * per_kwh
            group.tout_w += tout * per_kwh
            for i, name in enumerate((A.ENERGY_KWH_MIN, A.ENERGY_KWH_MAX, A.ENERGY_GCO2E_MIN,
                                      A.ENERGY_GCO2E_MAX)):
                value = rec.get(name)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    ranges[i] += float(value)
    t = summary.total
    base = Sums()
    lo = ranges[0] / t.energy_kwh if t.energy_kwh > 0 else 1.0
    hi = ranges[1] / t.energy_kwh if t.energy_kwh > 0 else 1.0
    base.add((t.energy_kwh, ranges[0], ranges[1]), (t.gco2e, ranges[2], ranges[3]),
             (t.usd, t.usd * lo, t.usd * hi), (t.water_l, t.water_l * lo, t.water_l * hi))
    return groups, base


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
    p: CallPricer = pricer(model, **kw)
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
    lo = kwh[1] / kwh[0] if kwh[0] > 0 else 1.0
    hi = kwh[2] / kwh[0] if kwh[0] > 0 else 1.0
    water = p.kwh_in * group.tin_w + p.kwh_out * group.tout_w
    sums.add(kwh, (g, g * lo, g * hi), (usd, usd * lo, usd * hi), (water, water * lo, water * hi))


