#!/usr/bin/env bash
# The integration tests on the oldest client release each extra of pyproject.toml allows.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-min
.venv-min/bin/pip install -q --upgrade pip
.venv-min/bin/pip install -q -e '.[dev]' 'openai==1.92.0' 'anthropic==0.45.0'
.venv-min/bin/python -m pytest -q tests/test_openai.py tests/test_anthropic.py \
  tests/test_instrumentation.py tests/test_demo.py tests/test_counting.py
