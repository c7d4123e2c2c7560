"""`CallPricer` and `Estimate` share one list of the fields a pricer resolves (`CARRIED`)."""

from __future__ import annotations

from dataclasses import fields

from tracker.model._estimate import CallPricer, pricer
from tracker.model._estimate_result import CARRIED, Estimate, build_estimate


def test_every_carried_field_is_declared_alike_on_both() -> None:
    on_pricer = {f.name: f.type for f in fields(CallPricer)}
    on_estimate = {f.name: f.type for f in fields(Estimate)}
    for name in CARRIED:
        assert name in on_pricer and name in on_estimate, name
        assert on_pricer[name] == on_estimate[name], name


def test_a_priced_estimate_carries_the_pricers_fields_and_equals_the_plain_build() -> None:
    p = pricer("llama-3.1-8b", region="FR", engine="vllm", power_limit_w=500.0)
    e = p.price(120, 40, cached_input_tokens=20)
    for name in CARRIED:
        assert getattr(e, name) == getattr(p, name), name
    assert e == build_estimate(**e.to_dict())
    assert (e.input_tokens, e.output_tokens, e.cached_input_tokens) == (120, 40, 20)
