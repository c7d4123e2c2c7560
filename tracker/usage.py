"""Recording LLM calls: `start_call()`/`LLMCall.finish()`, `record_usage()`, response usage.

`record_usage()` is the one path by which a call is priced and emitted; integrations use
`start_call()` and `LLMCall.finish()`, which run the same code. None of these ever raise into the
application: SDK-side failures are logged once (`tracker.internal_errors`).

Pricing: one `CallPricer` per distinct (model, provider) and configuration, built on first use and
cached on the runtime; a call is then a few multiplications. An unknown model is priced with
`tracker.energy_model.FALLBACK_MODEL` and flagged ``energy.model_known=false``.

User attributes (``record_usage(..., team="search")``) go on the span, log record and ledger line.
Only str/int/float/bool values are kept; keys that look like text or secrets (prompt, message,
content, completion, key, token-less "text", headers, password, secret, authorization) and strings
longer than 256 characters are dropped, so prompt text never leaks through this door.
"""

from __future__ import annotations

import contextlib
import functools
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tracker import attributes as A
from tracker.config import Runtime, get_runtime
from tracker.deployments import deployment_for
from tracker.internal_errors import report
from tracker.scope import EnergyScope, current_scope

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from tracker.energy_model import CallPricer, Estimate

__all__ = [
    "LLMCall",
    "Usage",
    "extract_usage",
    "is_recorded",
    "mark_recorded",
    "record_response",
    "record_usage",
    "start_call",
]

_DENY = ("prompt", "message", "content", "completion", "api_key", "apikey", "secret", "password",
         "authorization", "header", "text", "cookie", "credential")
_MAX_STR = 256
_MAX_PRICERS = 4096


def _user_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    if not attributes:
        return {}
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if not isinstance(key, str) or not isinstance(value, (str, bool, int, float)):
            continue
        if isinstance(value, str) and len(value) > _MAX_STR:
            continue
        low = key.lower()
        if any(d in low for d in _DENY):
            continue
        out[key] = value
    return out


# ----------------------------------------------------------------------------- pricing cache


@dataclass(frozen=True, slots=True)
class _Priced:
    pricer: CallPricer
    provider: str | None  # given, or inferred from the registry entry
    live: bool  # a live grid reading (tracker.grid) replaces the registry intensity


def _pricer_kwargs(runtime: Runtime, provider: str | None) -> dict[str, Any]:
    cfg = runtime.config
    kwargs: dict[str, Any] = {
        "hardware": cfg.hardware, "precision": cfg.precision, "gpus": cfg.gpus,
        "batch_size": cfg.batch_size, "method": cfg.method, "pue": cfg.pue,
        "host_overhead": cfg.host_overhead, "region": cfg.region,
        "carbon_intensity": cfg.carbon_intensity, "price_usd_per_kwh": cfg.price_usd_per_kwh,
        "wue": cfg.wue,
    }
    dep = deployment_for(provider)
    if dep is None:
        return kwargs
    from tracker.registry import get_registry

    reg = get_registry()
    if kwargs["hardware"] is None:
        kwargs["hardware"] = _first_known(reg.hardware, dep.hardware)
    if kwargs["region"] is None:
        kwargs["region"] = _first_known(reg.region, dep.region)
    if kwargs["pue"] is None:
        kwargs["pue"] = dep.pue
    if kwargs["wue"] is None:
        kwargs["wue"] = dep.wue
    return kwargs


