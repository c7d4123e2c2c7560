"""The only module of the SDK that touches the network: bounded, retrying, secret-free HTTP.

Everything here is synchronous and meant to run off the hot path (the grid refresher's daemon
thread) or inside an explicit request such as `llm-energy grid`. A session built by
`make_session()` never waits without bound:

- every request has a connect and a read timeout (`DEFAULT_TIMEOUT`, overridable);
- 429 and 5xx answers are retried a few times with exponential backoff, honouring a
  `Retry-After` header but never sleeping longer than `max_retry_after_s`;
- a read that times out is not retried (a hung server would otherwise multiply the wait);
- the body is read against a total deadline (connect plus read timeout, `deadline_s`), so a server
  trickling a byte at a time cannot hold a request longer than that, and is capped in size;
- redirects are never followed: a credential sent to the configured origin (Electricity Maps'
  ``auth-token``) can never reach another one; a 3xx answer is an ``http`` error.

Errors leave this module as `NetworkError`, whose text is built only from safe parts (an HTTP
status, an error kind) and passed through `redact()`: no URL, header, token or response body.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tracker.exceptions import TrackerError

__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRY_STATUSES",
    "NetworkError",
    "get_json",
    "make_session",
    "redact",
]

logger = logging.getLogger(__name__)

#: (connect, read) seconds for every request made through `make_session()`.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
#: Largest response body read (bytes): a forecast is a few hundred kilobytes at most.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: HTTP statuses retried with backoff (rate limited, server errors).
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
_USER_AGENT = "llm-energy-tracker (+https://github.com/llm-energy-tracker)"


class NetworkError(TrackerError):
    """A request failed: timeout, connection error, HTTP error status or a body that is not JSON.

    `status` is the HTTP status when there was an answer, else None; `kind` is one of
    "timeout", "connection", "http", "json". The message never holds a URL, header or secret.
    """

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        self.kind = kind
        self.status = status
        super().__init__(message)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every non-empty secret replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class _CappedRetry(Retry):
    """urllib3 `Retry` whose `Retry-After` sleep is capped (a server may ask for hours)."""

    max_retry_after_s: float = 30.0

    def get_retry_after(self, response: Any) -> float | None:
        """The server's `Retry-After` in seconds, capped at `max_retry_after_s`."""
        seconds = super().get_retry_after(response)
        if seconds is None:
            return None
        return max(0.0, min(float(seconds), self.max_retry_after_s))

    def new(self, **kw: Any) -> _CappedRetry:
        """Copy carrying the cap (urllib3 builds a new object per attempt)."""
        retry: _CappedRetry = super().new(**kw)
        retry.max_retry_after_s = self.max_retry_after_s
        return retry


class _TimeoutAdapter(HTTPAdapter):
    """`HTTPAdapter` applying a default (connect, read) timeout when the caller gives none."""

    def __init__(self, timeout: tuple[float, float], max_retries: Retry) -> None:
        super().__init__(max_retries=max_retries)
        self.default_timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send with the default timeout unless one is given."""
        return super().send(
            request, stream=stream, timeout=self.default_timeout if timeout is None else timeout,
            verify=verify, cert=cert, proxies=proxies,
        )


def make_session(
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = 2,
    backoff_s: float = 0.5,
    max_retry_after_s: float = 30.0,
) -> requests.Session:
    """A `requests.Session` with default timeouts and capped retries (see the module docstring).

    Retries apply to GET only. `backoff_s` is urllib3's backoff factor (sleeps of
    `backoff_s * 2**(n-1)` seconds between attempts). Proxies from the environment are honoured.
    """
    retry = _CappedRetry(
        total=retries, connect=retries, read=0, status=retries, other=0,
        backoff_factor=backoff_s, status_forcelist=sorted(RETRY_STATUSES),
        allowed_methods=frozenset({"GET"}), respect_retry_after_header=True,
        raise_on_status=False, raise_on_redirect=False,
    )
    retry.max_retry_after_s = max_retry_after_s
    session = requests.Session()
    session.max_redirects = 0
    setattr(session, _DEADLINE_ATTR, float(timeout[0]) + float(timeout[1]))
    adapter = _TimeoutAdapter(timeout, retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = _USER_AGENT
    session.headers["Accept"] = "application/json"
    return session


_DEADLINE_ATTR = "tracker_deadline_s"


def _body(response: requests.Response, deadline: float) -> bytes:
    """The body, read as it arrives (``read1``), within `deadline` (monotonic) and the size cap."""
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # not a urllib3 response (a test adapter): its content, size-capped
        content = response.content or b""
        if len(content) > MAX_BODY_BYTES:
            raise NetworkError("json", "response is too large", status=response.status_code)
        return content
    parts: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise NetworkError("timeout", "request timed out (total deadline)",
                               status=response.status_code)
        chunk = read1(65536, decode_content=True)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise NetworkError("json", "response is too large", status=response.status_code)
        parts.append(chunk)


def _is_timeout(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (requests.Timeout, TimeoutError)):
            return True
        if type(current).__name__ in ("ReadTimeoutError", "ConnectTimeoutError"):
            return True
        args = getattr(current, "args", ())
        nested = [a for a in args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            nested.append(reason)
        current = nested[0] if nested else (current.__cause__ or current.__context__)
    return False


def get_json(
    session: requests.Session,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str | None] = (),
) -> Any:
    """GET `url` and decode its JSON body; raise `NetworkError` (secret-free) on any failure.

    `secrets` (e.g. the API token) are scrubbed from the error text as a second line of defence:
    the message is already built from the status and error kind only.
    """
    secret_list = list(secrets)
    deadline = time.monotonic() + float(getattr(session, _DEADLINE_ATTR, sum(DEFAULT_TIMEOUT)))
    try:
        response = session.get(url, params=params, headers=dict(headers or {}),
                               allow_redirects=False, stream=True)
    except requests.RequestException as exc:
        kind = "timeout" if _is_timeout(exc) else "connection"
        text = ("request timed out" if kind == "timeout"
                else f"connection failed ({type(exc).__name__})")
        raise NetworkError(kind, redact(text, secret_list)) from None
    try:
        if 300 <= response.status_code < 400:
            raise NetworkError("http", f"HTTP {response.status_code} redirect not followed",
                               status=response.status_code)
        if not 200 <= response.status_code < 300:
            reason = redact(str(response.reason or ""), secret_list)[:60]
            raise NetworkError("http", f"HTTP {response.status_code} {reason}".rstrip(),
                               status=response.status_code)
        try:
            body = _body(response, deadline)
        except NetworkError:
            raise
        except Exception as exc:  # urllib3's read errors (timeout, protocol, decoding)
            kind = "timeout" if _is_timeout(exc) else "connection"
            raise NetworkError(kind, "request timed out" if kind == "timeout"
                               else f"connection failed ({type(exc).__name__})") from None
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise NetworkError("json", "response is not valid JSON",
                               status=response.status_code) from None
    finally:
        response.close()
