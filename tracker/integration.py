"""What an integration author needs: the public toolkit for instrumenting an LLM client library.

An integration is a small strategy module (see ``integrations/openai.py``): an `Endpoint` per
patched method says which operation it is, how to name the provider, how to read `Usage` from a
plain response, and how to follow a stream (a `StreamStrategy`); `Patcher` applies
`make_wrapper(endpoint)` to the library's public methods and undoes it exactly. The wrapper
starts the `LLMCall`, calls the provider, and finishes the call; SDK errors never reach the
caller, and the provider's exceptions propagate unchanged.

For a library the wrapper does not fit (callbacks, hooks), use `start_call()` and
`LLMCall.finish_usage()` directly, and `mark_recorded()` on the response so a tracked function
returning it does not count it again. `register_integration()` makes a third-party module
available to `tracker.instrument(name)`.

For a model run in this process (``integrations/transformers.py``), set the call's ``serving``
to a `LocalServing` (the loaded model's `ModelSpec`, the engine, the batch, the GPU that
`local_hardware()` names) before finishing it: the call is priced on that, not on an assumption.

The module an integration lives in must expose ``instrument()`` and ``uninstrument()``, and raise
`IntegrationNotAvailable` at import when its client library is missing or too old.

Counts follow one rule (`settle`, applied by the wrapper to every plain response): a count that
is missing, invalid, or a 0 that a non-empty request or answer contradicts is estimated from the
text and flagged ``energy.tokens_estimated``; an integration hands over what the provider
reported (`count()`, None when absent) and never turns "not reported" into 0 itself. Give the
`Endpoint` an ``output_text`` reader so a missing output count is estimated from the answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from tracker import _attributes as A
from tracker._internal_errors import guard
from tracker._usage import Usage, count, settle
from tracker.exceptions import IntegrationNotAvailable
from tracker.instrumentation._frames_importlib_bootstrap import Patcher, call_then, make_wrapper
from tracker.instrumentation._registry import register_integration
from tracker.instrumentation._wrapper import Endpoint
from tracker.measure._device import local_hardware
from tracker.model._specs import ModelSpec
from tracker.recording._calls import LLMCall, start_call
from tracker.recording._returned import is_recorded, mark_recorded
from tracker.recording._serving import LocalServing
from tracker.recording._streams import (
    AsyncStreamProxy,
    CountingStrategy,
    InBandUsageStrategy,
    StreamStrategy,
    SyncStreamProxy,
    estimate_tokens,
    tokens_from_chars,
    wrap_stream,
)

__all__ = [
    "AsyncStreamProxy",
    "CountingStrategy",
    "Endpoint",
    "InBandUsageStrategy",
    "IntegrationNotAvailable",
    "LLMCall",
    "LocalServing",
    "ModelSpec",
    "Patcher",
    "StreamStrategy",
    "SyncStreamProxy",
    "Usage",
    "call_then",
    "count",
    "estimate_tokens",
    "guard",
    "is_recorded",
    "local_hardware",
    "make_wrapper",
    "mark_recorded",
    "modality_tokens",
    "register_integration",
    "settle",
    "start_call",
    "tokens_from_chars",
    "wrap_stream",
]


#: Modality (as providers spell it, lower-cased) -> the conventions' per-modality usage name.
_INPUT_MODALITIES = {"text": A.GEN_AI_USAGE_TEXT_INPUT_TOKENS,
                     "image": A.GEN_AI_USAGE_IMAGE_INPUT_TOKENS,
                     "audio": A.GEN_AI_USAGE_AUDIO_INPUT_TOKENS,
                     "video": A.GEN_AI_USAGE_VIDEO_INPUT_TOKENS}
_OUTPUT_MODALITIES = {"text": A.GEN_AI_USAGE_TEXT_OUTPUT_TOKENS,
                      "audio": A.GEN_AI_USAGE_AUDIO_OUTPUT_TOKENS}


def modality_tokens(inputs: Iterable[tuple[object, object]],
                    outputs: Iterable[tuple[object, object]] = ()
                    ) -> tuple[tuple[str, int], ...] | None:
    """`Usage.modality_tokens` from the (modality, count) pairs a provider reported.

    Only the modalities the GenAI conventions name a usage attribute for are kept (input: text,
    image, audio, video; output: text, audio), each with a valid count above 0; None when none
    is left. A modality reported twice is summed.
    """
    found: dict[str, int] = {}
    for pairs, names in ((inputs, _INPUT_MODALITIES), (outputs, _OUTPUT_MODALITIES)):
        for modality, value in pairs:
            n = count(value)
            if n and type(modality) is str:
                name = names.get(modality.lower())
                if name is not None:
                    found[name] = found.get(name, 0) + n
    return tuple(found.items()) or None
