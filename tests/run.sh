#!/usr/bin/env bash
# The test command: installs what the suite needs from nothing, then runs it.
#   PYTHON  the interpreter to test on (default: python3)
#   VENV    the virtual environment to build (default: .venv)
# Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
bash tests/install_backends.sh
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e '.[dev]'
exec "$VENV/bin/python" -m pytest "$@"
