"""User attributes of a call (``record_usage(..., team="search")``): what may be copied, and how.

Only str/int/bool and finite float values are kept; keys that look like text or secrets (prompt,
message, content, completion, text, headers, instructions, arguments; key, token other than a
``*_tokens`` count, secret, password, auth, bearer, session, cookie, credential, signature, jwt,
private, cert), keys longer than 128 characters and strings longer than 256 characters are
dropped, so prompt text and credentials never leak through this door.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["user_attributes"]

#: Parts of an attribute name that mark content or a secret: never copied into telemetry
#: (``system_instructions``, ``tool.call.arguments``... are content under the GenAI conventions).
_DENY = ("prompt", "message", "content", "completion", "key", "secret", "passw", "pwd", "auth",
         "bearer", "header", "text", "cookie", "session", "credential", "signature", "jwt",
         "private", "cert", "instruction", "argument", "call.result", "definitions")
_MAX_STR = 256
_MAX_KEY = 128


def user_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    if not attributes:
        return {}
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if not isinstance(key, str) or not isinstance(value, (str, bool, int, float)):
            continue
        if len(key) > _MAX_KEY:  # a long key is text, not a label name
            continue
        if isinstance(value, str) and len(value) > _MAX_STR:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        low = key.lower()
        if any(d in low for d in _DENY):
            continue
        if "token" in low and not (low.endswith("_tokens") or low == "tokens"):
            continue  # access_token, token, id_token ...; counts such as cached_tokens stay
        out[key] = value
    return out
