"""The scripted generator (``model.backend=scripted``): no model, answers from a script.

For tests and offline demos, as ``lean=scripted`` is for Lean.

``ScriptedGenerator(script)`` where ``script`` is either a callable
``(prompt_text, sample_index, call_index) -> str`` or a list of ``(regex, output)``
pairs: the first regex found in the prompt text gives the output (a string, or a
list of strings cycled over samples). Every call is recorded in ``calls``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Union

from prover.llm.generator import Completion, Generator, Prompt, SamplingParams, prompt_text

Script = Union[
    Callable[[str, int, int], str],
    Sequence[tuple[str, Union[str, Sequence[str]]]],
]


class ScriptedGenerator(Generator):
    name = "scripted"

    def __init__(self, script: Script, default: str = "") -> None:
        self.script = script
        self.default = default
        self.calls: list[tuple[list[str], SamplingParams]] = []

    def _one(self, text: str, sample: int, call: int) -> str:
        if callable(self.script):
            return self.script(text, sample, call)
        for pattern, output in self.script:
            if re.search(pattern, text, flags=re.DOTALL):
                if isinstance(output, str):
                    return output
                return output[sample % len(output)]
        return self.default

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        texts = [prompt_text(p) for p in prompts]
        call = len(self.calls)
        self.calls.append((texts, sampling))
        out: list[list[Completion]] = []
        for text in texts:
            row = []
            for i in range(sampling.n):
                raw = self._one(text, i, call)
                cut, reason = raw, "stop"
                for s in sampling.stop:
                    j = cut.find(s)
                    if j >= 0:
                        cut = cut[:j]
                row.append(
                    Completion(
                        text=cut,
                        prompt_tokens=len(text.split()),
                        completion_tokens=len(cut.split()),
                        finish_reason=reason,
                        logprob=-float(len(cut.split())),
                    )
                )
            out.append(row)
        return out
