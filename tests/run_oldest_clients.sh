#!/usr/bin/env bash
# The integration tests on the oldest client release each extra of pyproject.toml allows.
# Clients whose oldest releases cannot share one environment (ollama 0.4 needs httpx < 0.28,
# google-genai 1.10 needs httpx >= 0.28.1; langchain-openai 0.3 and litellm 1.109 need different
# majors of openai) are tested one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-min
.venv-min/bin/pip install -q --upgrade pip
.venv-min/bin/pip install -q -e '.[dev]'
run() { .venv-min/bin/python -m pytest -q "$@"; }
.venv-min/bin/pip install -q 'openai==1.92.0' 'anthropic==0.45.0' 'google-genai==1.10.0' \
  'boto3==1.37.25' 'botocore==1.37.25' 'mistralai==1.9.11' 'cohere==5.18.0'
run tests/integrations/test_openai.py tests/integrations/test_anthropic.py tests/integrations/test_google_genai.py tests/integrations/test_bedrock.py \
  tests/integrations/test_mistral.py tests/integrations/test_cohere.py tests/instrumentation/test_instrumentation.py tests/demo/test_demo.py \
  tests/recording/test_counting.py
.venv-min/bin/pip install -q 'ollama==0.4.0'
run tests/integrations/test_ollama.py
# The framework integrations, each on its extra's oldest release with the provider clients it
# calls: langchain-openai 0.3 needs openai < 2, litellm 1.109 openai >= 2.20 (and httpx >= 0.28).
.venv-min/bin/pip install -q 'langchain-core==0.3.66' 'langchain-openai==0.3.27' \
  'langchain-anthropic==0.3.16' 'openai==1.92.0' 'anthropic==0.52.0'
run tests/integrations/test_langchain.py
.venv-min/bin/pip install -q 'litellm==1.109.0' 'openai==2.20.0'
run tests/integrations/test_litellm.py
# The agent frameworks: openai-agents 0.3.3 with the openai 1.x it was released against.
.venv-min/bin/pip install -q 'openai-agents==0.3.3' 'openai==1.109.1'
run tests/integrations/test_openai_agents.py
.venv-min/bin/pip install -q 'huggingface_hub==0.34.4'
run tests/integrations/test_huggingface_hub.py
