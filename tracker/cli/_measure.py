"""`llm-energy measure`: measured J per output token on the local GPU, against the estimate.

Builds a model from a configuration with random weights (a built-in shape, ``llama-1b`` or
``llama-8b``, or a transformers ``config.json``; nothing is downloaded), runs it with
transformers at each ``--batch`` size, reads the GPU's energy counter over each run, and prints
measured joules per output token beside the `calibrated` estimate's accelerator energy for the
same hardware, model size and batch. Needs torch, transformers and nvidia-ml-py (the
``measure-check`` extra) and an NVIDIA GPU; without them it exits 2 with what is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict

__all__ = ["main"]

_INSTALL = "pip install 'llm-energy-tracker[measure-check]'"


def _batches(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"batch sizes must be integers, got {text[:40]!r}") \
            from None
    if not values or any(not 1 <= v <= 4096 for v in values):
        raise argparse.ArgumentTypeError("batch sizes must be from 1 to 4096")
    return values


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="llm-energy measure", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True,
                   help="llama-1b, llama-8b, or a transformers config.json (random weights)")
    p.add_argument("--batch", type=_batches, action="append", required=True,
                   help="batch size(s): repeat or give a list (1,16,64)")
    p.add_argument("--input-tokens", type=_bounded(1, 32768), default=512)
    p.add_argument("--output-tokens", type=_bounded(1, 8192), default=256)
    p.add_argument("--gpu", type=_bounded(0, 1023), default=0, help="CUDA/NVML GPU index")
    p.add_argument("--hardware", help="hardware registry name (default: from the GPU's name)")
    p.add_argument("--json", action="store_true", help="one JSON object per batch size")
    return p


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def main(argv: list[str]) -> int:
    """Run the check; 2 when its dependencies or a GPU are missing, 1 when a run failed."""
    args = _parser().parse_args(argv)
    from tracker.measure import _check

    missing = _check.missing_dependencies()
    if missing:
        print(f"llm-energy measure: error: needs {', '.join(missing)} and an NVIDIA GPU "
              f"({_INSTALL})", file=sys.stderr)
        return 2
    batches = [b for group in args.batch for b in group]
    try:
        header, rows = _check.run_check(args.model, batches, input_tokens=args.input_tokens,
                                        output_tokens=args.output_tokens, gpu=args.gpu,
                                        hardware=args.hardware)
    except (RuntimeError, ValueError) as exc:
        print(f"llm-energy measure: error: {str(exc)[:300]}", file=sys.stderr)
        return 2
    except Exception as exc:  # out of memory, a driver error: said, never a traceback
        print(f"llm-energy measure: failed: {type(exc).__name__}: {str(exc)[:300]}",
              file=sys.stderr)
        return 1
    if args.json:
        for row in rows:
            print(json.dumps(asdict(row)))
        return 0
    print(header)
    print(f"{'batch':>6}  {'measured J/tok':>14}  {'estimated J/tok':>15}  {'ratio':>6}  "
          f"{'seconds':>8}  status")
    for row in rows:
        ratio = (None if row.measured_j_per_token is None
                 else row.measured_j_per_token / row.estimated_j_per_token)
        print(f"{row.batch:>6}  {_fmt(row.measured_j_per_token):>14}  "
              f"{_fmt(row.estimated_j_per_token):>15}  {_fmt(ratio):>6}  {row.seconds:>8.2f}  "
              f"{row.status}")
    print("J/tok: accelerator joules per output token (prefill included); estimated: the "
          "calibrated method, engine transformers, 1 GPU; ratio: measured / estimated.")
    return 0
