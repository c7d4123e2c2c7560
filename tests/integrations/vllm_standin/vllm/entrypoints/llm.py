"""vLLM's offline `LLM`: the engine's configuration objects and ``generate``/``chat``."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

from vllm.outputs import CompletionOutput, RequestOutput
from vllm.sampling_params import SamplingParams

_ids = itertools.count()


class LLM:
    def __init__(self, model: str, *, tensor_parallel_size: int = 1, max_num_seqs: int = 256,
                 dtype: str = "bfloat16", served_model_name: str | None = None,
                 hf_config: Any = None, quantization: str | None = None) -> None:
        model_config = SimpleNamespace(
            model=model, served_model_name=served_model_name or model, dtype=dtype,
            quantization=quantization, hf_config=hf_config)
        vllm_config = SimpleNamespace(
            model_config=model_config,
            parallel_config=SimpleNamespace(tensor_parallel_size=tensor_parallel_size,
                                            pipeline_parallel_size=1),
            scheduler_config=SimpleNamespace(max_num_seqs=max_num_seqs))
        self.llm_engine = SimpleNamespace(model_config=model_config, vllm_config=vllm_config)

    def generate(self, prompts: str | list[str], sampling_params: SamplingParams | None = None,
                 *, use_tqdm: bool = True) -> list[RequestOutput]:
        params = sampling_params or SamplingParams()
        if params.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        results = []
        for prompt in [prompts] if isinstance(prompts, str) else prompts:
            prompt_ids = [hash(w) % 1000 for w in prompt.split()]
            outputs = []
            for index in range(params.n):
                length = min(params.max_tokens, params.stop_after or params.max_tokens)
                outputs.append(CompletionOutput(
                    index, "tok " * length, list(range(length)), None, None,
                    "stop" if length < params.max_tokens else "length"))
            results.append(RequestOutput(str(next(_ids)), prompt, prompt_ids, None, outputs))
        return results

    def chat(self, messages: list[dict[str, str]],
             sampling_params: SamplingParams | None = None) -> list[RequestOutput]:
        prompt = " ".join(m["content"] for m in messages)
        return self.generate(prompt, sampling_params)
