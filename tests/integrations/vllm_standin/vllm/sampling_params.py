"""vLLM's `SamplingParams` (the fields the stand-in uses)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SamplingParams:
    n: int = 1
    max_tokens: int = 16
    temperature: float = 1.0
    stop_after: int | None = None  # (stand-in only: a completion that stops early)
