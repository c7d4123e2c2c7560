"""Recording LLM calls: `start_call()`/`LLMCall.finish()` and `record_usage()`.

`record_usage()` is the one path by which a call is priced and emitted; integrations use
`start_call()` and `LLMCall.finish()`, which run the same code. None of these ever raise into the
application: SDK-side failures are logged once (`tracker.internal_errors`).

Pricing: one `CallPricer` per distinct (model, provider) and configuration, built on first use and
cached on the runtime; a call is then a few multiplications. An unknown model is priced with
`tracker.energy_model.FALLBACK_MODEL` and flagged ``energy.model_known=false``.

User attributes (``record_usage(..., team="search")``) go on the span, log record and ledger line.
Only str/int/bool and finite float values are kept; keys that look like text or secrets (prompt,
message, content, completion, text, headers; key, token other than a ``*_tokens`` count, secret,
password, auth, bearer, session, cookie, credential, signature, jwt, private, cert), keys longer
than 128 characters and strings longer than 256 characters are dropped, so prompt text and
credentials never leak through this door.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context

from tracker import _attributes as A
from tracker._internal_errors import report
from tracker._usage import MAX_TOKENS, Usage
from tracker.export._call_attributes import add_measured, add_reported
from tracker.model import _registry
from tracker.model._call_figures import call_figures
from tracker.recording import _framework
from tracker.recording import _usage_warnings as _warnings
from tracker.recording._agents import AgentScope, call_attributes_of
from tracker.recording._call_plans import new_plan as _plan
from tracker.recording._call_plans import priced as _priced
from tracker.recording._call_plans import static_of as _static
from tracker.recording._energy_scope import EnergyScope
from tracker.recording._energy_scope import _current as _current_scope
from tracker.recording._runtime import Runtime, get_runtime
from tracker.recording._user_attributes import user_attributes as _user_attributes

if TYPE_CHECKING:
    from tracker.grid._providers import GridReading
    from tracker.model._estimate import Estimate
    from tracker.recording._serving import LocalServing

__all__ = ["LLMCall", "record_usage", "start_call"]

#: Run before every call starts, or None (the usual case: one module attribute load). Set by
#: `tracker.reduce._budgets` once a budget with ``on_exceed="raise"`` was crossed; it raises
#: `BudgetExceeded` for a call that would spend it. (Recording never imports reduce.)
before_call: Callable[[Mapping[str, Any] | None], None] | None = None

#: Longest model or response name used as such; longer ones are ignored (never looked up).
MAX_NAME = 256


class LLMCall:
    """One LLM call in flight; its CLIENT span is emitted by `finish()`.

    The span is started and ended in one go at `finish()`, with the start time and the parent
    context of the moment the call began (so it nests exactly as if it had been open throughout).
    """

    __slots__ = ("_attributes", "_done", "_measure", "_names", "_parent", "_runtime", "_scope",
                 "_start_ns", "_t0", "chunks", "model", "operation", "provider", "request",
                 "server", "serving")

    def __init__(self, runtime: Runtime | None, scope: EnergyScope | None,
                 provider: str | None, operation: str, model: str | None,
                 attributes: dict[str, Any], timed: bool = True,
                 names: _framework.Attribution | None = None) -> None:
        self._runtime = runtime
        self._names = names  # the framework call this call was made through, if any
        self._scope = scope
        self.provider = provider
        self.operation = operation
        self.model = model
        self._attributes = attributes
        self._done = runtime is None
        #: Request parameters (``gen_ai.request.*`` name -> number or bool), set by the wrapper.
        self.request: dict[str, Any] | None = None
        #: (host, port) of the client's base URL, set by the wrapper.
        self.server: tuple[str, int | None] | None = None
        #: A stream's (seconds to the first chunk, seconds between later chunks), set by it.
        self.chunks: tuple[float, list[float]] | None = None
        #: In-process inference: the loaded model and local hardware it is priced on.
        self.serving: LocalServing | None = None
        if timed and runtime is not None:
            # (the parent only matters to a span or log record: none, no OpenTelemetry call)
            self._parent: Any = context.get_current() if runtime.telemetry.traced else None
            self._start_ns: int | None = time.time_ns()
            self._t0: float | None = time.perf_counter()
        else:  # record_usage(): emitted at once, in the current context, without a duration
            self._parent = self._start_ns = self._t0 = None
        # -- measured energy (measure_gpus): the meter, else None (one check when off)
        self._measure: Any = runtime.meter if timed and runtime is not None else None
        if self._measure is not None:
            self._measure.begin(id(self))

    def finish(self, *, input_tokens: int | None, output_tokens: int | None,
               response_model: str | None = None, tokens_estimated: bool = False,
               error: BaseException | None = None) -> None:
        """Price and emit the call (idempotent, never raises).

        Missing token counts set ``energy.tokens_estimated``; a failed call that reported no
        usage at all gets an ERROR span and no energy.
        """
        self.finish_usage(Usage(input_tokens, output_tokens, response_model, tokens_estimated),
                          error=error)

    def finish_usage(self, usage: Usage, *, error: BaseException | None = None) -> None:
        """`finish()` with a `Usage` record (what integrations and streams hand over)."""
        try:
            self._finish(usage, error, False)
        except Exception as exc:
            report("usage.finish", exc)

    def _finish(self, usage: Usage, error: BaseException | None, estimate: bool = True,
                counted: bool = False) -> Estimate | None:
        """Price and emit; the `Estimate` when `estimate` (else None outside a tracked scope).

        `counted`: both counts of `usage` are known to be valid counts (`count()`).
        """
        if self._done:
            return None
        self._done = True
        runtime = self._runtime
        assert runtime is not None
        telemetry = runtime.telemetry
        t0 = self._t0
        duration_s = time.perf_counter() - t0 if t0 is not None else None
        tokens_estimated = usage.tokens_estimated
        if counted:
            n_in, n_out = usage.input_tokens or 0, usage.output_tokens or 0
        else:
            n = usage.input_tokens  # (count() inline, twice)
            input_tokens = n if type(n) is int and 0 <= n <= MAX_TOKENS else None
            n = usage.output_tokens
            output_tokens = n if type(n) is int and 0 <= n <= MAX_TOKENS else None
            if error is not None and input_tokens is None and output_tokens is None:
                if self._measure is not None:  # measured energy: the failed call leaves it
                    self._measure.end(id(self), 0, 0)
                self._failed(telemetry, error, duration_s)
                return None
            if input_tokens is None or output_tokens is None:
                tokens_estimated = True
            n_in = input_tokens or 0
            n_out = output_tokens or 0
        response_model = usage.response_model
        if response_model is not None and (type(response_model) is not str
                                           or len(response_model) > MAX_NAME):
            response_model = None
        model, serving = self.model, self.serving
        kind = (self.operation, self.provider, model, self.server, serving)
        plan = runtime.plans.get(kind) if runtime.generation == _registry.generation() else None
        if plan is None:
            plan = _plan(runtime, kind)
        priced, static = plan
        if (not priced.pricer.model_known and response_model
                and response_model != model):
            alt = _priced(runtime, response_model, self.provider)
            if alt.pricer.model_known:
                priced = alt
                static = _static(priced, self.operation, self.provider, model, self.server)
        pricer = priced.pricer
        reading = _grid_lookup() if priced.live else None
        cached = usage.cache_read_input_tokens
        cached = cached if type(cached) is int and 0 < cached <= n_in else 0
        scope = self._scope
        est: Estimate | None = None
        if scope is None and not estimate:  # nothing reads an Estimate: the figures alone
            if reading is None:
                attrs = static.attributes(
                    call_figures(pricer, n_in, n_out, cached, pricer.carbon_intensity), n_in,
                    n_out, response_model, tokens_estimated)
            else:
                ci = reading.g_per_kwh
                attrs = static.attributes(call_figures(pricer, n_in, n_out, cached, ci), n_in,
                                          n_out, response_model, tokens_estimated, reading, ci,
                                          reading.source)
        else:
            if reading is not None:
                est = pricer.price(n_in, n_out, cached_input_tokens=cached,
                                   carbon_intensity=reading.g_per_kwh, grid_source=reading.source)
            elif cached:
                est = pricer.price(n_in, n_out, cached_input_tokens=cached)
            else:
                est = pricer.price(n_in, n_out)
            if scope is not None:
                try:
                    scope.add(est)
                except Exception as exc:
                    report("scope.rollup", exc)
            attrs = static.call_attributes(est, response_model, tokens_estimated, reading)
        if self._measure is not None:  # measured energy (measure_gpus)
            add_measured(attrs, self._measure.end(id(self), n_in, n_out))
        # the details the provider reported, and the API price
        add_reported(attrs, usage, runtime.config.legacy_cache_creation, priced.api, n_in, n_out)
        if self.request is not None:
            attrs.update(self.request)
        chunks = self.chunks
        if chunks is not None:
            attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = chunks[0]
        if self._names is not None:
            _add_framework(attrs, self._names)
        if scope is None:
            attributes = self._attributes
            labels = {**runtime.labels, **attributes} if attributes else runtime.labels
            telemetry.emit_call(static, attrs, labels, None, self._parent, self._start_ns,
                                duration_s, error, chunks)
            return est
        agent = call_attributes_of(scope)
        if agent:
            for key, value in agent.items():
                attrs.setdefault(key, value)
        attributes = self._attributes
        base = runtime.labels
        scoped = scope.labels
        labels = {**base, **(scoped or {}), **attributes} if scoped or attributes else base
        telemetry.emit_call(static, attrs, labels, scope.name, self._parent, self._start_ns,
                            duration_s, error, chunks)
        return est

    def _failed(self, telemetry: Any, error: BaseException, duration_s: float | None) -> None:
        operation, provider, model = self.operation, self.provider, self.model
        initial: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: operation}
        if provider:
            initial[A.GEN_AI_PROVIDER_NAME] = provider
        if model:
            initial[A.GEN_AI_REQUEST_MODEL] = model
        server = self.server
        if server is not None:
            initial[A.SERVER_ADDRESS] = server[0]
            if server[1] is not None:
                initial[A.SERVER_PORT] = server[1]
        if self.request is not None:
            initial.update(self.request)
        if self._names is not None:
            _add_framework(initial, self._names)
        agent = call_attributes_of(self._scope)
        if agent:
            for key, value in agent.items():
                initial.setdefault(key, value)
        telemetry.end_failed_call(f"{operation} {model}" if model else operation, initial, error,
                                  self._parent, self._start_ns, duration_s,
                                  (operation, provider, model, server))


def _add_framework(attrs: dict[str, Any], names: _framework.Attribution) -> None:
    """The framework's attribution (span, log record, ledger line; never metrics)."""
    attrs[A.ENERGY_FRAMEWORK] = names[0]
    if names[1] is not None:
        attrs[A.ENERGY_FRAMEWORK_RUN_NAME] = names[1]


