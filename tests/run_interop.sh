#!/usr/bin/env bash
# Other vendors' instrumentations (the `interop` extra: OpenInference, OpenLLMetry, Logfire; and
# OpenLIT, installed apart below) with
# the SDK, each test in a subprocess of its own: every one's spans priced exactly once. They get a
# virtual environment of their own: OpenLLMetry's openai package registers the same
# `opentelemetry_instrumentor` name as the OpenTelemetry one, and Logfire changes what the rest of
# the suite's exit tests observe.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-interop
.venv-interop/bin/pip install -q --upgrade pip
.venv-interop/bin/pip install -q -e '.[dev,interop]'
# OpenLIT without its dependencies: its metadata caps openai below 3 and anthropic below 1 (the
# test dependencies need newer), and asks for a dozen web-framework instrumentations; with the
# clients and OpenTelemetry packages above it imports and instruments openai with these two.
.venv-interop/bin/pip install -q --no-deps 'openlit==1.45.0' 'schedule>=1.2.2' 'xmltodict>=0.13'
.venv-interop/bin/python -m pytest -q tests/integrations/test_foreign_instrumentations.py "$@"
