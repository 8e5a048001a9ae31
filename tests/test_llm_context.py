"""max_tokens is capped to the model's context before a request goes out (the serve-then-eval recipe)."""

from __future__ import annotations

import logging

import pytest
import torch

from prover.lean.double_pools import scripted_verifier
from prover.llm.context import estimate_tokens, fit_sampling
from prover.llm.generator import SamplingParams
from prover.llm.hf_backend import HFGenerator
from prover.llm.openai_backend import OpenAIGenerator
from prover.llm.scripted import ScriptedGenerator
from prover.records import Problem
from prover.search.strategy import WholeProofBudget
from prover.search.wholeproof import WholeProofSampling
from prover.serving.app import create_app
from prover.serving.runner import BackgroundServer
from prover.testing.random_model import build_random_llama

P = Problem(name="t1", formal_statement="theorem t1 : 1 = 1 := by")
CTX = 96


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    path = build_random_llama(tmp_path_factory.mktemp("ctx-llama"), max_positions=CTX)
    gen = HFGenerator(path, attn_implementation="sdpa", model_name="tiny-ctx")
    with BackgroundServer(create_app(gen, max_batch_size=4, batch_wait_ms=5)) as srv:
        yield srv
    torch.set_num_threads(threads)


async def test_a_preset_asking_more_than_the_served_context_is_capped_with_one_log_line(served, caplog):
    # the MA-LoT/wholeproof presets ask 2048 new tokens; the served model takes 96 in all
    gen = OpenAIGenerator(served.base_url, max_retries=0)
    caplog.set_level(logging.WARNING, logger="prover.llm.context")
    async with scripted_verifier([]) as v:
        strat = WholeProofSampling(gen, v, SamplingParams(temperature=1.0, max_tokens=2048, seed=0))
        first = await strat.aprove(P, WholeProofBudget(samples=2))
        await strat.aprove(P, WholeProofBudget(samples=2))
    assert len(first.candidates) == 2  # the server answered instead of refusing with HTTP 400
    lines = [r.getMessage() for r in caplog.records if r.name == "prover.llm.context"]
    assert len(lines) == 1 and "prover.sampling.max_tokens=2048 capped to" in lines[0] and f"takes {CTX}" in lines[0]
    assert gen.context_length == CTX  # learnt from /v1/models max_model_len


async def test_configured_context_length_is_used_without_asking_and_counts_come_from_the_backend():
    gen = ScriptedGenerator([("", "x")])
    s = SamplingParams(max_tokens=300)
    assert await fit_sampling(gen, ["p"], s) is s  # unknown context: unchanged
    gen.context_length = 256
    fitted = await fit_sampling(gen, ["p" * 40], s)
    assert fitted.max_tokens == 256 - estimate_tokens("p" * 40)
    gen.count_tokens = lambda prompt: 10  # type: ignore[method-assign]
    assert (await fit_sampling(gen, ["p" * 40], s)).max_tokens == 246
    assert (await fit_sampling(gen, ["p"], SamplingParams(max_tokens=100))).max_tokens == 100  # fits: kept
    gen.count_tokens = lambda prompt: 400  # type: ignore[method-assign]
    assert (await fit_sampling(gen, ["p"], s)).max_tokens == 1  # the prompt alone fills it


def test_model_presets_carry_their_context_length():
    from prover.config import compose

    for name, want in {"tiny": 512, "deepseek_prover_v15_rl": 4096, "goedel_prover_v2_8b": 40960,
                       "kimina_prover_distill": 16384}.items():
        m = compose("eval", [f"model={name}"]).model
        assert m.context_length == want, name
        assert (m.vllm.max_model_len or m.context_length) == want, name  # null: the model's context_length
    assert "context_length" in compose("eval", ["model=openai"]).model
