"""A stand-in for vLLM (tests only): its public offline API's shape, no model, no GPU.

`LLM`, `SamplingParams`, `RequestOutput` and `CompletionOutput` mirror the attributes the
integration reads from vLLM's own (``vllm/outputs.py``, ``vllm/entrypoints/llm.py``,
``vllm/config``). A prompt's tokens are its words; each completion is ``max_tokens`` tokens,
or stops at ``stop_after`` when set.
"""

from vllm.entrypoints.llm import LLM
from vllm.outputs import CompletionOutput, RequestOutput
from vllm.sampling_params import SamplingParams

__all__ = ["LLM", "CompletionOutput", "RequestOutput", "SamplingParams"]
