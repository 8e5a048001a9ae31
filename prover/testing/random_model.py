"""A tiny random-init Llama with a byte-level BPE tokenizer, built in about a second.

Why: tests and benchmarks of the backends and the server need a real transformers
checkpoint on disk (config, weights, tokenizer, optional chat template) but no
download and no training. The tokenizer is byte-level so any prompt text encodes.
"""

from __future__ import annotations

from pathlib import Path

#: A ChatML-style template, so chat prompts go through ``apply_chat_template`` like real models.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    "theorem add_comm (a b : Nat) : a + b = b + a := by\n  omega",
    "theorem mul_pos (a b : Nat) (ha : 0 < a) (hb : 0 < b) : 0 < a * b := by\n  positivity",
    "example (x : Real) (h : 2 * x = 4) : x = 2 := by\n  linarith",
    "lemma foo (n : Nat) : n ≤ n + 1 := by simp",
    "Complete the following Lean 4 code:\n```lean4\nimport Mathlib\nopen Real Nat\n```",
    "intro h; cases h with | inl a => exact a | inr b => nlinarith [sq_nonneg b]",
    "norm_num; decide; ring_nf; field_simp; rfl; exact?; aesop; constructor",
    "The quick brown fox jumps over the lazy dog. 0123456789 ∀ ∃ → ↔ ≠ ∈ ℝ ℕ ℤ λ",
]


def build_tokenizer(vocab_size: int = 384, chat_template: bool = True):
    """A ``PreTrainedTokenizerFast`` over a byte-level BPE trained on a few Lean lines."""
    from transformers import PreTrainedTokenizerFast

    from prover.tinylm.tokenizer import byte_level_bpe

    specials = ["<|endoftext|>", "<pad>", "<|im_start|>", "<|im_end|>"]
    tok = byte_level_bpe(_CORPUS * 4, vocab_size, specials)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        pad_token="<pad>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    if chat_template:
        fast.chat_template = CHAT_TEMPLATE
    return fast


def build_random_llama(
    path: str | Path,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    max_positions: int = 512,
    vocab_size: int = 384,
    chat_template: bool = True,
    seed: int = 0,
) -> Path:
    """Save a random-init ``LlamaForCausalLM`` and its tokenizer to ``path``; return ``path``.

    GQA (``num_kv_heads < num_heads``) is on by default so attention backends see the
    grouped layout real provers use.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(vocab_size, chat_template=chat_template)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        max_position_embeddings=max_positions,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    # Random logits are near-uniform; scaling the head sharpens them so greedy and sampled
    # text differ visibly and EOS (1 of ~400 tokens) rarely ends a sample early.
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
