"""Closed models sized by one method applied to every family alike.

A provider publishes no size for its closed models, but it does publish a tier ladder (Haiku,
Sonnet, Opus; nano, mini, flagship; Flash-Lite, Flash, Pro) and a list price per output token.
`size_closed_models` maps each tier to one size class by the geometric mean of its members' list
output prices, and each class to parameters through the open models that compete with it:

- central active parameters: the geometric mean of the class's open peers' official counts;
  a class without open peers (above every open model's price) takes the geometric mean of its
  members' published estimates;
- range: from the smallest to the largest of the peers' counts and of every published estimate
  of any member of the class, so siblings share one range and every published figure lies in it;
- architecture: a mixture of experts when the class's peers include one, with their mean
  sparsity (active / total, geometric), else with the sparsity of the members' published
  totals; dense when neither exists. Total parameters = central active / sparsity;
- precision: 8-bit weights when served (int8 on Google's TPUs, FP8 elsewhere), which, with the
  total, sizes the replica (`default_gpus`: the weights in 75 % of each accelerator's memory).

The inputs (tiers, prices, peers, published estimates, each with a source) are in
``data/closed_sizing.json``; ``models.json`` holds the result, and a test keeps the two equal
(``python -m benchmarks.builders.size_closed_models`` rewrites it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from tracker.model._specs import ModelSpec, Precision

__all__ = ["ClosedSize", "SizingInputs", "class_for_price", "size_closed_models", "sizing_inputs"]

_STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class SizeClass(BaseModel):
    """A size class: the price band it covers and the open models that compete in it."""

    model_config = _STRICT
    name: str
    #: Upper bound of the band (geometric-mean list price per million output tokens); None: open.
    below_usd_per_mtok_out: float | None = Field(default=None, gt=0)
    peers: tuple[str, ...] = ()
    peer_source: str


class Member(BaseModel):
    """One closed model of a tier, with its list output price."""

    model_config = _STRICT
    name: str
    usd_per_mtok_out: float = Field(gt=0)
    year: int


class Tier(BaseModel):
    """One rung of a provider's published ladder (rank: its position, cheapest first)."""

    model_config = _STRICT
    provider: str
    tier: str
    rank: int = Field(ge=0)
    models: tuple[Member, ...]


class Published(BaseModel):
    """A published estimate of one closed model's active (and possibly total) parameters."""

    model_config = _STRICT
    model: str
    active_params_b: tuple[float, float]
    total_params_b: float | None = Field(default=None, gt=0)
    source: str


class SizingInputs(BaseModel):
    """The whole of ``data/closed_sizing.json``."""

    model_config = _STRICT
    version: str
    description: str
    classes: tuple[SizeClass, ...]
    tiers: tuple[Tier, ...]
    #: Weights' precision when served: per provider, else ``default``.
    serving_precision: dict[str, Precision]
    serving_precision_source: str
    price_source: str
    published: tuple[Published, ...]


@dataclass(frozen=True)
class ClosedSize:
    """What the method gives one closed model (parameters in billions)."""

    name: str
    provider: str
    tier: str
    size_class: str
    usd_per_mtok_out: float  # the tier's geometric-mean list output price
    active_params_b: float
    active_params_b_min: float
    active_params_b_max: float
    total_params_b: float
    moe: bool
    precision: str  # the weights' precision when served (sizes the replica)

    def source(self, classes: Mapping[str, SizeClass]) -> str:
        """The registry's ``source`` line for this model."""
        peers = ", ".join(classes[self.size_class].peers) or "none (published estimates)"
        arch = (f"MoE, total = central / sparsity {self.active_params_b / self.total_params_b:.3f}"
                if self.moe else "dense")
        return (f"closed-model sizing method (docs/energy-model.md; inputs in "
                f"tracker/model/data/closed_sizing.json): {self.provider} tier '{self.tier}' at "
                f"{self.usd_per_mtok_out:.2f} USD per million output tokens -> class "
                f"'{self.size_class}'; central = geometric mean of its open peers' active "
                f"parameters ({peers}); range holds every published estimate of the class's "
                f"members (EcoLogits, Epoch AI, MEDEC, SemiAnalysis); {arch}; served with "
                f"{self.precision} weights")


@cache
def sizing_inputs() -> SizingInputs:
    """The built-in inputs, parsed and validated once."""
    text = (resources.files("tracker.model").joinpath("data").joinpath("closed_sizing.json")
            .read_text("utf-8"))
    return SizingInputs.model_validate_json(text)


def _geomean(values: Iterable[float]) -> float:
    logs = [math.log(v) for v in values]
    if not logs:
        raise ValueError("geometric mean of nothing")
    return math.exp(sum(logs) / len(logs))


def class_for_price(usd_per_mtok_out: float, classes: Iterable[SizeClass]) -> SizeClass:
    """The class whose band holds a tier's geometric-mean list output price."""
    ordered = sorted(classes, key=lambda c: math.inf if c.below_usd_per_mtok_out is None
                     else c.below_usd_per_mtok_out)
    for cls in ordered:
        if cls.below_usd_per_mtok_out is None or usd_per_mtok_out < cls.below_usd_per_mtok_out:
            return cls
    raise ValueError("the classes leave prices above the last band uncovered")


def size_closed_models(open_models: Mapping[str, ModelSpec],
                       inputs: SizingInputs | None = None) -> dict[str, ClosedSize]:
    """Every closed model of the inputs, sized; `open_models` maps peer names to their specs."""
    data = inputs or sizing_inputs()
    tier_class = {(t.provider, t.tier): class_for_price(
        _geomean(m.usd_per_mtok_out for m in t.models), data.classes) for t in data.tiers}
    published: dict[str, list[Published]] = {}
    for pub in data.published:
        published.setdefault(pub.model, []).append(pub)
    out: dict[str, ClosedSize] = {}
    for cls in data.classes:
        tiers = [t for t in data.tiers if tier_class[(t.provider, t.tier)].name == cls.name]
        members = [m.name for t in tiers for m in t.models]
        pubs = [p for name in members for p in published.get(name, [])]
        peers = [open_models[name] for name in cls.peers]
        if peers:
            central = _geomean(p.active for p in peers)
        elif pubs:
            central = _geomean(_geomean(p.active_params_b) for p in pubs)
        else:
            continue
        bounds = [p.active for p in peers] + [b for p in pubs for b in p.active_params_b]
        moe_peers = [p for p in peers if p.total_params_b > p.active * 1.0001]
        sparse = ([p.active / p.total_params_b for p in moe_peers] if moe_peers else
                  [p.active_params_b[0] / p.total_params_b for p in pubs if p.total_params_b])
        ratio = _geomean(sparse) if sparse else 1.0
        for tier in tiers:
            price = _geomean(m.usd_per_mtok_out for m in tier.models)
            for member in tier.models:
                out[member.name] = ClosedSize(
                    name=member.name, provider=tier.provider, tier=tier.tier,
                    size_class=cls.name, usd_per_mtok_out=price,
                    active_params_b=round(central, 1),
                    active_params_b_min=round(min(bounds), 1),
                    active_params_b_max=round(max(bounds), 1),
                    total_params_b=round(central / ratio, 0) if sparse else round(central, 1),
                    moe=bool(sparse),
                    precision=data.serving_precision.get(
                        tier.provider, data.serving_precision["default"]))
    return out
