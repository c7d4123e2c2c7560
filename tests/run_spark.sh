#!/usr/bin/env bash
# The Spark engine's tests (marked `spark`) against a real local Spark, local[2]: installs Java 17
# from the OS packages when `java` is missing, and the `spark` extra (with `dev`, for the test
# suite and the DuckDB/Python engines they are compared with) into .venv-spark.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v java >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q openjdk-17-jre-headless
fi
python3 -m venv .venv-spark
.venv-spark/bin/pip install -q --upgrade pip
.venv-spark/bin/pip install -q -e '.[dev,spark]'
.venv-spark/bin/python -m pytest -q -m spark tests/footprint "$@"
