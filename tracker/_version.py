"""The package version: the one place it is written (pyproject.toml reads it from here).

A literal rather than a metadata lookup: `importlib.metadata` costs tens of milliseconds of
start-up (it imports `email`, `zipfile` and more), and the version is needed by `configure()`.
"""

from __future__ import annotations

__all__ = ["VERSION"]

VERSION: str = "0.1.0"
