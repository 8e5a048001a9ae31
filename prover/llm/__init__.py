"""One generation interface (:class:`Generator`) over OpenAI-compatible servers, vLLM and transformers.

Public API: :func:`build_generator` from a ``model`` config node, :class:`SamplingParams` (built from config
by :func:`sampling_from_config`), :class:`Completion`. Backends import their heavy dependencies only when
chosen, so importing this package stays cheap.
"""

from prover.llm.errors import BackendUnavailable, GeneratorConfigError, GeneratorError
from prover.llm.generator import Completion, Generator, Prompt, SamplingParams, prompt_text
from prover.llm.generator_factory import build_generator
from prover.llm.sampling import sampling_from_config, with_stops

__all__ = [
    "BackendUnavailable",
    "Completion",
    "Generator",
    "GeneratorConfigError",
    "GeneratorError",
    "Prompt",
    "SamplingParams",
    "build_generator",
    "prompt_text",
    "sampling_from_config",
    "with_stops",
]
