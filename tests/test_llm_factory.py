"""build_generator from config nodes, the model presets, and the vLLM mapping (without vLLM)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from prover.config import compose
from prover.llm.errors import BackendUnavailable, GeneratorError
from prover.llm.generator import SamplingParams
from prover.llm.generator_factory import build_generator, resolve_model_path
from prover.llm.openai_backend import OpenAIGenerator
from prover.llm.sampling import sampling_from_config
from prover.llm.scripted import ScriptedGenerator
from prover.llm.vllm_backend import VLLM_MISSING, completions_from_vllm, vllm_sampling_kwargs
from prover.testing.random_model import build_random_llama

PRESETS = ["tiny", "deepseek_prover_v15_rl", "goedel_prover_v2_8b", "kimina_prover_distill", "openai"]


@pytest.mark.parametrize("name", PRESETS)
def test_presets_compose_with_the_keys_strategies_read(name):
    m = compose("serve", [f"model={name}"]).model
    assert m.backend in ("hf", "vllm", "openai")
    assert m.prompt_style in ("tiny", "deepseek", "goedel", "kimina")
    s = sampling_from_config(m.sampling, what="model.sampling")
    assert 0 < s.top_p <= 1 and s.max_tokens >= 64 and s.temperature > 0


def test_real_model_presets_match_their_cards():
    ds = compose("serve", ["model=deepseek_prover_v15_rl"]).model
    assert (ds.name, ds.backend, ds.chat, ds.prompt_style) == ("deepseek-ai/DeepSeek-Prover-V1.5-RL", "vllm", False,
                                                                "deepseek")
    g = compose("serve", ["model=goedel_prover_v2_8b"]).model
    assert g.chat and g.chat_template_kwargs.enable_thinking and g.prompt_style == "goedel"
    k = compose("serve", ["model=kimina_prover_distill"]).model
    assert k.system_prompt == "You are an expert in mathematics and Lean 4." and k.prompt_style == "kimina"
    assert compose("serve").model.attn_implementation == "lean_attention"


def test_one_sampling_builder_applies_defaults_and_names_bad_values():
    node = {"temperature": 0.6, "top_p": 0.95, "max_tokens": 100, "seed": None}
    assert sampling_from_config(node, defaults={"n": 4}) == SamplingParams(n=4, temperature=0.6, top_p=0.95,
                                                                            max_tokens=100)
    with pytest.raises(GeneratorError, match=r"^model.sampling: unknown key\(s\) \['unknown'\]"):
        sampling_from_config({"unknown": 1}, what="model.sampling", error=GeneratorError)
    with pytest.raises(ValueError, match=r"^model.sampling.top_p must be in \(0, 1\]"):
        sampling_from_config({"top_p": 2.0}, what="model.sampling")
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature must be a finite number >= 0"):
            sampling_from_config({"temperature": bad})


def test_bad_model_values_are_named(tmp_path):
    with pytest.raises(GeneratorError, match=r"^model\.max_concurrency must be an integer, got 'many'$"):
        build_generator({"backend": "openai", "base_url": "http://h:1/v1", "max_concurrency": "many"})
    with pytest.raises(GeneratorError, match=r"^model\.timeout must be a number, got 'soon'$"):
        build_generator({"backend": "openai", "base_url": "http://h:1/v1", "timeout": "soon"})
    with pytest.raises(GeneratorError, match=r"^model\.max_batch_size must be an integer, got 2\.5$"):
        build_generator({"backend": "hf", "path": "/", "max_batch_size": 2.5})
    model = build_random_llama(tmp_path / "m")
    with pytest.raises(GeneratorError, match=r"^cannot load model .*bogus"):
        build_generator({"backend": "hf", "path": str(model), "attn_implementation": "bogus", "device": "cpu"})


def test_bad_scripted_entries_are_named():
    with pytest.raises(GeneratorError, match=r"^model\.script\[1\]: bad regex '\(unclosed'"):
        build_generator({"backend": "scripted", "script": [["ok", "x"], ["(unclosed", "y"]]})
    with pytest.raises(GeneratorError, match=r"^model\.script\[0\] must be a \[regex, output\] pair"):
        build_generator({"backend": "scripted", "script": ["just a string"]})


def test_scripted_and_openai_backends_from_config():
    g = build_generator({"backend": "scripted", "script": [["foo", "bar"]]})
    assert isinstance(g, ScriptedGenerator)
    assert g.generate(["a foo"], SamplingParams(n=2))[0][1].text == "bar"
    o = build_generator(compose("serve", ["model=openai", "model.base_url=http://h:1/v1", "model.max_retries=1",
                                          "+model.chat_template_kwargs.enable_thinking=false"]).model)
    assert isinstance(o, OpenAIGenerator)
    assert (o.base_url, o.model, o.max_retries) == ("http://h:1/v1", None, 1)
    assert o.extra_body == {"chat_template_kwargs": {"enable_thinking": False}}


def test_unknown_backend_and_missing_path_are_clear_errors():
    with pytest.raises(GeneratorError, match="unknown model.backend 'nope'"):
        build_generator({"backend": "nope"})
    with pytest.raises(GeneratorError, match="neither path nor name"):
        resolve_model_path({"name": None})
    with pytest.raises(GeneratorError, match="not a transformers checkpoint"):
        build_generator({"backend": "hf", "path": "/", "attn_implementation": "sdpa"})


def test_tiny_without_a_path_asks_tinylm(monkeypatch, tmp_path):
    import prover.tinylm

    calls = []
    monkeypatch.setattr(prover.tinylm, "ensure_tiny_model", lambda: calls.append(1) or tmp_path)
    assert resolve_model_path({"name": "tiny", "path": None}) == str(tmp_path)
    assert resolve_model_path({"name": "tiny", "path": "/x"}) == "/x" and calls == [1]
    assert resolve_model_path({"name": "org/model"}) == "org/model"


def test_tiny_model_config_errors_become_generator_errors(monkeypatch):
    """Entry points print GeneratorError as one line; a training-config error must not escape as a traceback."""
    import prover.tinylm
    from prover.tinylm.train import TrainConfigError

    def refuse():
        raise TrainConfigError("/x already holds a tiny model trained with a different config")

    monkeypatch.setattr(prover.tinylm, "ensure_tiny_model", refuse)
    with pytest.raises(GeneratorError, match=r"^the tiny model is not usable: /x already holds"):
        resolve_model_path({"name": "tiny", "path": None})


def test_vllm_backend_without_vllm_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # behave as if vLLM were not installed
    with pytest.raises(BackendUnavailable) as e:
        build_generator(compose("serve", ["model=deepseek_prover_v15_rl"]).model)
    assert str(e.value) == VLLM_MISSING == "vLLM is not installed: pip install 'proofforge[vllm]'"


def test_sampling_params_map_to_vllm():
    s = SamplingParams(n=4, temperature=0.8, top_p=0.9, max_tokens=2048, stop=["```"], seed=3, logprobs=True)
    assert vllm_sampling_kwargs(s) == {"n": 4, "temperature": 0.8, "top_p": 0.9, "max_tokens": 2048,
                                       "stop": ["```"], "seed": 3, "logprobs": 0}
    assert vllm_sampling_kwargs(SamplingParams())["logprobs"] is None


def test_vllm_request_output_becomes_completions():
    lp = lambda v: SimpleNamespace(logprob=v)  # noqa: E731
    outs = [
        SimpleNamespace(index=1, text="b", token_ids=[7], logprobs=[{7: lp(-0.5)}], finish_reason="stop",
                        cumulative_logprob=-0.5),
        SimpleNamespace(index=0, text="a a", token_ids=[5, 6], logprobs=[{5: lp(-1.0), 9: lp(-0.1)}, {6: lp(-2.0)}],
                        finish_reason="length", cumulative_logprob=-3.0),
    ]
    ro = SimpleNamespace(prompt_token_ids=[1, 2, 3], outputs=outs)
    a, b = completions_from_vllm(ro, want_logprobs=True)
    assert (a.text, a.completion_tokens, a.prompt_tokens, a.finish_reason) == ("a a", 2, 3, "length")
    assert a.token_logprobs == [-1.0, -2.0] and a.logprob == -3.0
    assert b.text == "b" and b.token_logprobs == [-0.5]
    assert completions_from_vllm(ro, want_logprobs=False)[0].logprob is None
