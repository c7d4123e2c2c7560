"""The pricing cache of recorded calls: what calls of one kind look up instead of rebuilding.

`priced()`: per (model, provider) and configuration, the `CallPricer`, the model's API prices
and whether a live grid reading applies, cached on the runtime (and emptied when the registries
change). `static_of()`: per (operation, provider, request model, server) of such an entry, the
`CallStatic` (the constant part of the call's telemetry). `new_plan()`: both at once, cached on
the runtime by (operation, provider, request model, server, local serving), so a call of a kind
seen before makes one lookup (`tracker.recording._calls.LLMCall`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracker._internal_errors import report
from tracker.export._call_attributes import CallStatic
from tracker.model import _registry
from tracker.model._api_prices import ApiPrice, api_price_for
from tracker.model._call_pricer import call_pricer
from tracker.recording._runtime import BoundedCache, Runtime

if TYPE_CHECKING:
    from tracker.model._estimate import CallPricer
    from tracker.recording._serving import LocalServing

__all__ = ["Priced", "new_plan", "priced", "static_of"]

_MAX_STATICS = 64


@dataclass(frozen=True, slots=True, eq=False)
class Priced:
    """What pricing calls of one (model, provider) needs, built once."""

    pricer: CallPricer
    provider: str | None  # given, or inferred from the registry entry
    live: bool  # a live grid reading (tracker.grid) replaces the registry intensity
    api: ApiPrice | None  # the model's list prices (the `prices` extra), or None
    #: (operation, provider, request model) -> the constant telemetry of such calls
    statics: BoundedCache = field(default_factory=lambda: BoundedCache(_MAX_STATICS))


def _build(runtime: Runtime, model: str | None, provider: str | None,
           serving: LocalServing | None = None) -> Priced:
    if serving is not None:  # in-process inference: the loaded model on the local hardware
        from tracker.recording._serving import local_pricer

        built = local_pricer(runtime.deployment, model, serving)
    else:
        built, provider = call_pricer(runtime.deployment, model, provider)
    live = built.grid_source == "registry" and built.region == runtime.live_region
    try:
        api = api_price_for(model, provider)
    except Exception as exc:
        report("usage.api_price", exc)
        api = None
    return Priced(built, provider, live, api)


def priced(runtime: Runtime, model: str | None, provider: str | None,
           serving: LocalServing | None = None) -> Priced:
    """The priced entry of (model, provider), and local serving if any: built on first use."""
    key = (model, provider) if serving is None else (model, provider, serving)
    pricers = runtime.pricers_for(_registry.generation())
    entry: Priced | None = pricers.get(key)
    if entry is None:
        entry = pricers.put(key, _build(runtime, model, provider, serving))
    return entry


def static_of(entry: Priced, operation: str, provider: str | None, model: str | None,
              server: tuple[str, int | None] | None) -> CallStatic:
    """The constant telemetry of calls of one kind priced by `entry`."""
    provider = provider or entry.provider
    key = (operation, provider, model, server)
    static: CallStatic | None = entry.statics.get(key)
    if static is None:
        static = entry.statics.put(key, CallStatic(entry.pricer, operation, provider, model,
                                                   server))
    return static


def new_plan(runtime: Runtime, key: tuple[Any, ...]) -> tuple[Priced, CallStatic]:
    """What a call of one kind looks up once: its priced entry and its constant telemetry.

    `key`: (operation, provider, request model, server, local serving), cached on the runtime
    (emptied with its pricers when the registries change).
    """
    operation, provider, model, server, serving = key
    entry = priced(runtime, model, provider, serving)  # (empties stale plans first)
    plan = (entry, static_of(entry, operation, provider, model, server))
    runtime.plans.put(key, plan)
    return plan
