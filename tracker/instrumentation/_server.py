"""`server_of()`: ``server.address`` and ``server.port`` of a client library's resource.

The host and port come from the client's base URL (``resource._client.base_url``, as the OpenAI,
Anthropic and compatible clients hold it). They are read once per client object and again only
if its base URL object is replaced, so a call costs one dictionary lookup.
"""

from __future__ import annotations

import weakref
from typing import Any, TypeVar
from urllib.parse import urlsplit

__all__ = ["remember_client", "server_of", "url_key"]

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


def url_key(client: Any) -> Any:
    """The object that changes when `client`'s base URL is replaced, read without calling it.

    The URL object the client keeps in its instance dictionary (``_configured_base_url`` in
    openai 2.x and later, ``_base_url`` in earlier clients and in anthropic's), else its
    ``base_url``: openai's ``base_url`` property imports a module on every read, which cost
    more than the rest of this lookup.
    """
    attrs = getattr(client, "__dict__", None)
    if attrs is not None:
        found = attrs.get("_configured_base_url")
        if found is None:
            found = attrs.get("_base_url")
        if found is not None:
            return found
    return getattr(client, "base_url", None)


def server_of(resource: Any) -> tuple[str, int | None] | None:
    """(host, port) of the client behind `resource` (or `resource` itself), or None."""
    client = getattr(resource, "_client", None) or resource
    key = url_key(client)
    if key is None:
        return None
    cached = _servers.get(id(client))
    if cached is not None and cached[1] is key and cached[0]() is client:
        return cached[2]
    base_url = getattr(client, "base_url", None)
    if base_url is None:
        return None
    return remember_client(_servers, client, key, _parse(base_url))


_V = TypeVar("_V")


def remember_client(cache: dict[int, tuple[Any, Any, _V]], client: Any, key: Any,
                    value: _V) -> _V:
    """Keep `value` for `client` in a cache keyed by its id; returns `value`.

    The entry holds a weak reference, to tell a new client at a reused id, and `key` (the
    client's base URL object), to tell a replaced URL; the cache is emptied when it holds
    `_MAX_CLIENTS`. Readers look entries up inline: ``cached[1] is key and cached[0]() is
    client``.
    """
    try:
        ref = weakref.ref(client)
    except TypeError:  # a client without weak references: no cache
        return value
    if len(cache) >= _MAX_CLIENTS:
        cache.clear()
    cache[id(client)] = (ref, key, value)
    return value
