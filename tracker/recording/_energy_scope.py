"""`EnergyScope`: the running totals of one tracked function call or block, and the current one.

The current scope lives in a `contextvars.ContextVar`, so concurrent threads and asyncio tasks
never mix totals; every call adds to its scope and all enclosing scopes (nested roll-up). A scope
owns an INTERNAL span, started by `_open` and ended, with the sums, by `EnergyScope._close`.
`tracker.recording._scope` (``track_energy``) and `tracker.recording._decorate` (the wrappers)
open and close them.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tracker import _attributes as A
from tracker._internal_errors import report
from tracker.export._telemetry import Telemetry
from tracker.recording._runtime import get_runtime

if TYPE_CHECKING:
    from tracker.model._estimate import Estimate
    from tracker.model._training import TrainingEstimate

__all__ = ["EnergyScope", "current_scope"]

_current: contextvars.ContextVar[EnergyScope | None] = contextvars.ContextVar(
    "llm_energy_tracker_scope", default=None)


def current_scope() -> EnergyScope | None:
    """The innermost tracked scope of this thread/task, or None."""
    return _current.get()


class EnergyScope:
    """Running totals of one tracked function call or block (what ``with ... as t`` gives)."""

    __slots__ = ("_budget", "_ctx", "_holds", "_lock", "_owner", "_pending_close", "_span",
                 "_tokens", "_training", "calls", "energy_kwh", "gco2e", "input_tokens", "labels",
                 "model", "name", "output_tokens", "parent", "usd", "water_l")

    def __init__(self, name: str, *, parent: EnergyScope | None = None,
                 model: str | None = None, labels: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.parent = parent
        self.model: str | None = model or (parent.model if parent is not None else None)
        inherited = parent.labels if parent is not None else {}
        self.labels: dict[str, Any] = {**inherited, **labels} if labels else inherited
        #: Facility energy, kWh.
        self.energy_kwh = 0.0
        #: Emissions, grams CO2-equivalent.
        self.gco2e = 0.0
        #: Electricity cost, USD.
        self.usd = 0.0
        #: On-site water, litres.
        self.water_l = 0.0
        self.input_tokens = 0
        self.output_tokens = 0
        #: Number of LLM calls recorded in this scope (nested scopes included).
        self.calls = 0
        self._lock = threading.Lock()
        self._span: Any = None
        self._ctx: Any = None
        self._tokens: Any = None
        self._owner: object = None
        #: This run's budgets (`tracker.reduce._block_budgets`), or None.
        self._budget: Any = None
        #: Streams returned by the tracked function and not yet finished: the span waits.
        self._holds = 0
        self._pending_close = False
        #: Training estimate told by `add_training_tokens` (attribute name -> value), or None.
        self._training: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (f"EnergyScope({self.name!r}, calls={self.calls}, energy_kwh={self.energy_kwh:.3g}, "
                f"gco2e={self.gco2e:.3g}, usd={self.usd:.3g})")

    def add(self, est: Estimate) -> None:
        """Add one priced call to this scope and every enclosing scope."""
        scope: EnergyScope | None = self
        while scope is not None:
            with scope._lock:
                scope.energy_kwh += est.energy_kwh
                scope.gco2e += est.gco2e
                scope.usd += est.usd
                scope.water_l += est.water_l
                scope.input_tokens += est.input_tokens
                scope.output_tokens += est.output_tokens
                scope.calls += 1
            if scope._budget is not None:
                scope._budget.spend(est, scope)
            scope = scope.parent

    def sums(self) -> dict[str, Any]:
        """The totals as span attributes (with the training estimate, when one was told)."""
        with self._lock:
            sums = {
                A.ENERGY_KWH: self.energy_kwh, A.ENERGY_GCO2E: self.gco2e, A.ENERGY_USD: self.usd,
                A.ENERGY_WATER_L: self.water_l, A.ENERGY_INPUT_TOKENS: self.input_tokens,
                A.ENERGY_OUTPUT_TOKENS: self.output_tokens, A.ENERGY_CALLS: self.calls,
            }
            if self._training is not None:
                sums.update(self._training)
            return sums

    def add_training_tokens(self, tokens: int, **options: Any) -> TrainingEstimate | None:
        """Tell this scope it trained on `tokens` more tokens; returns the run's estimate so far.

        The scope's span and a ledger line (event ``energy.training``) carry the training
        estimate under ``energy.training.*``, labelled ``energy.training.estimated``: it is
        computed by `tracker.estimate_training` (no hardware counters are read), from the
        scope's model and the configured hardware, region and PUE unless `options` (any
        `estimate_training` keyword, ``model`` included) say otherwise. It is not added to the
        scope's LLM-call sums. Never raises: a bad option is reported once and ignored.
        """
        try:
            from tracker.exceptions import ConfigError
            from tracker.model._specs import ModelSpec
            from tracker.model._training import estimate_training

            config = get_runtime().config
            kwargs: dict[str, Any] = {
                name: getattr(config, name, None)
                for name in ("hardware", "region", "pue", "carbon_intensity")
            }
            kwargs.update(options)
            model = kwargs.pop("model", None) or self.model
            with self._lock:
                told = int(self._training[A.ENERGY_TRAINING_TOKENS]) if self._training else 0
            if not isinstance(model, (str, ModelSpec)):
                raise ConfigError("model", "a model name or ModelSpec is required")
            est = estimate_training(model, told + tokens, **kwargs)
            with self._lock:
                self._training = {
                    A.ENERGY_TRAINING_TOKENS: est.training_tokens,
                    A.ENERGY_TRAINING_KWH: est.energy_kwh,
                    A.ENERGY_TRAINING_GCO2E: est.gco2e,
                    A.ENERGY_TRAINING_EMBODIED_GCO2E: est.embodied_gco2e,
                    A.ENERGY_TRAINING_ACCELERATOR_HOURS: est.accelerator_hours,
                    A.ENERGY_TRAINING_METHOD: est.method,
                    A.ENERGY_TRAINING_ESTIMATED: True,
                    A.ENERGY_MODEL: est.model, A.ENERGY_HARDWARE: est.hardware,
                    A.ENERGY_REGION: est.region,
                }
            return est
        except Exception as exc:
            report("scope.add_training_tokens", exc)
            return None

    # -- lifecycle (SDK-internal) --------------------------------------------------------------
    def _activate(self) -> tuple[Any, Any]:
        var_token = _current.set(self)
        otel_token = None
        if self._ctx is not None:
            try:
                otel_token = Telemetry.attach(self._ctx)
            except Exception as exc:
                report("scope.attach", exc)
        return var_token, otel_token

    def _deactivate(self, tokens: tuple[Any, Any]) -> None:
        var_token, otel_token = tokens
        try:
            if otel_token is not None:
                Telemetry.detach(otel_token)
        except Exception as exc:
            report("scope.detach", exc)
        finally:
            _current.reset(var_token)

    def _hold(self) -> None:
        """Keep the span open until `_release()`: a returned stream is still being read."""
        with self._lock:
            self._holds += 1

    def _release(self) -> None:
        with self._lock:
            self._holds -= 1
            close = self._holds == 0 and self._pending_close
        if close:
            self._close(None)

    def _close(self, error: BaseException | None) -> None:
        if error is None:
            with self._lock:
                if self._holds > 0:  # ends when the returned stream does (see _record_returned)
                    self._pending_close = True
                    return
        span, self._span = self._span, None
        if span is None:
            return
        try:
            Telemetry.end_scope_span(span, self.sums(), error)
        except Exception as exc:
            report("scope.end_span", exc)
        if self._training is not None:
            try:
                get_runtime().telemetry.write_training_record(
                    span, self._training, self.labels, self.name)
            except Exception as exc:
                report("scope.training_record", exc)


def _open(name: str, model: str | None, labels: Mapping[str, Any] | None) -> EnergyScope | None:
    """A new scope under the current one with its span started, or None when disabled/failed."""
    try:
        runtime = get_runtime()
        if not runtime.config.enabled:
            return None
        scope = EnergyScope(name, parent=_current.get(), model=model, labels=labels)
        try:
            scope._span, scope._ctx = runtime.telemetry.start_scope_span(
                name, {**runtime.labels, **scope.labels})
        except Exception as exc:
            report("scope.start_span", exc)
        return scope
    except Exception as exc:
        report("scope.open", exc)
        return None
