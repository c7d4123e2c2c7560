"""`estimate_training()`: energy, carbon, cost, water and embodied carbon of a training run.

Pure, like `estimate()`. The compute is the standard approximation (Kaplan et al. 2020)::

    full      FLOPs = 6 x params x tokens      (forward 2, backward 4: activation + weight grads)
    lora      FLOPs = (4 + 2 f) x params x tokens   (frozen weights: no weight gradients;
    qlora                                            f = trainable fraction)
    + 6 x layers x context x d_model x tokens  (attention scores, where the architecture is known)

Accelerator time is FLOPs / (dense peak at the training precision x MFU) unless the run's
accelerator-hours are given (they win). Energy::

    accelerator_kwh = accelerator-hours x TDP x training_power_fraction / 1000
    server_kwh      = accelerator_kwh x (1 + host_overhead)
    energy_kwh      = server_kwh x PUE                  (facility)

The default MFU is the median of the MFU realised by published runs over their whole reported
accelerator-hours (`MFU_RUNS`, computed at import), and its range their minimum and maximum. The
result is an estimate: no hardware counter is read.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any, Final

from tracker.exceptions import ConfigError
from tracker.model import _embodied as embodied
from tracker.model._estimate import _resolve_hardware, _resolve_model, pricer
from tracker.model._inputs import number as _number
from tracker.model._registry import Registry, get_registry
from tracker.model._specs import PRECISIONS, HardwareSpec, ModelSpec

__all__ = [
    "DEFAULT_MFU",
    "MFU_RANGE",
    "MFU_RUNS",
    "TRAINING_HOST_OVERHEAD",
    "TRAINING_METHODS",
    "PublishedRun",
    "TrainingEstimate",
    "estimate_training",
    "realised_mfu",
]

TRAINING_METHODS: Final = ("full", "lora", "qlora")

#: Host CPUs, memory, network and power-supply losses during training, as a fraction of the
#: accelerators' draw: Patterson et al. 2021 (arXiv:2104.10350) measured 330 W of system power
#: per V100 for GPT-3; 330 / (300 W TDP x 0.76 training draw) - 1 = 0.45.
TRAINING_HOST_OVERHEAD: Final = 0.45

#: Trainable share of the weights for LoRA/QLoRA when not given: rank-16 adapters on every linear
#: layer of Llama-3-8B are 42M parameters of 8.0B (0.5 %; Hu et al. 2021's parametrisation).
DEFAULT_TRAINABLE_FRACTION: Final = 0.005


@dataclass(frozen=True, slots=True)
class PublishedRun:
    """A training run whose accelerator-hours were published (the MFU calibration data)."""

    name: str
    params_b: float
    tokens: float
    hardware: str
    accelerator_hours: float
    source: str


#: Published runs with accelerator-hours: the data the default MFU is computed from. GPT-3,
#: BLOOM and the Llama figures are in the project's reference data (the Llama cards: GPU-hours
#: per model, about 2T tokens for Llama 2, 15T+ for Llama 3.1); Gopher's 920 hours on 4,096
#: chips is a well-known figure from its paper's carbon appendix, not re-read.
MFU_RUNS: Final[tuple[PublishedRun, ...]] = (
    PublishedRun("GPT-3 175B", 175.0, 300e9, "v100", 3.55e6,
                 "Patterson et al. 2021, arXiv:2104.10350 (3.55M V100-hours)"),
    PublishedRun("BLOOM-176B", 176.0, 366e9, "a100-80gb", 1.08e6,
                 "Luccioni et al. 2022, arXiv:2211.02001 (1.08M A100-hours)"),
    PublishedRun("Gopher 280B", 280.0, 300e9, "tpu-v3", 4096 * 920.0,
                 "Rae et al. 2021, arXiv:2112.11446 (4096 TPUv3 chips for 920 hours)"),
    PublishedRun("Llama 2 7B", 6.74, 2.0e12, "a100-80gb", 184_320.0, "Llama 2 model card (2023)"),
    PublishedRun("Llama 2 13B", 13.0, 2.0e12, "a100-80gb", 368_640.0, "Llama 2 model card (2023)"),
    PublishedRun("Llama 2 70B", 69.0, 2.0e12, "a100-80gb", 1_720_320.0,
                 "Llama 2 model card (2023)"),
    PublishedRun("Llama 3.1 8B", 8.03, 15e12, "h100", 1.46e6, "Llama 3.1 model card (2024)"),
    PublishedRun("Llama 3.1 70B", 70.6, 15e12, "h100", 7.0e6, "Llama 3.1 model card (2024)"),
    PublishedRun("Llama 3.1 405B", 405.9, 15.6e12, "h100", 30.84e6,
                 "Llama 3.1 model card and Llama 3 paper (2024; 15.6T tokens)"),
)


def realised_mfu(run: PublishedRun, registry: Registry | None = None) -> float:
    """6 x params x tokens / (accelerator-hours x dense 16-bit peak): the run's whole-run MFU."""
    hw = (registry or get_registry()).hardware(run.hardware)
    return 6.0 * run.params_b * 1e9 * run.tokens / (
        run.accelerator_hours * 3600.0 * hw.peak_flops("bf16"))