def _first_known(lookup: Any, names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            lookup(name)
        except Exception:
            continue
        return name
    return None


def _build_priced(runtime: Runtime, model: str | None, provider: str | None) -> _Priced:
    from tracker.energy_model import pricer
    from tracker.registry import get_registry

    if not provider and model:
        # A closed model is served only by its maker: its deployment is a fair assumption.
        spec = get_registry().find_model(model)
        if spec is not None and spec.estimated and deployment_for(spec.provider) is not None:
            provider = spec.provider
    try:
        built = pricer(model, unknown_model="fallback", **_pricer_kwargs(runtime, provider))
    except Exception as exc:  # a provider default the registry rejects: drop the defaults
        report("usage.provider_defaults", exc)
        built = pricer(model, unknown_model="fallback", **_pricer_kwargs(runtime, None))
    live = built.grid_source == "registry" and built.region == runtime.live_region
    return _Priced(built, provider, live)


def _priced(runtime: Runtime, model: str | None, provider: str | None) -> _Priced:
    key = (model, provider)
    entry: _Priced | None = runtime.pricers.get(key)
    if entry is None:
        if len(runtime.pricers) >= _MAX_PRICERS:
            runtime.pricers.clear()
        entry = runtime.pricers[key] = _build_priced(runtime, model, provider)
    return entry


# ----------------------------------------------------------------------------- calls


class LLMCall:
    """One LLM call in flight: its CLIENT span is open until `finish()`."""

    __slots__ = ("_attributes", "_done", "_runtime", "_scope", "_span", "_span_name", "_t0",
                 "model", "operation", "provider")

    def __init__(self, runtime: Runtime | None, scope: EnergyScope | None, span: Span | None,
                 provider: str | None, operation: str, model: str | None,
                 attributes: dict[str, Any]) -> None:
        self._runtime = runtime
        self._scope = scope
        self._span = span
        self.provider = provider
        self.operation = operation
        self.model = model
        self._attributes = attributes
        self._span_name: str | None = None
        self._t0 = time.perf_counter()
        self._done = runtime is None

    def finish(self, *, input_tokens: int | None, output_tokens: int | None,
               response_model: str | None = None, tokens_estimated: bool = False,
               error: BaseException | None = None) -> None:
        """Price and emit the call (idempotent, never raises).

        Missing token counts count as 0 and set ``energy.tokens_estimated``; a failed call that
        reported no usage at all gets an ERROR span and no energy.
        """
        try:
            self._finish(input_tokens, output_tokens, response_model, tokens_estimated, error)
        except Exception as exc:
            self._abort()
            report("usage.finish", exc)

    def _abort(self) -> None:
        """End the span of a call whose recording failed half-way (best effort)."""
        span, self._span = self._span, None
        if span is not None:
            with contextlib.suppress(Exception):
                span.end()

    def _finish(self, input_tokens: int | None, output_tokens: int | None,
                response_model: str | None, tokens_estimated: bool,
                error: BaseException | None, duration: bool = True) -> Estimate | None:
        if self._done:
            return None
        self._done = True
        runtime = self._runtime
        assert runtime is not None
        telemetry = runtime.telemetry
        duration_s = time.perf_counter() - self._t0 if duration else None
        metric_key = (self.operation, self.provider, self.model)
        if error is not None and input_tokens is None and output_tokens is None:
            telemetry.end_failed_call(self._span, error, duration_s, metric_key)
            return None
        if input_tokens is None or output_tokens is None:
            tokens_estimated = True
        n_in = int(input_tokens or 0)
        n_out = int(output_tokens or 0)
        priced = _priced(runtime, self.model, self.provider)
        if (not priced.pricer.model_known and response_model
                and response_model != self.model):
            alt = _priced(runtime, response_model, self.provider)
            if alt.pricer.model_known:
                priced = alt
        provider = self.provider or priced.provider
        if provider != self.provider:
            metric_key = (self.operation, provider, self.model)
        est = priced.pricer.price(n_in, n_out)
        if priced.live:
            reading = _grid_lookup()
            if reading is not None:
                est = priced.pricer.price(n_in, n_out, carbon_intensity=reading.g_per_kwh,
                                          grid_source=reading.source)
        scope = self._scope
        if scope is not None:
            try:
                scope.add(est)
            except Exception as exc:
                report("scope.rollup", exc)
        skey = (priced, self.operation, provider, self.model)
        static = runtime.statics.get(skey)
        if static is None:
            static = runtime.statics[skey] = telemetry.static_attributes(
                priced.pricer, self.operation, provider, self.model)
        attrs = telemetry.call_attributes(static, est, response_model, tokens_estimated)
        labels = _labels(runtime, scope, self._attributes)
        telemetry.emit_call(
            self._span, attrs, labels, function=scope.name if scope is not None else None,
            region=priced.pricer.region, metric_key=metric_key, duration_s=duration_s,
            error=error, start_name=self._span_name,
        )
        return est


def _grid_lookup() -> Any:
    from tracker import grid

    return grid.lookup()


def _labels(runtime: Runtime, scope: EnergyScope | None,
            attributes: dict[str, Any]) -> dict[str, Any]:
    base = runtime.labels
    scoped = scope.labels if scope is not None else None
    if not scoped and not attributes:
        return base
    return {**base, **(scoped or {}), **attributes}


_DISABLED = LLMCall(None, None, None, None, "chat", None, {})


def start_call(*, provider: str | None, operation: str = "chat", request_model: str | None,
               attributes: Mapping[str, Any] | None = None) -> LLMCall:
    """Open a call: starts its CLIENT span (child of the current span). Never raises.

    The call rolls up into the tracked scope current *now*, even if it finishes elsewhere
    (a stream consumed after the function returned).
    """
    return _start(provider, operation, request_model, attributes, defer_span=False)


def _start(provider: str | None, operation: str, request_model: str | None,
           attributes: Mapping[str, Any] | None, *, defer_span: bool) -> LLMCall:
    try:
        runtime = get_runtime()
        if not runtime.config.enabled:
            return _DISABLED
        scope = current_scope()
        default = scope.model if scope is not None else None
        model = request_model or default or runtime.config.model
        name = f"{operation} {model}" if model else operation
        span = None
        if not defer_span:  # record_usage() starts and ends its span in one go, at finish
            try:
                initial: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: operation}
                if provider:
                    initial[A.GEN_AI_PROVIDER_NAME] = provider
                if model:
                    initial[A.GEN_AI_REQUEST_MODEL] = model
                span = runtime.telemetry.start_call_span(name, initial)
            except Exception as exc:
                report("telemetry.start_call_span", exc)
        call = LLMCall(runtime, scope, span, provider, operation, model,
                       _user_attributes(attributes))
        call._span_name = name if defer_span else None
        return call
    except Exception as exc:
        report("usage.start_call", exc)
        return _DISABLED


