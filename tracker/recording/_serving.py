"""`LocalServing`: what an in-process call ran on, for a model served by this very process.

A hosted API's deployment is an assumption (`tracker.model._deployments`); a model run in this
process (`transformers`, vLLM's offline ``LLM``) is known: its parameter count and shape from the
loaded configuration, the GPU it is on, the engine, and how many sequences one call generated
together. An integration sets `LLMCall.serving` to one of these before finishing the call; the
call is then priced on it: the spec replaces the registry's look-up of the model name, and the
hardware (when the GPU was named), batch size, engine and GPU count replace the configured ones.
Region, PUE, grid and every other option stay the configuration's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.model._deployment import Deployment
    from tracker.model._estimate import CallPricer
    from tracker.model._specs import ModelSpec

__all__ = ["LocalServing", "local_pricer"]


@dataclass(frozen=True, slots=True)
class LocalServing:
    """The model and hardware an in-process call ran on (hashable: a pricing-cache key)."""

    #: The loaded model's parameters and shape (None: the model name is looked up as usual).
    spec: ModelSpec | None
    #: The engine profile (``transformers``, ``vllm``).
    engine: str
    #: Sequences generated together in the call (the batch the GPU was shared by).
    batch_size: int = 1
    #: The registry name of the GPU it ran on (None: the configured hardware).
    hardware: str | None = None
    #: GPUs the model is spread over (tensor parallel, or a device map).
    gpus: int = 1


def local_pricer(deployment: Deployment, model: str | None,
                 serving: LocalServing) -> CallPricer:
    """The pricer of a call served as `serving` says, with `deployment` for everything else."""
    from tracker.model._estimate import pricer

    fields: dict[str, Any] = deployment.pricer_kwargs()
    fields.update(engine=serving.engine, batch_size=float(max(1, serving.batch_size)),
                  gpus=max(1, serving.gpus))
    if serving.hardware is not None:
        fields["hardware"] = serving.hardware
    target: str | ModelSpec | None = serving.spec if serving.spec is not None else model
    return pricer(target, unknown_model="fallback", **fields)
