#!/usr/bin/env bash
# Other vendors' instrumentations (the `interop` extra: OpenInference, OpenLLMetry, Logfire) with
# the SDK, each test in a subprocess of its own: every one's spans priced exactly once. They get a
# virtual environment of their own: OpenLLMetry's openai package registers the same
# `opentelemetry_instrumentor` name as the OpenTelemetry one, and Logfire changes what the rest of
# the suite's exit tests observe.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-interop
.venv-interop/bin/pip install -q --upgrade pip
.venv-interop/bin/pip install -q -e '.[dev,interop]'
.venv-interop/bin/python -m pytest -q tests/integrations/test_foreign_instrumentations.py "$@"
