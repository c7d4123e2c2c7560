"""What-if: one workload re-priced under alternative regions, hardware, precisions, engines, models.

`compare(workload, ...)` prices the workload as given (the baseline), then once per alternative,
each alternative changing one lever. The workload is

- a dict of `estimate()` keywords (``{"model": "kimi-k2", "output_tokens": 1_000_000}``),
- a token mix: a list of such dicts, each with an optional ``count`` (calls of that shape),
- or a ledger file path (str or `pathlib.Path`): the baseline is what the ledger recorded (the
  same totals as ``llm-energy report``); alternatives re-price the same tokens with the line's
  own model, hardware, engine, method, PUE, grid figure, price and water per kWh, one replaced
  (a region brings its own grid figure and price).

Alternatives: `regions` (names, or ``"gcp:*"`` for every region of a cloud in the registry),
`hardware`, `precisions`, `engines` (passed on only where `estimate()` takes an ``engine``),
`models` (names; ``"siblings"`` adds the smaller models of the baseline's family in the
registry). A different model is labelled not like-for-like: it may not answer as well.

Rows come sorted by carbon, lowest first, the baseline among them; each names its alternative,
has energy, carbon, cost and water with their ranges, and its saving against the baseline.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tracker.exceptions import ConfigError
from tracker.export import _attributes as A
from tracker.model._estimate import CallPricer, estimate, pricer
from tracker.model._registry import get_registry

__all__ = ["Comparison", "Row", "compare", "family", "siblings"]

_KINDS = ("region", "hardware", "precision", "engine", "model")
_ESTIMATE_KEYS = frozenset(inspect.signature(estimate).parameters) | {"count"}
#: A size token ending a model name (``-8b``, ``-235b-a22b``, ``-8x22b``) or a size word.
_SIZE = re.compile(r"-(?:\d+x)?\d+(?:\.\d+)?[bm](?:-a\d+(?:\.\d+)?b)?(?=-|$)"
                   r"|-(?:mini|nano|lite|small|medium|large|tiny|scout|maverick)(?=-|$)")


@cache
def _accepts(keyword: str) -> bool:
    """Whether `estimate()` and `pricer()` take `keyword` (checked once)."""
    return all(keyword in inspect.signature(f).parameters for f in (estimate, pricer))


def family(name: str) -> str:
    """The family of a registry model name: the name without its size (``qwen3-8b`` -> qwen3)."""
    return _SIZE.sub("", name.lower())


def siblings(model: str) -> list[str]:
    """Registry models of `model`'s family with fewer active parameters, largest first."""
    registry = get_registry()
    spec = registry.model(model)
    fam = family(spec.name)
    found = [m for m in registry.models()
             if m.name != spec.name and family(m.name) == fam and m.active < spec.active
             and m.provider == spec.provider]
    return [m.name for m in sorted(found, key=lambda m: -m.active)]


