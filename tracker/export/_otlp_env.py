"""Whether the environment asks for OTLP export, read without loading the export code.

`tracker.export._providers` (the OTLP and Prometheus set-up) is imported by `configure()` only
when there is something to export: an endpoint or a Prometheus port in the code, an OTLP protocol
to check, or one of these variables set (``OTEL_{TRACES,METRICS,LOGS}_EXPORTER=none`` can still
turn each signal off there).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["OTLP_ENDPOINT_ENV", "otlp_endpoint_in_env"]

#: The variables that give a signal an OTLP endpoint (the general one, then one per signal).
OTLP_ENDPOINT_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                     "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")


def otlp_endpoint_in_env(env: Mapping[str, str] | None = None) -> bool:
    """Whether any OTLP endpoint variable is set to something (`os.environ` by default)."""
    env = os.environ if env is None else env
    return any(env.get(name, "").strip() for name in OTLP_ENDPOINT_ENV)
