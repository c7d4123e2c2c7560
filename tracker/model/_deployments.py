"""Assumed serving deployment per hosted-API provider: hardware, PUE, region, water.

Hosted APIs do not say where or on what a request ran, so these are ASSUMPTIONS, chosen from the
operators' own published fleet figures. They sit in the middle of the precedence chain:

    explicit `configure()` value  >  provider default (this module)  >  energy-model default

Each field may list several candidates; the first one the registry knows is used, and a candidate
the registry lacks is skipped silently (the energy-model default then applies). Nothing here is
validated at import time, so a registry without, say, Azure regions never breaks tracking.

Sources (operator sustainability reports, as compiled in benchmarks/data/reference/README.md):

- Microsoft (OpenAI's serving cloud): PUE 1.17-1.18 and WUE 0.27-0.57 L/kWh, Microsoft
  Environmental Sustainability Report FY2025. OpenAI serves on NVIDIA H100-class GPUs on Azure;
  the region is assumed to be a large Azure US East region.
- AWS and Google Cloud (Anthropic's serving clouds): AWS PUE 1.15, WUE 0.15-0.18 L/kWh, Amazon
  Sustainability Report 2023-24; Anthropic's exact accelerator mix (GPU, Trainium, TPU) is not
  published, so H100-class is assumed, in an AWS US East region.
- Google (Gemini): fleet PUE 1.09 (2024) and about 1.0 L/kWh on-site water, Google Environmental
  Report 2025 and Elsworth et al. 2025 (arXiv:2508.15734); Gemini is served on TPUs, assumed
  TPU v6e (Trillium) or v5e, in us-central1.
- Amazon Bedrock (``aws.bedrock``): the AWS figures above, whichever model family is invoked.
- Mistral AI (``mistral_ai``): Mistral's life-cycle analysis of Mistral Large 2 (Mistral AI with
  Carbone 4 and ADEME, "Our contribution to a global environmental standard for AI", July 2025)
  reports its impacts for inference in its French data centres; the region is assumed to be
  France's grid on H100-class GPUs. No PUE or WUE is published, so the energy-model defaults
  apply to them.
- Cohere: no serving location or fleet figures are published; nothing is assumed.
- Ollama (``ollama``): a local server, so no cloud assumption at all: the configured hardware
  and region (else the energy-model defaults) apply.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEPLOYMENTS", "Deployment", "deployment_for"]


@dataclass(frozen=True, slots=True)
class Deployment:
    """Assumed serving setup of one provider. `None` leaves the energy-model default."""

    hardware: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    pue: float | None = None
    wue: float | None = None
    source: str = ""
    assumption: bool = True


_AZURE = Deployment(
    hardware=("h100",),
    region=("azure:eastus", "azure:eastus2", "US"),
    pue=1.18,
    wue=0.30,
    source="Microsoft Environmental Sustainability Report FY2025 (PUE 1.17-1.18, WUE 0.27-0.57)",
)
_AWS = Deployment(
    hardware=("h100",),
    region=("aws:us-east-1", "aws:us-east-2", "US"),
    pue=1.15,
    wue=0.18,
    source="Amazon Sustainability Report 2023-24 (PUE 1.15, WUE 0.15-0.18)",
)
_GCP = Deployment(
    hardware=("tpu-v6e", "tpu-v5e"),
    region=("gcp:us-central1", "us-central1"),
    pue=1.09,
    wue=1.0,
    source="Google Environmental Report 2025 (fleet PUE 1.09, 2024); Elsworth et al. 2025",
)
_MISTRAL = Deployment(
    hardware=("h100",),
    region=("FR",),
    source="Mistral AI / Carbone 4 / ADEME life-cycle analysis of Mistral Large 2 (July 2025): "
           "inference in French data centres; PUE and WUE not published",
)

#: Provider name (OpenTelemetry `gen_ai.provider.name` values and common aliases) -> deployment.
DEPLOYMENTS: dict[str, Deployment] = {
    "openai": _AZURE,
    "azure.ai.openai": _AZURE,
    "azure_openai": _AZURE,
    "anthropic": _AWS,
    "aws.bedrock": _AWS,
    "google": _GCP,
    "gemini": _GCP,
    "gcp.gemini": _GCP,
    "gcp.vertex_ai": _GCP,
    "gcp.gen_ai": _GCP,
    "vertex_ai": _GCP,
    "mistral_ai": _MISTRAL,
    "mistral": _MISTRAL,
    "amazon": _AWS,  # Nova and Titan, served only on Bedrock
}


def deployment_for(provider: str | None) -> Deployment | None:
    """The assumed deployment of `provider`, or None when nothing is assumed for it."""
    if not provider:
        return None
    return DEPLOYMENTS.get(provider.lower())
