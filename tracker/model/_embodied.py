"""Embodied carbon: the hardware's manufacturing footprint, amortised over the work it does.

Each accelerator in the hardware registry carries ``embodied_kgco2e`` (the accelerator plus its
share of the host server, with a min/max), a ``service_life_years`` and a ``utilisation`` (the
share of that life it is allocated to work), each with its source. A piece of work that holds an
accelerator for ``s`` seconds is allocated::

    embodied_g = embodied_kgco2e * 1000 * s / (service_life_years * 365.25 * 86400 * utilisation)

the time-based allocation EcoLogits uses (request time over hardware lifetime). For an inference
call ``s`` is the call's accelerator time: its accelerator energy (from the same serving model
that prices the call) over the accelerators' average draw while serving, ``TDP x
SERVING_POWER_FRACTION``; for training it is the run's accelerator-hours. Embodied carbon is
reported beside the usage carbon and never added to ``gco2e``: `Estimate.total_gco2e` is the
sum, explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tracker.model._specs import HardwareSpec

__all__ = [
    "DEFAULT_EMBODIED_KGCO2E",
    "DEFAULT_SERVICE_LIFE_YEARS",
    "DEFAULT_TRAINING_POWER_FRACTION",
    "DEFAULT_UTILISATION",
    "SERVING_POWER_FRACTION",
    "Amortisation",
    "amortisation",
    "seconds_per_joule",
    "training_power_fraction",
]

_SECONDS_PER_YEAR: Final = 365.25 * 86400.0

#: (central, min, max) kgCO2e for an accelerator with no figures of its own: the A100 80GB entry
#: (Boavizta via EcoLogits 2024: 143 kg card + 3000 kg / 8 server share; min Chien et al. 2023;
#: max x1.6, EcoDiag's +-60 % LCA uncertainty).
DEFAULT_EMBODIED_KGCO2E: Final = (518.0, 318.0, 828.8)
#: EcoLogits' hardware lifespan (5 years, 2024).
DEFAULT_SERVICE_LIFE_YEARS: Final = 5.0
#: EcoLogits' allocation over the whole life (full utilisation, 2024).
DEFAULT_UTILISATION: Final = 1.0
#: Newkirk et al. 2025 (arXiv:2506.14551): an H100 node trains at 76 % of its rated power.
DEFAULT_TRAINING_POWER_FRACTION: Final = 0.76
#: Average accelerator draw while serving, as a fraction of TDP: Epoch AI's GPT-4o estimate
#: (Feb 2025) assumes servers run at 70 % of their peak power during inference.
SERVING_POWER_FRACTION: Final = 0.7


@dataclass(frozen=True, slots=True)
class Amortisation:
    """Embodied grams CO2e per accelerator-second of one accelerator (central, min, max)."""

    g_per_s: float
    g_per_s_min: float
    g_per_s_max: float


def amortisation(hardware: HardwareSpec) -> Amortisation:
    """Grams CO2e of manufacturing footprint allocated to one second of `hardware`'s time."""
    c, lo, hi = DEFAULT_EMBODIED_KGCO2E
    if hardware.embodied_kgco2e is not None:
        c = hardware.embodied_kgco2e
        lo = hardware.embodied_kgco2e_min or c
        hi = hardware.embodied_kgco2e_max or c
    life = hardware.service_life_years or DEFAULT_SERVICE_LIFE_YEARS
    util = hardware.utilisation or DEFAULT_UTILISATION
    per_kg = 1000.0 / (life * _SECONDS_PER_YEAR * util)
    return Amortisation(c * per_kg, lo * per_kg, hi * per_kg)


def training_power_fraction(hardware: HardwareSpec) -> float:
    """Average accelerator draw while training, as a fraction of TDP (registry or default)."""
    return hardware.training_power_fraction or DEFAULT_TRAINING_POWER_FRACTION


def seconds_per_joule(hardware: HardwareSpec) -> float:
    """Accelerator-seconds per accelerator joule while serving: 1 / (TDP x serving draw)."""
    return 1.0 / (hardware.tdp_w * SERVING_POWER_FRACTION)
