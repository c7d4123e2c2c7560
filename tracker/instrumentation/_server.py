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
#: id(client) -> (a weak reference to it, its base URL object, (host, port) or None); a dict
#: keyed by id with the referent checked costs one lookup, where a WeakKeyDictionary builds a
#: weak reference per lookup. Emptied when full (a process makes few clients).
_servers: dict[int, tuple[Any, Any, tuple[str, int | None] | None]] = {}
_MAX_CLIENTS = 256


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
    cached = _servers.get(id(client))
    if cached is not None and cached[1] is base_url and cached[0]() is client:
        return cached[2]
    found = _parse(base_url)
    try:
        ref = weakref.ref(client)
    except TypeError:  # a client without weak references: no cache
        return found
    if len(_servers) >= _MAX_CLIENTS:
        _servers.clear()
    _servers[id(client)] = (ref, base_url, found)
    return found
