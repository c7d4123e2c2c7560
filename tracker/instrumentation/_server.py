"""`server_of()`: ``server.address`` and ``server.port`` of a client library's resource.

The host and port come from the client's base URL (``resource._client.base_url``, as the OpenAI,
Anthropic and compatible clients hold it). They are read once per client object and again only
if its base URL object is replaced, so a call costs one dictionary lookup.
"""

from __future__ import annotations

import weakref
from typing import Any
from urllib.parse import urlsplit

__all__ = ["server_of"]

_DEFAULT_PORTS = {"https": 443, "http": 80}
# client -> (its base URL object, (host, port) or None)
_servers: weakref.WeakKeyDictionary[Any, tuple[Any, tuple[str, int | None] | None]] = \
    weakref.WeakKeyDictionary()


def _parse(base_url: Any) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(str(base_url))
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host or len(host) > 253:
        return None
    if port is None:
        port = _DEFAULT_PORTS.get(parts.scheme)
    return host, port


def server_of(resource: Any) -> tuple[str, int | None] | None:
    """(host, port) of the client behind `resource` (or `resource` itself), or None."""
    client = getattr(resource, "_client", None) or resource
    base_url = getattr(client, "base_url", None)
    if base_url is None:
        return None
    try:
        cached = _servers.get(client)
        if cached is not None and cached[0] is base_url:
            return cached[1]
        found = _parse(base_url)
        _servers[client] = (base_url, found)
    except TypeError:  # a client without weak references or hash: no cache
        return _parse(base_url)
    return found