def _grid_lookup() -> GridReading | None:
    module: Any = sys.modules.get("tracker.grid._refresher")
    if module is None:
        from tracker.grid import _refresher as module
    return module.lookup()  # type: ignore[no-any-return]


_DISABLED = LLMCall(None, None, None, "chat", None, {})
_NO_ATTRIBUTES: dict[str, Any] = {}  # (never changed: what a call without user attributes has)


def start_call(*, provider: str | None, operation: str = "chat", request_model: str | None,
               attributes: Mapping[str, Any] | None = None) -> LLMCall:
    """Open a call; its CLIENT span, child of the current span, is emitted at `finish()`.

    Never raises.

    The call rolls up into the tracked scope current *now*, even if it finishes elsewhere
    (a stream consumed after the function returned).
    """
    return _start(provider, operation, request_model, attributes, True)


def _start(provider: str | None, operation: str, request_model: str | None,
           attributes: Mapping[str, Any] | None, timed: bool,
           runtime: Runtime | None = None) -> LLMCall:
    """`start_call()`; `runtime`: the enabled runtime, when the caller has read it already."""
    hook = before_call  # a crossed budget with on_exceed="raise" raises here
    if hook is not None:
        hook(attributes)
    try:
        if runtime is None:
            runtime = get_runtime()
            if not runtime.config.enabled:
                return _DISABLED
        names = None
        if _framework.ACTIVE:  # "never twice": this call is the one record of a framework call
            _framework.claim()
            names = _framework.attribution()
        scope = _current_scope.get()
        if type(scope) is AgentScope:
            scope.started += 1
        if not isinstance(request_model, str):  # a number or object passed as the model
            request_model = None
        elif len(request_model) > MAX_NAME:
            request_model = request_model[:MAX_NAME]
        if not isinstance(provider, str) or len(provider) > MAX_NAME:
            provider = None
        if not isinstance(operation, str) or not operation or len(operation) > 64:
            operation = "chat"
        model = request_model or (scope.model if scope is not None else None) \
            or runtime.config.model
        return LLMCall(runtime, scope, provider, operation, model,
                       _user_attributes(attributes) if attributes else _NO_ATTRIBUTES, timed,
                       names)
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
    is disabled or failed internally (never raises). A model not in the registry and a count
    that is not one are each logged once as a WARNING on ``tracker.usage`` (`_usage_warnings`).
    """
    call = _start(provider, operation, model, attributes, False)
    try:
        _warnings.check_counts(input_tokens=input_tokens, output_tokens=output_tokens)
        est = call._finish(Usage(input_tokens, output_tokens, response_model, tokens_estimated),
                           None)
        if est is not None and not est.model_known:
            _warnings.unknown_model(call.model)
        return est
    except Exception as exc:
        report("usage.record_usage", exc)
        return None
