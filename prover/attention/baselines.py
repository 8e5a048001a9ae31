"""PyTorch versions of the decode-attention baselines LeanAttention is measured against (dense layout).

* :func:`split_k_decode_torch` - FlashDecoding: each head's context cut into S equal chunks, the partials of all
  chunks computed in one batched pass, then a separate merge (log-sum-exp weights).
* :func:`fa2_decode_torch` - FlashAttention-2 in decode: one unit of work per (batch, KV head), each covering
  its whole context; the Python loop over (batch, head) plays the role of the B*H_kv programs.
* :func:`sdpa_decode` - ``torch.nn.functional.scaled_dot_product_attention`` with GQA and a length mask.

They exist so that ``benchmarks/decode_attention.py`` can run the same comparison on a CPU as on a GPU (where the
Triton versions in :mod:`.triton_kernel` are used); CPU timings say nothing about GPU behaviour.
"""

from __future__ import annotations

import torch

__all__ = ["split_k_decode_torch", "fa2_decode_torch", "sdpa_decode", "sdpa_reference", "length_mask"]


def length_mask(seq_lens: torch.Tensor, length: int) -> torch.Tensor:
    """[B, L] bool: True where position < seq_len."""
    return torch.arange(length, device=seq_lens.device)[None, :] < seq_lens.to(torch.long)[:, None]


def sdpa_decode(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, seq_lens: torch.Tensor,
                *, scale: float | None = None) -> torch.Tensor:
    """q [B, H_q, d] over dense [B, H_kv, L, d] caches with per-sequence lengths, via torch SDPA."""
    mask = length_mask(seq_lens, k_cache.shape[2])[:, None, None, :]
    out = torch.nn.functional.scaled_dot_product_attention(
        q[:, :, None, :], k_cache, v_cache, attn_mask=mask, scale=scale, enable_gqa=True
    )
    out = out[:, :, 0, :]
    return torch.where((seq_lens > 0)[:, None, None], out, torch.zeros_like(out))


def split_k_decode_torch(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, seq_lens: torch.Tensor,
                         *, scale: float, num_splits: int) -> torch.Tensor:
    """FlashDecoding in PyTorch: ``num_splits`` equal key chunks per head, batched partials, separate merge."""
    bsz, h_q, d = q.shape
    h_kv, length = k_cache.shape[1], k_cache.shape[2]
    group = h_q // h_kv
    chunk = -(-length // num_splits)
    pad = chunk * num_splits - length
    k = torch.nn.functional.pad(k_cache, (0, 0, 0, pad)).float().view(bsz, h_kv, num_splits, chunk, d)
    v = torch.nn.functional.pad(v_cache, (0, 0, 0, pad)).float().view(bsz, h_kv, num_splits, chunk, d)
    qf = q.float().view(bsz, h_kv, 1, group, d)
    s = torch.matmul(qf, k.transpose(-1, -2)) * scale  # [B, H_kv, S, G, chunk]
    valid = length_mask(seq_lens, chunk * num_splits).view(bsz, 1, num_splits, 1, chunk)
    s = s.masked_fill(~valid, float("-inf"))
    m = s.amax(dim=-1, keepdim=True)  # -inf for an empty chunk
    m_safe = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    p = torch.exp(s - m_safe)
    part_l = p.sum(-1, keepdim=True)
    part_acc = torch.matmul(p, v)  # [B, H_kv, S, G, d]
    # the separate "merge kernel"
    big_m = m.amax(dim=2, keepdim=True)
    big_m = torch.where(torch.isfinite(big_m), big_m, torch.zeros_like(big_m))
    w = torch.exp(m - big_m)
    total_l = (part_l * w).sum(2)
    out = (part_acc * w).sum(2) / total_l.clamp_min(torch.finfo(torch.float32).tiny)
    return out.reshape(bsz, h_q, d).to(q.dtype)


def fa2_decode_torch(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, seq_lens: torch.Tensor,
                     *, scale: float) -> torch.Tensor:
    """One unit of work per (batch, KV head), each attending over its whole context."""
    bsz, h_q, d = q.shape
    h_kv = k_cache.shape[1]
    group = h_q // h_kv
    out = torch.zeros(bsz, h_kv, group, d, dtype=torch.float32, device=q.device)
    qf = q.float().view(bsz, h_kv, group, d)
    for b, n in enumerate(seq_lens.tolist()):
        if n == 0:
            continue
        for h in range(h_kv):
            k = k_cache[b, h, :n].float()
            s = (qf[b, h] @ k.T) * scale
            out[b, h] = torch.softmax(s, dim=-1) @ v_cache[b, h, :n].float()
    return out.reshape(bsz, h_q, d).to(q.dtype)


def sdpa_reference(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, seq_lens: torch.Tensor, *,
                   scale: float | None = None, block_table: torch.Tensor | None = None,
                   cache_leftpad: torch.Tensor | None = None) -> torch.Tensor:
    """SDPA over every layout :func:`prover.attention.lean_attention_decode` accepts (dense, left-padded dense,
    paged): the self-check's ground truth and the fallback when a compiled kernel fails it."""
    if block_table is not None:
        from .vectorized import paged_to_dense

        length = max(int(seq_lens.max()) if seq_lens.numel() else 0, 1)
        k_cache, v_cache = (paged_to_dense(c, block_table, length) for c in (k_cache, v_cache))
    if cache_leftpad is None:
        return sdpa_decode(q, k_cache, v_cache, seq_lens, scale=scale)
    pos = torch.arange(k_cache.shape[2], device=q.device)[None, :]
    start = cache_leftpad.to(device=q.device, dtype=torch.long)[:, None]
    mask = (pos >= start) & (pos < start + seq_lens.to(device=q.device, dtype=torch.long)[:, None])
    out = torch.nn.functional.scaled_dot_product_attention(
        q[:, :, None, :], k_cache, v_cache, attn_mask=mask[:, None, None, :], scale=scale, enable_gqa=True
    )[:, :, 0, :]
    return torch.where((seq_lens.to(q.device) > 0)[:, None, None], out, torch.zeros_like(out))
