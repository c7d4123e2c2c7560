"""The SDK's own ledger (JSON Lines, any line version it has written; rotated and gzip files).

Each line is one call. Its figures recorded at call time (``energy.kwh`` and its range,
``energy.gco2e``, ``energy.usd``, ``energy.water_l``, the inner boundaries, embodied carbon)
are kept on the row; they are used unless the user asks to reprice. Required: ``timestamp``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tracker import _attributes as A
from tracker._usage import parse_count
from tracker.footprint._schema import UsageRow, name, recorded_value, timestamp

if TYPE_CHECKING:
    from tracker.footprint.formats import ReadContext

NAME = "ledger"
KIND = "json"
_RECORDED = (A.ENERGY_KWH, A.ENERGY_KWH_MIN, A.ENERGY_KWH_MAX, A.ENERGY_SERVER_KWH,
             A.ENERGY_ACCELERATOR_KWH, A.ENERGY_GCO2E, A.ENERGY_GCO2E_MIN, A.ENERGY_GCO2E_MAX,
             A.ENERGY_USD, A.ENERGY_WATER_L, A.ENERGY_EMBODIED_GCO2E)
_MAX_LABELS = 64


def sniff(first: Any) -> bool:
    """A ledger line: a timestamp and an ``energy.*`` event or figure."""
    return isinstance(first, dict) and "timestamp" in first and (
        str(first.get("event", "")).startswith("energy.") or A.ENERGY_KWH in first)


def _recorded(line: dict[str, Any]) -> tuple[float, ...] | None:
    kwh = recorded_value(line.get(A.ENERGY_KWH))
    if kwh is None:
        return None
    values = [recorded_value(line.get(key)) for key in _RECORDED]
    # Older lines lack the range or the inner boundaries: the central figure stands in.
    central = {0: kwh, 1: kwh, 2: kwh, 3: kwh, 4: kwh, 5: values[5], 6: values[5],
               7: values[5]}
    out = [v if v is not None else central.get(i) for i, v in enumerate(values)]
    return tuple(0.0 if v is None else v for v in out)


def _labels(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    out = []
    for key, item in list(value.items())[:_MAX_LABELS]:
        # A string, a whole number or a boolean (as JSON writes it: true, false).
        text = (name(("true" if item else "false") if type(item) is bool else str(item))
                if type(item) in (str, int, bool) else None)
        if name(key) is not None and text is not None:
            out.append((key, text))
    return tuple(out)


def read(records: Iterable[tuple[int, Any]], ctx: ReadContext) -> Iterator[UsageRow]:
    """One row per ledger line."""
    project_label = ctx.options.project_label
    for line, rec in records:
        if not isinstance(rec, dict):
            ctx.issues.bad(ctx.label, line)
            continue
        ts = timestamp(rec.get("timestamp"))
        if ts is None:
            ctx.missing(line, "timestamp")
            continue
        n_in = parse_count(rec.get(A.GEN_AI_USAGE_INPUT_TOKENS))
        n_out = parse_count(rec.get(A.GEN_AI_USAGE_OUTPUT_TOKENS))
        recorded = _recorded(rec)
        if n_in is None and n_out is None and recorded is None:
            ctx.issues.bad(ctx.label, line)
            continue
        ctx.ok()
        labels = _labels(rec.get("labels"))
        project = next((v for k, v in labels if k == project_label), None)
        yield UsageRow(
            timestamp=ts, provider=name(rec.get(A.GEN_AI_PROVIDER_NAME)),
            model=(name(rec.get(A.GEN_AI_REQUEST_MODEL)) or name(rec.get(A.GEN_AI_RESPONSE_MODEL))
                   or name(rec.get(A.ENERGY_MODEL))),
            requests=1, input_tokens=n_in or 0, output_tokens=n_out or 0,
            cached_input_tokens=parse_count(rec.get(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)) or 0,
            project=project, function=name(rec.get("function")) or name(rec.get(A.ENERGY_FUNCTION)),
            labels=labels, recorded=recorded)