def _mfu_defaults() -> tuple[float, tuple[float, float]]:
    values = [realised_mfu(r) for r in MFU_RUNS]
    return round(statistics.median(values), 3), (round(min(values), 3), round(max(values), 3))


#: Median whole-run MFU of `MFU_RUNS`, and its (min, max) range.
DEFAULT_MFU, MFU_RANGE = _mfu_defaults()


@dataclass(frozen=True, slots=True)
class TrainingEstimate:
    """Energy, carbon, cost, water and embodied carbon of one training or fine-tuning run.

    An estimate (``estimated`` is always True): no hardware counter is read.
    """

    energy_kwh: float
    energy_kwh_min: float
    energy_kwh_max: float
    server_kwh: float
    accelerator_kwh: float
    accelerator_hours: float
    accelerator_hours_min: float
    accelerator_hours_max: float
    wall_clock_hours: float | None
    flops: float
    gco2e: float
    gco2e_min: float
    gco2e_max: float
    embodied_gco2e: float
    embodied_gco2e_min: float
    embodied_gco2e_max: float
    total_gco2e: float
    usd: float
    water_l: float
    training_tokens: int
    model: str
    params_b: float
    method: str
    trainable_fraction: float
    hardware: str
    precision: str
    gpus: int | None
    mfu: float | None
    accelerator_hours_given: bool
    accelerator_power_w: float
    host_overhead: float
    pue: float
    region: str
    carbon_intensity: float
    grid_source: str
    price_usd_per_kwh: float
    wue: float
    estimated: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The estimate as a plain dict (JSON-serialisable)."""
        return asdict(self)


def _count(field: str, value: object) -> int:
    """A non-negative integer (training token counts exceed the per-request limit)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(field, f"must be a non-negative integer, got {value!r}")
    return int(value)


def _attention_flops_per_token(spec: ModelSpec, context_length: int | None,
                               n_layers: int | None, d_model: int | None) -> float:
    layers = n_layers if n_layers is not None else getattr(spec, "layers", None)
    width = d_model if d_model is not None else getattr(spec, "hidden_size", None)
    if not context_length or not layers or not width:
        return 0.0
    return 6.0 * float(layers) * float(context_length) * float(width)


def _method(method: object, trainable_fraction: object) -> tuple[str, float]:
    if method not in TRAINING_METHODS:
        raise ConfigError("method", f"must be one of {', '.join(TRAINING_METHODS)}, "
                                    f"got {method!r}")
    if method == "full":
        if trainable_fraction is not None and trainable_fraction != 1:
            raise ConfigError("trainable_fraction", "applies to lora/qlora only")
        return "full", 1.0
    if trainable_fraction is None:
        return str(method), DEFAULT_TRAINABLE_FRACTION
    fraction = _number("trainable_fraction", trainable_fraction, minimum=0.0, inclusive=False)
    if fraction > 1.0:
        raise ConfigError("trainable_fraction", f"must be in (0, 1], got {trainable_fraction!r}")
    return str(method), fraction


