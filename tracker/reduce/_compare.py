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
has energy, carbon, electricity cost and water with their ranges, its saving against the
baseline, and the workload's API price (`Row.api_usd`: list price, from the price table; None
where the table lacks the model), which only a model alternative changes.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tracker._text import clean
from tracker.exceptions import ConfigError
from tracker.model._api_prices import ApiPrice, api_price_for, table_version
from tracker.model._estimate import estimate
from tracker.model._registry import get_registry
from tracker.reduce._compare_ledger import read_ledger, reprice_api, reprice_group
from tracker.reduce._compare_rows import Comparison, Row, Sums

__all__ = ["Comparison", "Row", "compare", "family", "siblings"]

_KINDS = ("region", "hardware", "precision", "engine", "model")
_ESTIMATE_KEYS = frozenset(inspect.signature(estimate).parameters) | {"count"}
#: A size token ending a model name (``-8b``, ``-235b-a22b``, ``-8x22b``) or a size word.
_SIZE = re.compile(r"-(?:\d+x)?\d+(?:\.\d+)?[bm](?:-a\d+(?:\.\d+)?b)?(?=-|$)"
                   r"|-(?:mini|nano|lite|small|medium|large|tiny|scout|maverick)(?=-|$)")


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


def _price_call(call: dict[str, Any], sums: Sums, change: tuple[str, str] | None) -> None:
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
    api = _api_price(kw["model"] if isinstance(kw["model"], str) else e.model)
    if api is not None:
        sums.add_api(api.amount(e.input_tokens, e.output_tokens, e.cached_input_tokens) * count,
                     table_version())
    kwh = e.energy_kwh
    lo = e.energy_kwh_min / kwh if kwh > 0 else 1.0
    hi = e.energy_kwh_max / kwh if kwh > 0 else 1.0
    sums.add((kwh * count, e.energy_kwh_min * count, e.energy_kwh_max * count),
             (e.gco2e * count, e.gco2e_min * count, e.gco2e_max * count),
             (e.usd * count, e.usd * lo * count, e.usd * hi * count),
             (e.water_l * count, e.water_l * lo * count, e.water_l * hi * count))


@functools.lru_cache(maxsize=256)
def _api_price(model: str) -> ApiPrice | None:
    """The model's list prices (looked up once per model; no provider: the table's maker's)."""
    try:
        return api_price_for(model, None)
    except Exception:  # a price table that fails to load prices nothing
        return None


# ----------------------------------------------------------------------------- ledgers


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
        groups, base_sums = read_ledger(path)
        models_seen = {k[0] for k in groups}
        base_model = next(iter(models_seen)) if len(models_seen) == 1 else None
        alts = _alternatives(base_model, regions, hardware, precisions, engines, models)
        current = {"region": {k[3] for k in groups}, "hardware": {k[1] for k in groups},
                   "model": models_seen, "engine": {k[5] for k in groups}}
        baseline = base_sums.row("baseline", f"ledger {clean(path.name)}", True, "as recorded")
        rows = [baseline]
        for kind, value in alts:
            if current.get(kind) == {value}:
                continue
            sums = Sums()
            for key, group in groups.items():
                reprice_group(key, group, (kind, value), sums)
            if kind == "model":
                reprice_api(groups.values(), _api_price(value), sums)
            else:  # the same calls of the same models: the same API price
                sums.add_api(base_sums.api, base_sums.price_table)
            like, note = _note(kind, value, base_model)
            rows.append(sums.row(kind, value, like, note))
        label = f"ledger {clean(path.name)}"
    else:
        calls = _calls(workload)
        base_model = _baseline_value("model", calls)
        alts = _alternatives(base_model, regions, hardware, precisions, engines, models)
        base_sums = Sums()
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
            sums = Sums()
            for call in calls:
                _price_call(call, sums, (kind, value))
            like, note = _note(kind, value, base_model)
            rows.append(sums.row(kind, value, like, note))
    final = [_with_saving(r, baseline) for r in rows]
    final.sort(key=lambda r: (r.gco2e, r.kind != "baseline"))
    return Comparison(next(r for r in final if r.kind == "baseline"), final, label)
