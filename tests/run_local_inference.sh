#!/usr/bin/env bash
# In-process inference (the `transformers` extra: torch and transformers) on one Python, in a
# virtual environment of its own: torch is large (PyPI's Linux wheel brings its CUDA libraries,
# a few GB), so neither `dev` nor the main suite installs it; there, these tests skip. The model
# is built from a configuration with random weights and the tokenizer in code: nothing is
# downloaded at run time (HF_HUB_OFFLINE=1). The vllm tests run against their stand-in here
# (vLLM's published wheels run only on a GPU); the real-package test is marked `gpu`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-local-inference
.venv-local-inference/bin/pip install -q --upgrade pip
.venv-local-inference/bin/pip install -q -e '.[transformers]' 'pytest>=8'
HF_HUB_OFFLINE=1 .venv-local-inference/bin/python -m pytest -q -p no:cacheprovider \
  tests/integrations/test_transformers.py tests/integrations/test_vllm.py "$@"
# Again on the oldest transformers the extra declares (the same torch).
.venv-local-inference/bin/pip install -q 'transformers==4.40.2'
HF_HUB_OFFLINE=1 .venv-local-inference/bin/python -m pytest -q -p no:cacheprovider \
  tests/integrations/test_transformers.py "$@"
