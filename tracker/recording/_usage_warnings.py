"""One WARNING per surprise in `record_usage()`, never one per call.

`record_usage()` is the path of applications that report usage themselves; what it does quietly
to bad input deserves a word, once: a model not in the registry (priced as the fallback model,
``energy.model_known=false``) is named the first time it is seen, and a token count that is not
one (negative, not an integer, beyond `tracker._usage.MAX_TOKENS`; the count is then taken as
not reported and the call flagged ``energy.tokens_estimated``) is named once per argument and
kind of problem. At most `MAX_WARNED` distinct surprises are logged per process (a ledger of
distinct hostile names cannot flood the log); `reset()` forgets them (tests).
"""

from __future__ import annotations

import logging
import threading

from tracker._usage import MAX_TOKENS

__all__ = ["MAX_WARNED", "check_counts", "reset", "unknown_model"]

logger = logging.getLogger("tracker.usage")

#: Distinct warnings logged per process, all kinds together.
MAX_WARNED = 64

_seen: set[tuple[str, str]] = set()
_lock = threading.Lock()


def _first(kind: str, key: str) -> bool:
    with _lock:
        if (kind, key) in _seen or len(_seen) >= MAX_WARNED:
            return False
        _seen.add((kind, key))
        if len(_seen) == MAX_WARNED:
            logger.warning("record_usage(): %d distinct warnings logged; no more until restart",
                           MAX_WARNED)
        return True


def _shown(name: str) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in name[:80])
    return repr(text + ("…" if len(name) > 80 else ""))


def unknown_model(model: str | None) -> None:
    """Warn, once per name, that ``model`` is not in the registry (priced as the fallback)."""
    name = "" if model is None else str(model)
    if _first("model", name[:200]):
        logger.warning("record_usage(): model %s is not in the registry; priced as the fallback "
                       "model (energy.model_known=false). Register it with tracker.register() "
                       "or registry_file. This warning is shown once per model.", _shown(name))


def _problem(value: object) -> str | None:
    if type(value) is int:
        if value < 0:
            return "negative"
        return "larger than 10^12" if value > MAX_TOKENS else None
    return f"not an integer ({type(value).__name__})"


def check_counts(**counts: object) -> None:
    """Warn, once per argument and kind of problem, about a count that is not one."""
    for field, value in counts.items():
        problem = _problem(value)
        if problem is not None and _first("count", f"{field}:{problem}"):
            logger.warning("record_usage(): %s is %s; taken as not reported (0), and the call "
                           "is flagged energy.tokens_estimated=true. This warning is shown once.",
                           field, problem)


def reset() -> None:
    """Forget what was warned about."""
    with _lock:
        _seen.clear()
