"""Closed models sized by one method (tracker/model/_closed_sizing.py): tiers, classes, ranges."""

from __future__ import annotations

import itertools
import math

import pytest

from benchmarks.builders import size_closed_models as builder
from tracker.model._closed_sizing import (
    ClosedSize,
    SizingInputs,
    class_for_price,
    size_closed_models,
    sizing_inputs,
)
from tracker.model._estimate import estimate
from tracker.model._registry import Registry
from tracker.model._specs import ModelSpec

CLASS_ORDER = ["xs", "s", "m", "l"]


@pytest.fixture(scope="module")
def open_models() -> dict[str, ModelSpec]:
    return {m.name: m for m in Registry().models() if not m.estimated}


@pytest.fixture(scope="module")
def sized(open_models: dict[str, ModelSpec]) -> dict[str, ClosedSize]:
    return size_closed_models(open_models)


def test_registry_holds_what_the_method_derives(sized: dict[str, ClosedSize]) -> None:
    """models.json is the method's output (benchmarks.builders.size_closed_models rewrites it)."""
    reg = Registry()
    for name, size in sized.items():
        spec = reg.model(name)
        assert spec.estimated, name
        assert (spec.total_params_b, spec.active, spec.active_params_b_min,
                spec.active_params_b_max) == (size.total_params_b, size.active_params_b,
                                              size.active_params_b_min,
                                              size.active_params_b_max), name
        assert spec.precision == size.precision == ("int8" if size.provider == "google"
                                                    else "fp8"), name
        assert spec.source.startswith("closed-model sizing method"), name
    assert builder.main(["--check"]) == 0


def test_every_closed_chat_model_is_sized_by_the_method(sized: dict[str, ClosedSize]) -> None:
    """No closed chat model keeps a hand-copied size (grok-2's weights are published)."""
    closed = {m.name for m in Registry().models()
              if m.estimated and m.kind == "chat" and m.name != "grok-2"}
    assert closed == set(sized)


def test_siblings_of_a_tier_agree(sized: dict[str, ClosedSize]) -> None:
    """The same provider tier gives the same size: claude-3-haiku and claude-haiku-4-5 alike."""
    by_tier: dict[tuple[str, str], list[ClosedSize]] = {}
    for size in sized.values():
        by_tier.setdefault((size.provider, size.tier), []).append(size)
    assert len(by_tier) >= 15
    for members in by_tier.values():
        for field in ("active_params_b", "total_params_b"):
            values = [getattr(m, field) for m in members]
            assert max(values) <= 2 * min(values), (members[0].tier, field)
    haiku = [estimate(name, 50, 100).energy_kwh for name in ("claude-3-haiku", "claude-haiku-4-5")]
    assert max(haiku) <= 2 * min(haiku)


def test_each_providers_ladder_is_monotone(sized: dict[str, ClosedSize]) -> None:
    """Haiku < Sonnet < Opus, nano < mini < flagship, Flash-Lite < Flash < Pro, in class,
    active and total parameters and in energy per call."""
    inputs = sizing_inputs()
    providers = {t.provider for t in inputs.tiers}
    for provider in providers:
        ladder = sorted((t for t in inputs.tiers if t.provider == provider), key=lambda t: t.rank)
        sizes = [sized[t.models[0].name] for t in ladder]
        for lower, upper in itertools.pairwise(sizes):
            assert CLASS_ORDER.index(lower.size_class) <= CLASS_ORDER.index(upper.size_class)
            assert lower.active_params_b <= upper.active_params_b
            assert lower.total_params_b <= upper.total_params_b
    calls = [estimate(name, 50, 100).energy_kwh
             for name in ("claude-3-haiku", "claude-sonnet-4-5", "claude-opus-4-1")]
    assert calls[0] < calls[1] < calls[2]
    flash = [estimate(name, 50, 100).energy_kwh
             for name in ("gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-2.5-pro")]
    assert flash[0] < flash[1] < flash[2]


def test_ranges_hold_every_published_estimate(sized: dict[str, ClosedSize]) -> None:
    inputs = sizing_inputs()
    assert len(inputs.published) >= 30
    for pub in inputs.published:
        size = sized[pub.model]
        lo, hi = pub.active_params_b
        assert size.active_params_b_min <= lo <= hi <= size.active_params_b_max, pub


def test_central_is_the_peers_geometric_mean(open_models: dict[str, ModelSpec],
                                             sized: dict[str, ClosedSize]) -> None:
    classes = {c.name: c for c in sizing_inputs().classes}
    for size in sized.values():
        peers = [open_models[p] for p in classes[size.size_class].peers]
        if not peers:
            continue
        expected = math.exp(sum(math.log(p.active) for p in peers) / len(peers))
        assert size.active_params_b == pytest.approx(expected, abs=0.05)
        assert min(p.active for p in peers) >= size.active_params_b_min
        assert max(p.active for p in peers) <= size.active_params_b_max
        moe = [p for p in peers if p.total_params_b > p.active * 1.0001]
        assert size.moe == bool(moe) or not peers


def test_price_bands() -> None:
    classes = sizing_inputs().classes
    assert [class_for_price(p, classes).name for p in (0.1, 0.74, 0.75, 5.9, 6.0, 24.9, 25, 1e4)] \
        == ["xs", "xs", "s", "s", "m", "m", "l", "l"]


def test_method_on_made_up_inputs(open_models: dict[str, ModelSpec]) -> None:
    """A tier's price decides its class; a peerless class rests on published estimates, and
    its sparsity on their published totals; a dense-peer class stays dense."""
    inputs = SizingInputs.model_validate({
        "version": "t", "description": "", "price_source": "",
        "serving_precision": {"default": "fp8", "q": "int8"}, "serving_precision_source": "",
        "classes": [
            {"name": "a", "below_usd_per_mtok_out": 1.0, "peers": ["llama-3.1-8b"],
             "peer_source": ""},
            {"name": "b", "below_usd_per_mtok_out": None, "peers": [], "peer_source": ""}],
        "tiers": [
            {"provider": "p", "tier": "small", "rank": 0,
             "models": [{"name": "p-small", "usd_per_mtok_out": 0.5, "year": 2025}]},
            {"provider": "p", "tier": "big", "rank": 1,
             "models": [{"name": "p-big", "usd_per_mtok_out": 0.5, "year": 2025},
                        {"name": "p-big-2", "usd_per_mtok_out": 8.0, "year": 2025}]}],
        "published": [
            {"model": "p-big", "active_params_b": [100, 400], "total_params_b": 2000,
             "source": "x"},
            {"model": "p-small", "active_params_b": [2, 2], "source": "y"}],
    })
    out = size_closed_models(open_models, inputs)
    assert out["p-small"].size_class == "a" and out["p-big"].size_class == "b"
    assert (out["p-small"].active_params_b, out["p-small"].moe) == (8.0, False)
    assert (out["p-small"].active_params_b_min, out["p-small"].active_params_b_max) == (2.0, 8.0)
    assert out["p-big"].active_params_b == pytest.approx(200.0, abs=0.05)
    assert out["p-big"].total_params_b == pytest.approx(200 / (100 / 2000), abs=0.5)
    assert out["p-big-2"] == ClosedSize(**{**out["p-big"].__dict__, "name": "p-big-2"})
    assert out["p-big"].precision == "fp8"