def record_usage(model: str | None = None, input_tokens: int = 0, output_tokens: int = 0,
                 provider: str | None = None, operation: str = "chat", *,
                 response_model: str | None = None, tokens_estimated: bool = False,
                 **attributes: Any) -> Estimate | None:
    """Record one LLM call's usage: price it, emit its span, log record, metrics and ledger line.

    Inside a tracked scope the call rolls up into it (and the scope's `model=` is the default
    model); outside any scope it is still emitted. Returns the `Estimate`, or None when the SDK
    is disabled or failed internally (never raises).
    """
    call = _start(provider, operation, model, attributes, defer_span=True)
    try:
        return call._finish(input_tokens, output_tokens, response_model, tokens_estimated, None,
                            duration=False)
    except Exception as exc:
        call._abort()
        report("usage.record_usage", exc)
        return None


# ----------------------------------------------------------------------------- no double count

_weak: dict[int, weakref.ref[Any]] = {}
_strong: OrderedDict[int, object] = OrderedDict()
_MAX_STRONG = 2048


def _forget(key: int, _ref: object) -> None:
    _weak.pop(key, None)


def mark_recorded(obj: object) -> None:
    """Remember that `obj` (a provider response) has been recorded, so it is not counted again."""
    key = id(obj)
    try:
        _weak[key] = weakref.ref(obj, functools.partial(_forget, key))
    except TypeError:  # dicts and other objects without weak references: keep them alive briefly
        _strong[key] = obj
        while len(_strong) > _MAX_STRONG:
            _strong.popitem(last=False)


