#!/usr/bin/env bash
# The heavy agent frameworks (the `frameworks` extra: LlamaIndex, CrewAI, Google ADK) with the SDK,
# on one Python, in a virtual environment of their own: llama-index-llms-openai and crewai need
# openai < 3 where the `dev` extra's openai-agents and pydantic-ai need openai >= 3, crewai pins
# pydantic < 2.13 and google-adk google-genai < 3. In the main suite these tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-frameworks
.venv-frameworks/bin/pip install -q --upgrade pip
.venv-frameworks/bin/pip install -q -e '.[frameworks]'
.venv-frameworks/bin/python -m pytest -q tests/integrations/test_llama_index.py \
  tests/integrations/test_crewai.py tests/integrations/test_google_adk.py "$@"
