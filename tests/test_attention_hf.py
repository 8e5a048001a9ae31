"""transformers hook: greedy generation with attn_implementation="lean_attention" equals "sdpa" token for token,
on tiny random-init Llama and Qwen2 models with GQA, for a left-padded batch of prompts of different lengths."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

import prover.attention.hf_integration as hf
from prover.attention.hf_integration import mask_to_ranges, register_lean_attention

SMALL = {"vocab_size": 96, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128}  # fmt: skip


@pytest.fixture
def decode_calls(monkeypatch):
    calls = []
    real = hf.run_decode

    def spy(call, q, *args):
        calls.append((tuple(q.shape), call.cache_leftpad))
        assert call.backend == "vectorized"  # the CPU default
        return real(call, q, *args)

    monkeypatch.setattr(hf, "run_decode", spy)
    monkeypatch.setattr(hf, "_LAST", hf._LastMask())
    return calls


@pytest.mark.parametrize(("model_cls", "config_cls"), [(LlamaForCausalLM, LlamaConfig), (Qwen2ForCausalLM, Qwen2Config)])
def test_greedy_tokens_identical_to_sdpa(model_cls, config_cls, decode_calls):
    name = register_lean_attention()
    assert register_lean_attention() == name == "lean_attention"  # idempotent
    torch.manual_seed(0)
    model = model_cls(config_cls(**SMALL)).eval()
    ids = torch.tensor([[0, 0, 0, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7]])
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1], [1] * 7])
    new = 10
    outs = {}
    for impl in ("sdpa", name):
        model.set_attn_implementation(impl)
        outs[impl] = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0
        )
    assert torch.equal(outs["sdpa"], outs[name])
    # every decode step of every layer went through LeanAttention, with the left padding passed down
    assert len(decode_calls) == (new - 1) * SMALL["num_hidden_layers"]
    assert all(shape == (2, 4, 64 // 4) for shape, _ in decode_calls)
    assert all(pad is not None and pad.tolist() == [3, 0] for _, pad in decode_calls)


def test_unpadded_single_prompt_uses_lean_without_leftpad(decode_calls):
    register_lean_attention()
    torch.manual_seed(1)
    model = LlamaForCausalLM(LlamaConfig(**SMALL)).eval()
    ids = torch.tensor([[3, 9, 27, 81 % 96]])
    model.set_attn_implementation("sdpa")
    ref = model.generate(input_ids=ids, max_new_tokens=6, min_new_tokens=6, do_sample=False, pad_token_id=0)
    model.set_attn_implementation("lean_attention")
    out = model.generate(input_ids=ids, max_new_tokens=6, min_new_tokens=6, do_sample=False, pad_token_id=0)
    assert torch.equal(ref, out)
    assert decode_calls and all(pad is None for _, pad in decode_calls)


def test_mask_to_ranges():
    rows = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 1, 1, 0, 0]], dtype=torch.bool)
    lens, start = mask_to_ranges(rows[:, None, None, :], 3, 5)
    assert lens.tolist() == [3, 5, 2] and start.tolist() == [2, 0, 1]
    holes = torch.tensor([[1, 0, 1, 1, 1]], dtype=torch.bool)
    assert mask_to_ranges(holes[:, None, None, :], 1, 5) is None  # not one range: SDPA handles it
    additive = torch.tensor([[[[0.0, -1e30, 0.0]]]])
    assert mask_to_ranges(additive, 1, 3) is None
    bias = torch.tensor([[[[0.5, 0.0, 0.0]]]])
    assert mask_to_ranges(bias, 1, 3) is None
    lens, start = mask_to_ranges(None, 2, 7)
    assert lens.tolist() == [7, 7] and start.tolist() == [0, 0]
