"""InferenceX's power window: the benchmark's GPU energy from a mean that includes start-up.

SemiAnalysis InferenceX's GPU power experiment (InferenceX commit 26172e8,
``benchmarks/single_node/gptoss-power_fp4_h100.sh``) starts ``nvidia-smi -l 1`` before
``hf download`` and ``vllm serve``, so the sampled window holds the server's start-up (weights
loaded, ``torch.compile``, CUDA graphs captured up to batch 2,048) with the GPUs near idle, then
the benchmark (``--num-prompts`` = 10 x the concurrency). Its ``utils/plot_gpu_power.py``
averages every sample of the window, and the published J per output token is that mean power
over the benchmark's throughput. The start-up therefore dilutes the power, the more so the
shorter the benchmark: at tensor parallel 8 and concurrency 4 the 1k/1k run averages 159 W per
GPU at 27 % mean GPU utilisation, the 1k/8k run (eight times the tokens, the same per-step work)
222 W at 72-81 % (issue #828's tables), and the 1k/1k runs at concurrency 64 average less
power than at concurrency 32.

With a start-up of ``T_s`` seconds at ``P_s`` watts before a benchmark of ``T_b`` seconds at
``P_b``, the window's mean is ``(P_s T_s + P_b T_b) / (T_s + T_b)``. A 1k/1k run and a 1k/8k run
at the same tensor parallelism and concurrency do the same per-step work, so they share ``P_b``
and ``T_s``: the two means give both. ``P_s`` is the H100's idle draw (70 W: MLPerf's 8-GPU
H100 servers idle with about 0.5-0.6 kW in their GPUs); ``P_b`` hardly depends on it (60 W or
100 W moves it by 2 %). The benchmark's energy per output token is then
``m + (P_mean - G P_s) T_s / N`` for a replica of ``G`` GPUs producing ``N`` output tokens.
The same ``T_s`` (the mean of the pairs) is applied to every H100 run of the experiment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = ["IDLE_W_PER_GPU", "PROMPTS_PER_CONCURRENCY", "WindowRun", "corrected", "parse",
           "startup_s"]

#: H100 SXM idle draw per GPU, watts (MLPerf 8-GPU H100 servers idle at 2.2-2.9 kW with about
#: 0.5-0.6 kW in their eight GPUs).
IDLE_W_PER_GPU = 70.0
#: InferenceX's benchmark sends 10 prompts per unit of concurrency (``--num-prompts $((CONC*10))``).
PROMPTS_PER_CONCURRENCY = 10
_POWER = re.compile(r"avg total GPU power ([\d,]+(?:\.\d+)?) W")


class WindowRun:
    """One InferenceX run whose mean GPU power covers the server's start-up."""

    __slots__ = ("concurrency", "gpus", "measured_j", "output_tokens", "power_w")

    def __init__(self, *, gpus: float, concurrency: float, output_tokens: float,
                 measured_j: float, power_w: float) -> None:
        self.gpus = gpus
        self.concurrency = concurrency
        self.output_tokens = output_tokens
        self.measured_j = measured_j
        self.power_w = power_w

    @property
    def tokens(self) -> float:
        """Output tokens of the benchmark (the replica's)."""
        return PROMPTS_PER_CONCURRENCY * self.concurrency * self.output_tokens

    @property
    def bench_s(self) -> float:
        """The benchmark's duration: its tokens over its throughput (power / J per token)."""
        return self.tokens * self.measured_j / self.power_w


def parse(row: Mapping[str, str]) -> WindowRun | None:
    """The run of an InferenceX CSV row, or None when its notes carry no window mean power
    (the MI325X row reports the mean power under load)."""
    match = _POWER.search(row["notes"])
    if match is None or row["hardware"] != "h100":
        return None
    return WindowRun(gpus=float(row["gpus"]), concurrency=float(row["batch_size"]),
                     output_tokens=float(row["output_tokens"]),
                     measured_j=float(row["measured_wh_per_1k_out"]) * 3.6,
                     power_w=float(match.group(1).replace(",", "")))


def _pair(short: WindowRun, long: WindowRun) -> tuple[float, float]:
    """(start-up seconds, benchmark watts) from two runs with the same benchmark power."""
    idle = short.gpus * IDLE_W_PER_GPU
    # (P_i - idle) T_s = T_b,i (P_b - P_i) for both runs: two linear equations in T_s, P_b.
    a1, b1, c1 = short.power_w - idle, -short.bench_s, -short.bench_s * short.power_w
    a2, b2, c2 = long.power_w - idle, -long.bench_s, -long.bench_s * long.power_w
    det = a1 * b2 - a2 * b1
    return (c1 * b2 - c2 * b1) / det, (a1 * c2 - a2 * c1) / det


def startup_s(runs: Sequence[WindowRun | None]) -> list[tuple[WindowRun, WindowRun, float, float]]:
    """Every pair (short run, long run, start-up seconds, benchmark watts) in `runs`: the same
    accelerators and concurrency, different output lengths."""
    out = []
    real = [r for r in runs if r is not None]
    for short in real:
        for long in real:
            if (short.gpus, short.concurrency) == (long.gpus, long.concurrency) and (
                    short.output_tokens < long.output_tokens):
                out.append((short, long, *_pair(short, long)))
    return out


def corrected(run: WindowRun, startup: float) -> float:
    """The benchmark's J per output token: the window's figure plus the start-up's share."""
    return run.measured_j + (run.power_w - run.gpus * IDLE_W_PER_GPU) * startup / run.tokens
