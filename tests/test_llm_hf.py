"""The transformers backend on a tiny random Llama: batching, stop strings, n, seeds, logprobs, LeanAttention."""

from __future__ import annotations

import pytest
import torch

from prover.llm.generator import SamplingParams
from prover.llm.hf_backend import HFGenerator, render_chat
from prover.llm.hf_engine import find_stop, row_generator, stop_holdback
from prover.testing.random_model import build_random_llama, build_tokenizer

PROMPTS = ["theorem foo : 1 = 1 := by", "x", "lemma bar (n : Nat) : n ≤ n + 1 := by simp; exact le_refl"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one torch thread; the suite's machine is shared and busy."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_random_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="module")
def gen(model_dir):
    return HFGenerator(model_dir, attn_implementation="sdpa", max_batch_size=8)


def greedy(n: int = 1, max_tokens: int = 24, **kw) -> SamplingParams:
    return SamplingParams(n=n, temperature=0.0, max_tokens=max_tokens, **kw)


def test_greedy_batch_matches_transformers_generate(gen):
    """Left-padded batched decoding gives, per prompt, what transformers' own generate gives alone."""
    out = gen.generate(PROMPTS, greedy(n=2))
    for prompt, row in zip(PROMPTS, out, strict=True):
        ids = gen.tokenizer(prompt, return_tensors="pt")
        ref = gen.model.generate(**ids, max_new_tokens=24, do_sample=False, min_new_tokens=0)
        text = gen.tokenizer.decode(ref[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        assert len(row) == 2
        assert row[0].text == row[1].text == text
        assert row[0].prompt_tokens == ids["input_ids"].shape[1]


def test_stop_strings_cut_text_and_end_the_row(gen):
    full = gen.generate([PROMPTS[0]], greedy(max_tokens=32))[0][0]
    assert full.finish_reason == "length" and len(full.text) > 8
    stop = full.text[6:9]
    cut_at = full.text.find(stop)
    out = gen.generate([PROMPTS[0]], greedy(max_tokens=32, stop=["@@never@@", stop]))[0][0]
    assert out.text == full.text[:cut_at]
    assert out.finish_reason == "stop"
    assert out.completion_tokens < 32  # the row stopped generating, not just the text


def test_n_samples_and_seed_repeatability(gen):
    s = SamplingParams(n=3, temperature=1.0, max_tokens=16, seed=1234)
    a = gen.generate(PROMPTS[:2], s)
    b = gen.generate(PROMPTS[:2], s)
    assert [[c.text for c in r] for r in a] == [[c.text for c in r] for r in b]
    assert all(len(r) == 3 for r in a)
    assert len({c.text for c in a[0]}) > 1  # the n samples of one prompt are not copies
    other = gen.generate(PROMPTS[:2], SamplingParams(n=3, temperature=1.0, max_tokens=16, seed=99))
    assert [c.text for c in other[0]] != [c.text for c in a[0]]


def test_seeded_row_does_not_depend_on_its_batch(gen):
    s = SamplingParams(n=2, temperature=1.0, max_tokens=16, seed=7)
    alone = gen.generate([PROMPTS[0]], s)[0]
    together = gen.generate([PROMPTS[2], PROMPTS[0], PROMPTS[1]], s)[1]
    assert [c.text for c in alone] == [c.text for c in together]


def test_tiny_top_p_is_greedy(gen):
    sampled = gen.generate(PROMPTS, SamplingParams(temperature=1.0, top_p=1e-6, max_tokens=16, seed=3))
    assert [r[0].text for r in sampled] == [r[0].text for r in gen.generate(PROMPTS, greedy(max_tokens=16))]


def test_logprobs_are_the_models_next_token_logprobs(gen):
    c = gen.generate([PROMPTS[0]], greedy(max_tokens=12, logprobs=True))[0][0]
    assert c.token_logprobs is not None and len(c.token_logprobs) == c.completion_tokens == 12
    assert c.logprob == pytest.approx(sum(c.token_logprobs))
    prompt_ids = gen.tokenizer(PROMPTS[0])["input_ids"]
    completion_ids = c.meta["token_ids"]
    ids = torch.tensor([prompt_ids + completion_ids[:4]])
    with torch.no_grad():
        logp = torch.log_softmax(gen.model(ids).logits[0].float(), -1)
    p = len(prompt_ids)
    expected = [float(logp[p - 1 + t, completion_ids[t]]) for t in range(4)]
    assert c.token_logprobs[:4] == pytest.approx(expected, abs=1e-4)
    assert gen.generate([PROMPTS[0]], greedy(max_tokens=4))[0][0].token_logprobs is None


def test_max_tokens_clipped_to_the_context(gen):
    long_prompt = "theorem " * 250  # close to the 512-position context
    c = gen.generate([long_prompt], SamplingParams(temperature=0.0, max_tokens=400))[0][0]
    n_prompt = len(gen.tokenizer(long_prompt)["input_ids"])
    assert c.finish_reason == "length"
    assert c.completion_tokens == 512 - n_prompt


def test_chat_prompts_use_the_template_or_a_plain_fallback(gen):
    chat = [{"role": "user", "content": "prove it"}]
    rendered = gen.render(chat)
    assert rendered.endswith("<|im_start|>assistant\n") and "prove it" in rendered
    assert render_chat(build_tokenizer(chat_template=False), chat) == "user: prove it\nassistant:"
    out = gen.generate([chat], greedy(max_tokens=5))[0][0]
    assert out.prompt_tokens == len(gen.encode(chat))


def test_lean_attention_decode_matches_sdpa(model_dir, gen):
    lean = HFGenerator(model_dir, attn_implementation="lean_attention", max_batch_size=8)
    assert lean.model.config._attn_implementation == "lean_attention"
    a = [[c.text for c in r] for r in lean.generate(PROMPTS, greedy(max_tokens=20))]
    b = [[c.text for c in r] for r in gen.generate(PROMPTS, greedy(max_tokens=20))]
    assert a == b


def test_stop_helpers():
    assert find_stop("abc```def", ["```", "de"]) == 3
    assert find_stop("abc", ["x"]) == -1
    assert find_stop("aXbX", ["X"], start=2) == 3
    assert stop_holdback("proof ``", ["```"]) == 2
    assert stop_holdback("proof", ["```"]) == 0


def test_row_generator_takes_any_int_seed():
    """A seed beyond 64 bits must not raise (in the server it would fail the whole batch it joined);
    seeds torch accepts keep the stream ``manual_seed`` gives them."""
    for seed in (0, 7, -1, 2**63 - 1):
        expected = torch.rand(4, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(torch.rand(4, generator=row_generator(seed)), expected)
    big = [torch.rand(4, generator=row_generator(2**70 + 3, j)) for j in (0, 1, 0)]
    assert torch.equal(big[0], big[2]) and not torch.equal(big[0], big[1])
