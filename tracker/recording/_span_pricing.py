"""`EnergySpanProcessor`: price the GenAI spans another instrumentation already makes.

Add it to a tracer provider (``provider.add_span_processor(tracker.EnergySpanProcessor())``, or
`install_on_global_provider()` for the global one). For every ended span that describes one LLM
call (see `tracker.export._genai_spans.read_call`), a background worker prices the call with the
configured deployment and emits what the SDK emits for a call it instrumented itself: the
``energy.request`` log record in that span's trace context, the energy counters and the ledger
line, plus ``energy.priced_from`` (the span's instrumentation scope name); the ledger line carries
the span's trace and span ids. No span of our own is made (the other instrumentation's span is the
call's span; `EnergyEnrichingSpanExporter` adds the ``energy.*`` attributes to it on export).

On the calling thread ``on_end`` only looks at a few attribute keys and hands the span over to a
bounded queue, which the worker drains in batches (every half second, or at once when 64 spans
wait); when the queue is full the span is dropped and counted (`dropped`). Spans the SDK
made itself (they carry ``energy.kwh``) and spans whose call the SDK's own integration recorded
are skipped, so no call is priced twice. Pricing never raises into the application.

This module imports `tracker.recording._calls` only inside functions: the worker prices with the
same code as an instrumented call, while `tracker.export` stays importable on its own.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from tracker import _attributes as A
from tracker._internal_errors import report
from tracker.export import _genai_spans as G
from tracker.export._call_attributes import add_api_price, add_usage_details

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import Span

    from tracker.export._call_attributes import CallStatic

__all__ = ["DEFAULT_QUEUE_SIZE", "EnergySpanProcessor", "install_on_global_provider",
           "price_call"]

#: Spans waiting for the worker at most; more are dropped (and counted) until it catches up.
DEFAULT_QUEUE_SIZE: Final = 2048
#: The worker prices what is queued every `_INTERVAL_S` seconds, or as soon as `_WAKE_AT` spans
#: wait (as the SDK's BatchSpanProcessor batches): few wake-ups, so little contention with the
#: application's threads.
_INTERVAL_S: Final = 0.5
_WAKE_AT: Final = 64
#: An ended span is handed over only when it has one of these keys (cheap pre-filter).
_MARKERS: Final = ("gen_ai.operation.name", "gen_ai.system", "gen_ai.provider.name",
                   "llm.request.type", "openinference.span.kind")
_takes_cached: dict[type, bool] = {}
_yield = time.sleep


def _price_kwargs(pricer: Any, cached: int | None) -> dict[str, Any]:
    """``cached_input_tokens=`` for a pricer whose `price` accepts it (newer pricers do)."""
    if not cached:
        return {}
    cls = type(pricer)
    takes = _takes_cached.get(cls)
    if takes is None:
        try:
            takes = "cached_input_tokens" in inspect.signature(pricer.price).parameters
        except (TypeError, ValueError):
            takes = False
        _takes_cached[cls] = takes
    return {"cached_input_tokens": cached} if takes else {}


_deps: tuple[Any, ...] | None = None
#: (pricer id, operation, provider, request model) -> (pricer, its CallStatic)
_statics: dict[tuple[Any, ...], tuple[Any, CallStatic]] = {}
_MAX_STATICS: Final = 256


def _imports() -> tuple[Any, ...]:
    global _deps
    if _deps is None:
        from tracker._usage import Usage
        from tracker.export._call_attributes import CallStatic
        from tracker.recording import _calls
        from tracker.recording._runtime import get_runtime

        _deps = (get_runtime, CallStatic, _calls, Usage)
    return _deps


def _static(cls: Any, pricer: Any, operation: str, provider: str | None,
            model: str | None) -> CallStatic:
    key = (id(pricer), operation, provider, model)
    found = _statics.get(key)
    if found is not None and found[0] is pricer:
        return found[1]
    if len(_statics) >= _MAX_STATICS:
        _statics.clear()
    static: CallStatic = cls(pricer, operation, provider, model)
    _statics[key] = (pricer, static)
    return static


def price_call(call: G.SpanCall) -> tuple[Any, CallStatic, dict[str, Any]] | None:
    """Price `call` as the SDK prices a call it recorded: (runtime, static, attributes).

    None when the SDK is disabled. The attributes are those of an SDK call span plus
    ``energy.priced_from``; missing token counts are 0 and flag ``energy.tokens_estimated``.
    """
    get_runtime, call_static, _calls, Usage = _imports()
    runtime = get_runtime()
    if not runtime.config.enabled:
        return None
    model = call.request_model or runtime.config.model
    priced = _calls._priced(runtime, model, call.provider)
    response_model = call.response_model
    if not priced.pricer.model_known and response_model and response_model != model:
        alt = _calls._priced(runtime, response_model, call.provider)
        if alt.pricer.model_known:
            priced = alt
    pricer = priced.pricer
    n_in, n_out = call.input_tokens, call.output_tokens
    kwargs = _price_kwargs(pricer, call.cache_read_input_tokens)
    reading = _calls._grid_lookup() if priced.live else None
    if reading is not None:
        kwargs.update(carbon_intensity=reading.g_per_kwh, grid_source=reading.source)
    est = pricer.price(n_in or 0, n_out or 0, **kwargs)
    static = _static(call_static, pricer, call.operation, call.provider or priced.provider,
                     call.request_model)
    attrs = static.call_attributes(est, response_model, n_in is None or n_out is None, reading)
    add_usage_details(attrs, Usage(
        n_in, n_out, response_model,
        cache_read_input_tokens=call.cache_read_input_tokens,
        cache_creation_input_tokens=call.cache_creation_input_tokens,
        reasoning_output_tokens=call.reasoning_output_tokens),
        runtime.config.legacy_cache_creation)
    if priced.api is not None:
        add_api_price(attrs, priced.api, n_in or 0, n_out or 0, Usage(
            n_in, n_out, cache_read_input_tokens=call.cache_read_input_tokens,
            cache_creation_input_tokens=call.cache_creation_input_tokens))
    attrs[A.ENERGY_PRICED_FROM] = call.scope
    return runtime, static, attrs


class EnergySpanProcessor(SpanProcessor):
    """Prices the LLM calls other instrumentations' spans describe, on a background worker.

    `max_queue_size` bounds the spans waiting to be priced; `dropped` counts those turned away
    when it was full, `priced` those priced.
    """

    def __init__(self, *, max_queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        G.activate()
        self._max = max(1, int(max_queue_size))
        # A deque and an event rather than a queue.Queue: handing a span over is one append
        # (atomic); the worker is woken only when a batch is waiting.
        self._spans: deque[ReadableSpan] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._busy = False
        self._shutdown = False
        #: Spans not priced because the queue was full.
        self.dropped = 0
        #: Calls priced and emitted.
        self.priced = 0

    # ----------------------------------------------------------------------- calling thread
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Cover a span another instrumentation starts inside a call the SDK records."""
        try:  # (the SDK passes None for "the current context")
            G.note_started(span, parent_context)
        except Exception as exc:
            report("span_pricing.on_start", exc)

    def on_end(self, span: ReadableSpan) -> None:
        """Hand a GenAI span over to the worker (dropped, and counted, when the queue is full)."""
        attrs = span.attributes
        if not attrs or A.ENERGY_KWH in attrs or self._shutdown:
            return
        for key in _MARKERS:
            if key in attrs:
                break
        else:
            return
        if self._pid != os.getpid():
            self._start_worker()
        spans = self._spans
        if len(spans) >= self._max:
            with self._lock:
                self.dropped += 1
            return
        spans.append(span)
        if len(spans) >= _WAKE_AT and not self._wake.is_set():
            self._wake.set()

    # ----------------------------------------------------------------------- worker
    def _start_worker(self) -> None:
        with self._lock:
            pid = os.getpid()
            if self._pid == pid:
                return
            if self._thread is not None:  # forked: the parent's worker did not come along
                self._spans = deque()
                self._wake = threading.Event()
                self._busy = False
            self._pid = pid
            self._thread = threading.Thread(target=self._run, name="llm-energy-span-pricing",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        spans, wake = self._spans, self._wake
        while True:
            wake.clear()
            while spans:
                self._busy = True
                try:
                    self._price(spans.popleft())
                except Exception as exc:
                    report("span_pricing.worker", exc)
                finally:
                    self._busy = False
                # Hand the interpreter lock over between spans: an application thread waiting
                # for it waits for one span's pricing, not for the 5 ms switch interval.
                _yield(0)
            if self._shutdown:
                return
            wake.wait(_INTERVAL_S)

    def _price(self, span: ReadableSpan) -> None:
        ctx = span.context
        if ctx is None or G.is_covered(ctx.span_id) or not _claim(ctx.trace_id, ctx.span_id):
            return  # covered by the SDK's own record, or priced by another processor
        call = G.read_call(span)
        if call is None or G.recorded_by_sdk(call.scope):
            return
        priced = price_call(call)
        if priced is None:
            return
        runtime, static, attrs = priced
        runtime.telemetry.emit_priced_span(static, attrs, runtime.labels, ctx)
        self.priced += 1  # (only the worker writes it)

    # ----------------------------------------------------------------------- lifecycle
    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Wait until every span handed over so far is priced (or `timeout_millis` passed)."""
        deadline = time.monotonic() + timeout_millis / 1000
        self._wake.set()
        while self._spans or self._busy:
            thread = self._thread
            if thread is None or not thread.is_alive() or time.monotonic() >= deadline:
                return False
            time.sleep(0.001)
        return True

    def shutdown(self) -> None:
        """Price what is queued, then stop the worker."""
        if self._shutdown:
            return
        thread = self._thread
        if thread is None or not thread.is_alive() or self._pid != os.getpid():
            self._shutdown = True
            return
        self.force_flush(5000)
        self._shutdown = True
        self._wake.set()
        thread.join(timeout=5)


_installed: dict[int, EnergySpanProcessor] = {}
_install_lock = threading.Lock()
#: Spans priced so far (most recent, bounded): a span is priced once however many processors
#: see it (one added by hand beside the one ``price_spans=True`` installs).
_claimed: OrderedDict[tuple[int, int], None] = OrderedDict()
_claim_lock = threading.Lock()
_MAX_CLAIMED = 65536


def _claim(trace_id: int, span_id: int) -> bool:
    """True the first time a span is claimed for pricing, False afterwards."""
    key = (trace_id, span_id)
    with _claim_lock:
        if key in _claimed:
            return False
        _claimed[key] = None
        if len(_claimed) > _MAX_CLAIMED:
            _claimed.popitem(last=False)
        return True


def _present(provider: Any) -> EnergySpanProcessor | None:
    """An `EnergySpanProcessor` already on an SDK tracer provider (added by hand), or None."""
    multi = getattr(provider, "_active_span_processor", None)
    for processor in getattr(multi, "_span_processors", None) or ():
        if isinstance(processor, EnergySpanProcessor):
            return processor
    return None


def install_on_global_provider(**options: Any) -> EnergySpanProcessor | None:
    """Add one `EnergySpanProcessor` to the global tracer provider (idempotent).

    Returns the processor, or None when no SDK tracer provider is set globally yet (the API's
    proxy cannot take processors; call this after the application sets its provider).
    `options` go to `EnergySpanProcessor`.
    """
    provider = trace.get_tracer_provider()
    add = getattr(provider, "add_span_processor", None)
    if add is None:
        return None
    with _install_lock:
        found = _installed.get(id(provider)) or _present(provider)
        if found is not None:
            _installed.clear()
            _installed[id(provider)] = found
            return found
        processor = EnergySpanProcessor(**options)
        add(processor)
        _installed.clear()  # only the current global provider is remembered
        _installed[id(provider)] = processor
        return processor