def is_recorded(obj: object) -> bool:
    """Whether `mark_recorded(obj)` was called for this very object."""
    key = id(obj)
    ref = _weak.get(key)
    if ref is not None and ref() is obj:
        return True
    return _strong.get(key) is obj


# ----------------------------------------------------------------------------- response usage


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage read from a provider response."""

    input_tokens: int
    output_tokens: int
    model: str | None
    provider: str | None
    operation: str


_SKIP_TYPES = (str, bytes, bytearray, int, float, bool, list, tuple, set, frozenset)
_PROVIDER_BY_MODULE = (("openai", "openai"), ("anthropic", "anthropic"), ("google", "gcp.gemini"))
_OPENAI_OBJECTS = ("chat.completion", "text_completion", "response", "list")
_OPERATION_BY_OBJECT = {"list": "embeddings", "text_completion": "text_completion"}


def _count(get: Any, *names: str) -> int | None:
    for name in names:
        value = get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def extract_usage(obj: object) -> Usage | None:
    """Read usage from an OpenAI/Anthropic/Gemini response object or dict (duck-typed).

    Input tokens include cached prompt tokens (Anthropic reports them separately); output tokens
    include reasoning. Returns None when `obj` carries no recognisable usage block.
    """
    if obj is None or isinstance(obj, _SKIP_TYPES):
        return None
    if isinstance(obj, Mapping):
        get_obj: Any = obj.get
        usage = obj.get("usage") or obj.get("usage_metadata") or obj.get("usageMetadata")
    else:
        get_obj = lambda name: getattr(obj, name, None)  # noqa: E731
        usage = get_obj("usage") or get_obj("usage_metadata")
    if usage is None or isinstance(usage, _SKIP_TYPES):
        return None
    if isinstance(usage, Mapping):
        get: Any = usage.get
    else:
        get = lambda name: getattr(usage, name, None)  # noqa: E731
    n_in = _count(get, "input_tokens", "prompt_tokens", "prompt_token_count", "promptTokenCount")
    n_out = _count(get, "output_tokens", "completion_tokens", "candidates_token_count",
                   "candidatesTokenCount")
    if n_in is None and n_out is None:
        return None
    for extra in ("cache_creation_input_tokens", "cache_read_input_tokens"):  # Anthropic
        n_in = (n_in or 0) + (_count(get, extra) or 0)
    thoughts = _count(get, "thoughts_token_count", "thoughtsTokenCount")  # Gemini reasoning
    if thoughts:
        n_out = (n_out or 0) + thoughts
    model = get_obj("model") or get_obj("model_version") or get_obj("modelVersion")
    kind = get_obj("object")
    operation = _OPERATION_BY_OBJECT.get(kind, "chat") if isinstance(kind, str) else "chat"
    return Usage(n_in or 0, n_out or 0, model if isinstance(model, str) else None,
                 _guess_provider(obj, kind, get_obj), operation)


def _guess_provider(obj: object, kind: object, get_obj: Any) -> str | None:
    if isinstance(obj, Mapping):
        if isinstance(kind, str) and kind in _OPENAI_OBJECTS:
            return "openai"
        return "anthropic" if get_obj("type") == "message" else None
    module = type(obj).__module__
    for prefix, provider in _PROVIDER_BY_MODULE:
        if module.startswith(prefix):
            return provider
    return None


def record_response(obj: object, default_model: str | None = None) -> None:
    """Record a returned provider response's usage once (no-op if already recorded or no usage)."""
    try:
        if obj is None or isinstance(obj, _SKIP_TYPES) or is_recorded(obj):
            return
        usage = extract_usage(obj)
        if usage is None:
            return
        record_usage(usage.model or default_model, usage.input_tokens, usage.output_tokens,
                     usage.provider, usage.operation, response_model=usage.model)
        mark_recorded(obj)
    except Exception as exc:
        report("usage.record_response", exc)
