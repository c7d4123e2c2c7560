"""Instrumentation: the integration registry (`_registry`) and the generic wrapper (`_wrapper`).

Integrations import what they need from the public `tracker.integration` module; applications
use `tracker.instrument()` / `tracker.uninstrument()`.
"""
