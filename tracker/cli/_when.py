"""`llm-energy when`: the lowest-carbon window to run a job, from the grid forecast.

``llm-energy when --zone GB --duration 2h --within 24h`` reads the forecast of the zone (GB and
GB-1..GB-17 from the GB Carbon Intensity API, other zones from Electricity Maps with
``ELECTRICITYMAPS_API_TOKEN``) and prints the best window, its forecast intensity and the saving
against starting now; ``--json`` prints the same in one object. Exit status 0; 1 when the
forecast is unavailable (the reason on stderr); 2 for bad input with the field named.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any

from tracker.exceptions import ConfigError
from tracker.grid._forecast import FORECAST_PROVIDERS
from tracker.grid._providers import GridError
from tracker.reduce._timing import Window, best_window
from tracker.render import _units as U
from tracker.render._tables import write_wrapped

__all__ = ["PROVIDER_NAMES", "main"]

#: The providers' names, as ``llm-energy grid`` names them (and the forecast's older names).
PROVIDER_NAMES = ("uk", "electricitymaps", *(p for p in FORECAST_PROVIDERS
                                             if p not in ("uk", "electricitymaps")))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm-energy when",
        description="The lowest-carbon window for a job of a given length, from the forecast.")
    p.add_argument("--zone", required=True,
                   help="GB, GB-1..GB-17, an Electricity Maps zone (DE, FR) or a registry region")
    p.add_argument("--duration", default="1h", help="how long the job runs (default 1h)")
    p.add_argument("--within", default="24h", help="latest end of the window (default 24h)")
    p.add_argument("--provider", choices=PROVIDER_NAMES,
                   help="uk or electricitymaps (default: by zone; uk-carbon-intensity is "
                        "another name of uk)")
    p.add_argument("--api-url", help="provider base URL (default: the public API)")
    p.add_argument("--timeout", type=float, default=10.0, help="read timeout, seconds (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _clock(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%a %d %b %H:%M UTC")


def _span(window: Window) -> str:
    return U.duration(window.delay.total_seconds()) if window.delay.total_seconds() else "0 min"


def print_window(window: Window, duration: str, within: str) -> None:
    """The window as a person reads it."""
    g = window.gco2e_per_kwh
    now = window.now_gco2e_per_kwh
    lines = [f"zone {window.zone}: best {duration} window in the next {within} "
             f"(forecast to {_clock(window.forecast_end)})",
             f"  start   {_clock(window.start)}  (in {_span(window)})",
             f"  end     {_clock(window.end)}",
             f"  carbon  {U.per_kwh(g, 'gCO2e')} forecast, vs {U.number(now)} starting now"]
    if window.saving > 0:
        lines.append(f"  saving  {U.number(100 * window.saving)} % of the job's emissions")
    else:
        lines.append("  saving  none: now is already the lowest-carbon window")
    write_wrapped("\n".join(lines), indent="          ")


def main(argv: list[str]) -> int:
    """Print the best window; 0, 1 when the forecast is unavailable, 2 for bad input."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    options: dict[str, Any] = {"timeout": args.timeout}
    if args.provider:
        options["provider"] = {"uk": "uk-carbon-intensity"}.get(args.provider, args.provider)
    if args.api_url:
        options["api_url"] = args.api_url
    try:
        window = best_window(args.zone, args.duration, args.within, **options)
    except ConfigError as exc:
        print(f"llm-energy when: error: {exc}", file=sys.stderr)
        return 2
    except GridError as exc:
        print(f"llm-energy when: forecast unavailable: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(window.to_dict()))
    else:
        print_window(window, args.duration, args.within)
    return 0
