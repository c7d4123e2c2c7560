"""Benchmarks and data scripts, run from the repository root as modules.

``python -m benchmarks.speed.overhead``: `speed` measures what the SDK costs an application,
`accuracy` fits and scores the energy model, `builders` rebuild registry data from public sources.
"""