@dataclass(frozen=True)
class Row:
    """One priced alternative (or the baseline) with its figures, ranges and saving."""

    kind: str
    alternative: str
    like_for_like: bool
    note: str
    energy_kwh: float
    energy_kwh_min: float
    energy_kwh_max: float
    gco2e: float
    gco2e_min: float
    gco2e_max: float
    usd: float
    usd_min: float
    usd_max: float
    water_l: float
    water_l_min: float
    water_l_max: float
    #: Against the baseline: positive = less than the baseline.
    saving_gco2e: float = 0.0
    saving_pct: float = 0.0
    saving_kwh: float = 0.0
    saving_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The row as a plain dict."""
        return asdict(self)


@dataclass
class Comparison:
    """The baseline and every alternative, `rows` sorted by carbon (lowest first)."""

    baseline: Row
    rows: list[Row] = field(default_factory=list)
    workload: str = ""

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """Baseline and rows as JSON-ready values."""
        return {"workload": self.workload, "baseline": self.baseline.to_dict(),
                "rows": [r.to_dict() for r in self.rows]}


class _Sums:
    """Figures summed over calls, with ranges."""

    def __init__(self) -> None:
        self.v = [0.0] * 12  # kwh, min, max, g, min, max, usd, min, max, water, min, max

    def add(self, kwh: tuple[float, float, float], ci: tuple[float, float, float],
            usd: tuple[float, float, float], water: tuple[float, float, float]) -> None:
        for i, triple in enumerate((kwh, ci, usd, water)):
            for j in range(3):
                self.v[3 * i + j] += triple[j]

    def row(self, kind: str, alternative: str, like: bool, note: str) -> Row:
        return Row(kind, alternative, like, note, *self.v)


# ----------------------------------------------------------------------------- alternatives


def _expand_regions(regions: str | Iterable[str]) -> list[str]:
    items = [regions] if isinstance(regions, str) else list(regions)
    registry = get_registry()
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError("regions", f"must be region names or 'cloud:*', got {item!r}")
        if item.endswith(":*"):
            kind = item[:-2].lower()
            names = [r.name for r in registry.regions() if r.kind == kind]
            if not names:
                raise ConfigError("regions", f"no region of {kind!r} in the registry "
                                  "(gcp, aws, azure)")
            out.extend(names)
        else:
            out.append(registry.region(item).name)
    return list(dict.fromkeys(out))


def _names(field_name: str, values: str | Iterable[str] | None) -> list[str]:
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(field_name, f"must be a list of names, got {item!r}")
    return list(dict.fromkeys(items))


def _alternatives(base_model: str | None, regions: Any, hardware: Any, precisions: Any,
                  engines: Any, models: Any) -> list[tuple[str, str]]:
    alts: list[tuple[str, str]] = []
    if regions is not None:
        alts += [("region", r) for r in _expand_regions(regions)]
    registry = get_registry()
    alts += [("hardware", registry.hardware(h).name) for h in _names("hardware", hardware)]
    alts += [("precision", p) for p in _names("precisions", precisions)]
    engine_names = _names("engines", engines)
    if engine_names and not _accepts("engine"):
        raise ConfigError("engines", "this version's estimate() has no engine profiles")
    alts += [("engine", e) for e in engine_names]
    for name in _names("models", models):
        if name.lower() == "siblings":
            if base_model is None:
                raise ConfigError("models", "'siblings' needs one baseline model")
            alts += [("model", s) for s in siblings(base_model)]
        else:
            alts.append(("model", registry.model(name).name))
    return list(dict.fromkeys(alts))


def _note(kind: str, value: str, base_model: str | None) -> tuple[bool, str]:
    if kind != "model":
        return True, ""
    if base_model is not None:
        try:
            if value in siblings(base_model):
                return False, f"smaller {family(base_model)} sibling: not like-for-like"
        except ConfigError:
            pass
    return False, "another model: not like-for-like"


# ----------------------------------------------------------------------------- dict / mix


def _calls(workload: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    items = [workload] if isinstance(workload, Mapping) else list(workload)
    if not items:
        raise ConfigError("workload", "the token mix is empty")
    calls: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ConfigError("workload", f"item {i}: expected a dict of estimate() keywords")
        unknown = sorted(set(item) - _ESTIMATE_KEYS)
        if unknown:
            raise ConfigError("workload", f"item {i}: unknown keyword(s) {unknown}")
        if "model" not in item:
            raise ConfigError("workload", f"item {i}: 'model' is required")
        count = item.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError("workload", f"item {i}: count must be an integer >= 0")
        calls.append(dict(item))
    return calls


def _price_call(call: dict[str, Any], sums: _Sums, change: tuple[str, str] | None) -> None:
    kw = {k: v for k, v in call.items() if k != "count"}
    count = int(call.get("count", 1))
    if change is not None:
        kind, value = change
        key = {"region": "region", "hardware": "hardware", "precision": "precision",
               "engine": "engine", "model": "model"}[kind]
        kw[key] = value
        if kind == "region":
            kw.pop("carbon_intensity", None)
            kw.pop("price_usd_per_kwh", None)
        if kind == "model":
            kw.pop("precision", None)
    e = estimate(**kw)
    kwh = e.energy_kwh
    lo = e.energy_kwh_min / kwh if kwh > 0 else 1.0
    hi = e.energy_kwh_max / kwh if kwh > 0 else 1.0
    sums.add((kwh * count, e.energy_kwh_min * count, e.energy_kwh_max * count),
             (e.gco2e * count, e.gco2e_min * count, e.gco2e_max * count),
             (e.usd * count, e.usd * lo * count, e.usd * hi * count),
             (e.water_l * count, e.water_l * lo * count, e.water_l * hi * count))


# ----------------------------------------------------------------------------- ledgers


class _Group:
    """Ledger calls sharing model, hardware, method, region and PUE: token sums (with factors)."""

    __slots__ = ("tin", "tin_ci", "tin_p", "tin_w", "tout", "tout_ci", "tout_p", "tout_w")

    def __init__(self) -> None:
        self.tin = self.tout = 0.0
        self.tin_ci = self.tout_ci = self.tin_p = self.tout_p = self.tin_w = self.tout_w = 0.0


def _read_ledger(path: Path) -> tuple[dict[tuple[Any, ...], _Group], _Sums]:
    """One pass: groups for re-pricing, and the recorded figures (with ranges) as the baseline."""
    from tracker.cli._report import summarize

    with path.open("rb") as stream:
        summary = summarize(stream)
    groups: dict[tuple[Any, ...], _Group] = {}
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
                group = groups[key] = _Group()
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
    base = _Sums()
    lo = ranges[0] / t.energy_kwh if t.energy_kwh > 0 else 1.0
    hi = ranges[1] / t.energy_kwh if t.energy_kwh > 0 else 1.0
    base.add((t.energy_kwh, ranges[0], ranges[1]), (t.gco2e, ranges[2], ranges[3]),
             (t.usd, t.usd * lo, t.usd * hi), (t.water_l, t.water_l * lo, t.water_l * hi))
    return groups, base


def _reprice_group(key: tuple[Any, ...], group: _Group, change: tuple[str, str],
                   sums: _Sums) -> None:
    model, hardware, method, region, pue, engine = key
    kw: dict[str, Any] = {"hardware": hardware, "method": method, "region": region,
                          "pue": pue if isinstance(pue, (int, float)) else None,
                          "unknown_model": "fallback"}
    if engine is not None and _accepts("engine"):
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


# ----------------------------------------------------------------------------- compare


def _with_saving(row: Row, base: Row) -> Row:
    saving = base.gco2e - row.gco2e
    pct = 100.0 * saving / base.gco2e if base.gco2e > 0 else 0.0
    return Row(**{**row.to_dict(), "saving_gco2e": saving, "saving_pct": pct,
                  "saving_kwh": base.energy_kwh - row.energy_kwh,
                  "saving_usd": base.usd - row.usd})


def _baseline_value(kind: str, calls: list[dict[str, Any]]) -> str | None:
    """The value of one lever shared by every call of the mix as priced (None: they differ)."""
    values: set[str] = set()
    for call in calls:
        if kind == "engine":
            if call.get("engine") is None:
                return None
            values.add(str(call["engine"]))
            continue
        e = estimate(**{k: v for k, v in call.items() if k != "count"})
        values.add(str({"model": e.model, "region": e.region, "hardware": e.hardware,
                        "precision": e.precision}[kind]))
    return values.pop() if len(values) == 1 else None


def compare(workload: Mapping[str, Any] | Sequence[Mapping[str, Any]] | str | Path, *,
            regions: str | Iterable[str] | None = None,
            hardware: str | Iterable[str] | None = None,
            precisions: str | Iterable[str] | None = None,
            engines: str | Iterable[str] | None = None,
            models: str | Iterable[str] | None = None) -> Comparison:
    """Re-price `workload` under each alternative; rows sorted by carbon, lowest first.

    See the module docstring for the workload forms. Raises `ConfigError` naming the field for
    an invalid workload or alternative (an unknown region, model, precision ...).
    """
    if isinstance(workload, (str, Path)):
        path = Path(workload)
        if not path.is_file():
            raise ConfigError("workload", f"no ledger file {str(workload)!r}")
        groups, base_sums = _read_ledger(path)
        models_seen = {k[0] for k in groups}
        base_model = next(iter(models_seen)) if len(models_seen) == 1 else None
        alts = _alternatives(base_model, regions, hardware, precisions, engines, models)
        current = {"region": {k[3] for k in groups}, "hardware": {k[1] for k in groups},
                   "model": models_seen, "engine": {k[5] for k in groups}}
        baseline = base_sums.row("baseline", f"ledger {path.name}", True, "as recorded")
        rows = [baseline]
        for kind, value in alts:
            if current.get(kind) == {value}:
                continue
            sums = _Sums()
            for key, group in groups.items():
                _reprice_group(key, group, (kind, value), sums)
            like, note = _note(kind, value, base_model)
            rows.append(sums.row(kind, value, like, note))
        label = f"ledger {path.name}"
    else:
        calls = _calls(workload)
        base_model = _baseline_value("model", calls)
        alts = _alternatives(base_model, regions, hardware, precisions, engines, models)
        base_sums = _Sums()
        for call in calls:
            _price_call(call, base_sums, None)
        parts = [v for v in (_baseline_value(k, calls) for k in
                             ("model", "region", "hardware", "precision", "engine")) if v]
        label = ", ".join(parts) or "workload"
        baseline = base_sums.row("baseline", label, True, "as given")
        rows = [baseline]
        shared = {kind: _baseline_value(kind, calls) for kind in _KINDS}
        for kind, value in alts:
            if shared[kind] == value:
                continue
            sums = _Sums()
            for call in calls:
                _price_call(call, sums, (kind, value))
            like, note = _note(kind, value, base_model)
            rows.append(sums.row(kind, value, like, note))
    final = [_with_saving(r, baseline) for r in rows]
    final.sort(key=lambda r: (r.gco2e, r.kind != "baseline"))
    return Comparison(next(r for r in final if r.kind == "baseline"), final, label)
