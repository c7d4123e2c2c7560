"""Rewrite the closed models' sizes in tracker/model/data/models.json from the sizing method.

The method and its inputs: tracker/model/_closed_sizing.py and
tracker/model/data/closed_sizing.json (docs/energy-model.md, "Closed models: one sizing
method"). Re-run from the repository root after changing the inputs:

    python -m benchmarks.builders.size_closed_models            # --check: exit 1 if stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tracker.model._closed_sizing import size_closed_models, sizing_inputs
from tracker.model._registry import Registry

MODELS_FILE = Path(__file__).resolve().parents[2] / "tracker" / "model" / "data" / "models.json"


def rebuilt(text: str) -> str:
    """models.json's text with every closed model's sizes and source from the method."""
    doc = json.loads(text)
    open_models = {m.name: m for m in Registry().models() if not m.estimated}
    sized = size_closed_models(open_models)
    classes = {c.name: c for c in sizing_inputs().classes}
    seen = set()
    for entry in doc["entries"]:
        size = sized.get(entry["name"])
        if size is None:
            continue
        seen.add(size.name)
        entry["total_params_b"] = size.total_params_b
        entry["active_params_b"] = size.active_params_b
        entry["active_params_b_min"] = size.active_params_b_min
        entry["active_params_b_max"] = size.active_params_b_max
        entry["precision"] = size.precision
        entry["source"] = size.source(classes)
    missing = sorted(set(sized) - seen)
    if missing:
        raise SystemExit(f"closed_sizing.json names models missing from models.json: {missing}")
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if models.json is stale")
    args = parser.parse_args(argv)
    text = MODELS_FILE.read_text(encoding="utf-8")
    new = rebuilt(text)
    if args.check:
        return 0 if new == text else 1
    MODELS_FILE.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
