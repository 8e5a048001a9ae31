"""Attention cases: random dense caches, the same data scattered into vLLM's paged layout, and the float64
SDPA ground truth. The CUDA self-check (:mod:`.selfcheck`) runs its first-use case from here; the tests and
benchmarks build theirs the same way. Cheap, no randomness outside a seed."""

from __future__ import annotations

import torch


def sdpa_truth(q, k, v, lens, scale=None, leftpad=None):
    """Per-sequence SDPA over the valid keys of a dense cache [B, H_kv, L, d], in float64."""
    bsz, h_q, d = q.shape
    group = h_q // k.shape[1]
    out = torch.zeros(bsz, h_q, d, dtype=torch.float64)
    for b, n in enumerate(lens):
        if n == 0:
            continue
        p = 0 if leftpad is None else int(leftpad[b])
        kk = k[b, :, p : p + n].double().repeat_interleave(group, 0)
        vv = v[b, :, p : p + n].double().repeat_interleave(group, 0)
        out[b] = torch.nn.functional.scaled_dot_product_attention(q[b].double()[:, None], kk, vv, scale=scale)[:, 0]
    return out


def random_dense(bsz, h_q, h_kv, d, length, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(bsz, h_q, d, generator=g).to(dtype)
    k = torch.randn(bsz, h_kv, length, d, generator=g).to(dtype)
    v = torch.randn(bsz, h_kv, length, d, generator=g).to(dtype)
    return q, k, v


def to_paged(k, v, lens, page, seed=0):
    """Scatter a dense cache into vLLM's paged layout with a shuffled block table (plus unused spare blocks)."""
    bsz, h_kv, _, d = k.shape
    max_blocks = max(1, max(-(-n // page) for n in lens))
    num_blocks = bsz * max_blocks + 3
    perm = torch.randperm(num_blocks, generator=torch.Generator().manual_seed(seed))
    table = perm[: bsz * max_blocks].view(bsz, max_blocks).to(torch.int32)
    kc = torch.randn(num_blocks, page, h_kv, d).to(k.dtype)  # garbage where nothing is written
    vc = torch.randn(num_blocks, page, h_kv, d).to(v.dtype)
    for b, n in enumerate(lens):
        pos = torch.arange(n)
        blocks = table[b, pos // page].long()
        kc[blocks, pos % page] = k[b, :, :n].transpose(0, 1)
        vc[blocks, pos % page] = v[b, :, :n].transpose(0, 1)
    return kc, vc, table
