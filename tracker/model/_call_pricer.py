"""The `CallPricer` a call of a model through a provider gets: one rule for live and past calls.

A live call (`tracker.recording._calls`) and a row of a usage export (`tracker.footprint`) are
priced alike: the user's deployment options first, the provider's assumed deployment
(`tracker.model._deployments`) for what they leave open, a provider-scoped model name where
the provider means another model by it (Ollama's ``deepseek-r1`` is an 8B distill), and a
closed model's maker as its provider when none is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker._internal_errors import report
from tracker.model._deployments import deployment_for
from tracker.model._registry import get_registry

if TYPE_CHECKING:
    from tracker.model._deployment import Deployment
    from tracker.model._estimate import CallPricer
    from tracker.model._specs import ModelSpec

__all__ = ["call_pricer", "first_known", "pricer_kwargs"]


def first_known(lookup: Any, names: tuple[str, ...]) -> str | None:
    """The first of `names` that `lookup` (a registry finder) accepts, or None."""
    for name in names:
        try:
            lookup(name)
        except Exception:
            continue
        return name
    return None


def pricer_kwargs(deployment: Deployment, provider: str | None) -> dict[str, Any]:
    """`deployment`'s pricer options, with `provider`'s assumed deployment where it is silent."""
    dep = deployment_for(provider)
    if dep is not None:
        reg = get_registry()
        deployment = deployment.with_defaults(
            hardware=first_known(reg.hardware, dep.hardware),
            region=first_known(reg.region, dep.region), pue=dep.pue, wue=dep.wue)
    return deployment.pricer_kwargs()


def call_pricer(deployment: Deployment, model: str | None,
                provider: str | None) -> tuple[CallPricer, str | None]:
    """The pricer of a call of `model` through `provider`, and the provider it assumed."""
    from tracker.model._estimate import pricer

    target: str | ModelSpec | None = model
    registry = get_registry()
    if model and provider:
        scoped = registry.find_model(model, provider)
        if scoped is not None and scoped is not registry.find_model(model):
            target = scoped
    elif model:
        # A closed model is served only by its maker: its deployment is a fair assumption.
        spec = registry.find_model(model)
        if spec is not None and spec.estimated and deployment_for(spec.provider) is not None:
            provider = spec.provider
    try:
        return pricer(target, unknown_model="fallback",
                      **pricer_kwargs(deployment, provider)), provider
    except Exception as exc:  # a provider default the registry rejects: the user's options alone
        report("usage.provider_defaults", exc)
        return pricer(target, unknown_model="fallback", **pricer_kwargs(deployment, None)), provider
