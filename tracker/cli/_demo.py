"""`llm-energy demo`: the command; its body (server, calls, story) is `tracker.demo`."""

from __future__ import annotations

from tracker.demo._run import main

__all__ = ["main"]