def estimate_training(
    model: str | ModelSpec,
    training_tokens: int,
    *,
    hardware: str | HardwareSpec | None = None,
    gpus: int | None = None,
    mfu: float | None = None,
    gpu_hours: float | None = None,
    method: str = "full",
    trainable_fraction: float | None = None,
    precision: str = "bf16",
    context_length: int | None = None,
    n_layers: int | None = None,
    d_model: int | None = None,
    pue: float | None = None,
    host_overhead: float | None = None,
    region: str | None = None,
    carbon_intensity: float | None = None,
    price_usd_per_kwh: float | None = None,
    wue: float | None = None,
    registry: Registry | None = None,
) -> TrainingEstimate:
    """Estimate a training or fine-tuning run. Pure: no I/O.

    `gpu_hours` (accelerator-hours), when known, wins over the FLOP count. `method` is ``full``,
    ``lora`` or ``qlora`` (`trainable_fraction` of the weights trained; default 0.5 %).
    `context_length` adds the attention term where the architecture is known (the registry's
    ``layers`` and ``hidden_size``, or `n_layers` and `d_model` given here). Raises
    `tracker.ConfigError` naming the field for any invalid input.
    """
    reg = registry or get_registry()
    tokens = _count("training_tokens", training_tokens)
    spec, _ = _resolve_model(reg, model, "raise")
    hw = _resolve_hardware(reg, hardware)
    if precision not in PRECISIONS:
        raise ConfigError("precision", f"must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    method, fraction = _method(method, trainable_fraction)
    if gpus is not None:
        gpus = _count("gpus", gpus)
        if gpus < 1:
            raise ConfigError("gpus", "must be at least 1")
    for field, value in (("context_length", context_length), ("n_layers", n_layers),
                         ("d_model", d_model)):
        if value is not None:
            _count(field, value)
    host = (TRAINING_HOST_OVERHEAD if host_overhead is None
            else _number("host_overhead", host_overhead, minimum=0.0))
    # Region, grid, price, water and PUE resolve exactly as for inference.
    grid = pricer(spec, hardware=hw, method="flops", pue=pue, region=region,
                  carbon_intensity=carbon_intensity, price_usd_per_kwh=price_usd_per_kwh,
                  wue=wue, registry=reg)

    params = spec.active * 1e9
    per_token = (6.0 if method == "full" else 4.0 + 2.0 * fraction) * params
    flops = (per_token + _attention_flops_per_token(spec, context_length, n_layers, d_model)
             ) * tokens
    peak = hw.peak_flops(precision)
    if gpu_hours is not None:
        hours = _number("gpu_hours", gpu_hours, minimum=0.0)
        h_lo = h_hi = hours
        used_mfu: float | None = None
        if mfu is not None:
            raise ConfigError("mfu", "give either gpu_hours or mfu, not both")
    else:
        if mfu is None:
            used_mfu, (lo_mfu, hi_mfu) = DEFAULT_MFU, MFU_RANGE
        else:
            used_mfu = _number("mfu", mfu, minimum=0.0, inclusive=False)
            if used_mfu > 1.0:
                raise ConfigError("mfu", f"must be in (0, 1], got {mfu!r}")
            lo_mfu = hi_mfu = used_mfu
        hours = flops / (peak * used_mfu) / 3600.0
        h_lo, h_hi = flops / (peak * hi_mfu) / 3600.0, flops / (peak * lo_mfu) / 3600.0

    power_w = hw.tdp_w * embodied.training_power_fraction(hw)
    acc_kwh = hours * power_w / 1000.0
    scale = (1.0 + host) * grid.pue
    kwh = acc_kwh * scale
    # Range: the MFU range, and the accelerators drawing up to their full TDP.
    kwh_lo = h_lo * power_w / 1000.0 * scale
    kwh_hi = h_hi * hw.tdp_w / 1000.0 * scale
    ci = grid.carbon_intensity
    amort = embodied.amortisation(hw)
    seconds = 3600.0
    emb = hours * seconds * amort.g_per_s
    return TrainingEstimate(
        energy_kwh=kwh, energy_kwh_min=kwh_lo, energy_kwh_max=kwh_hi,
        server_kwh=acc_kwh * (1.0 + host), accelerator_kwh=acc_kwh,
        accelerator_hours=hours, accelerator_hours_min=h_lo, accelerator_hours_max=h_hi,
        wall_clock_hours=hours / gpus if gpus else None, flops=flops,
        gco2e=kwh * ci, gco2e_min=kwh_lo * ci, gco2e_max=kwh_hi * ci,
        embodied_gco2e=emb, embodied_gco2e_min=h_lo * seconds * amort.g_per_s_min,
        embodied_gco2e_max=h_hi * seconds * amort.g_per_s_max, total_gco2e=kwh * ci + emb,
        usd=kwh * grid.price_usd_per_kwh, water_l=kwh / grid.pue * grid.wue,
        training_tokens=tokens, model=spec.name, params_b=spec.active, method=method,
        trainable_fraction=fraction, hardware=hw.name, precision=precision, gpus=gpus,
        mfu=used_mfu, accelerator_hours_given=gpu_hours is not None,
        accelerator_power_w=power_w, host_overhead=host, pue=grid.pue, region=grid.region,
        carbon_intensity=ci, grid_source=grid.grid_source,
        price_usd_per_kwh=grid.price_usd_per_kwh, wue=grid.wue,
    )
