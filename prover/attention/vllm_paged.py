"""The vLLM-independent half of the LeanAttention vLLM backend: KV-cache layout, metadata, and the forward pass.

vLLM hands an attention backend a flat batch of tokens (``query_start_loc`` delimits each request's queries),
per-request ``seq_lens`` (cached + new tokens), a ``block_table`` [num_reqs, max_blocks] and a ``slot_mapping``
(the cache slot of every new token). With ``reorder_batch_threshold = 1`` vLLM puts the decode requests
(one query token) first, so a step splits into a decode part, which LeanAttention serves, and a prefill part,
served here by SDPA over the gathered pages (correct, not tuned).

Nothing here imports vllm, so it is tested on CPU; :mod:`.vllm_backend` only wraps it in vLLM's classes.
The cache layout is FLASH_ATTN's: ``kv_cache`` [2, num_blocks, block_size, H_kv, d], key then value, so token t
of request r lives at block ``block_table[r, t // block_size]``, slot ``t % block_size``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import lean_attention_decode
from .reference import gather_keys

__all__ = [
    "LeanPagedMetadata",
    "build_metadata",
    "kv_cache_shape",
    "write_kv_cache",
    "paged_attention_forward",
    "forward_step",
]


def kv_cache_shape(num_blocks: int, block_size: int, num_kv_heads: int, head_size: int) -> tuple[int, ...]:
    """Shape of one layer's cache (FLASH_ATTN layout): key and value stacked on dim 0."""
    return (2, num_blocks, block_size, num_kv_heads, head_size)


@dataclass
class LeanPagedMetadata:
    """Per-step metadata (shared by all layers): the batch as decodes first, then prefills."""

    num_actual_tokens: int
    query_start_loc: torch.Tensor  # [num_reqs + 1] on device
    seq_lens: torch.Tensor  # [num_reqs]
    block_table: torch.Tensor  # [num_reqs, max_blocks]
    slot_mapping: torch.Tensor  # [num_tokens]
    num_decodes: int  # the first num_decodes requests have exactly one query token
    query_lens: list[int]  # host copy, for the prefill loop
    seq_lens_host: list[int]

    @property
    def num_reqs(self) -> int:
        return len(self.query_lens)


def build_metadata(
    query_start_loc_cpu: torch.Tensor,
    seq_lens_cpu: torch.Tensor,
    *,
    query_start_loc: torch.Tensor,
    seq_lens: torch.Tensor,
    block_table: torch.Tensor,
    slot_mapping: torch.Tensor,
    num_actual_tokens: int,
) -> LeanPagedMetadata:
    """Turn vLLM's common metadata into ours: find the leading run of decode (query length 1) requests."""
    num_reqs = int(seq_lens_cpu.shape[0])
    qlens = (query_start_loc_cpu[1 : num_reqs + 1] - query_start_loc_cpu[:num_reqs]).tolist()
    if any(q < 0 for q in qlens):
        raise ValueError(f"query_start_loc must be non-decreasing, got {query_start_loc_cpu.tolist()}")
    num_decodes = 0
    while num_decodes < num_reqs and qlens[num_decodes] == 1:
        num_decodes += 1
    lens = seq_lens_cpu[:num_reqs].tolist()
    bad = [r for r in range(num_reqs) if lens[r] < qlens[r]]
    if bad:
        raise ValueError(f"seq_lens shorter than the query length for requests {bad}")
    return LeanPagedMetadata(
        num_actual_tokens=num_actual_tokens,
        query_start_loc=query_start_loc[: num_reqs + 1],
        seq_lens=seq_lens[:num_reqs],
        block_table=block_table[:num_reqs],
        slot_mapping=slot_mapping[:num_actual_tokens],
        num_decodes=num_decodes,
        query_lens=[int(q) for q in qlens],
        seq_lens_host=[int(x) for x in lens],
    )


def write_kv_cache(
    key: torch.Tensor, value: torch.Tensor, key_cache: torch.Tensor, value_cache: torch.Tensor,
    slot_mapping: torch.Tensor,
) -> None:  # fmt: skip
    """Store the new tokens' key/value [N, H_kv, d] at their slots (what ``reshape_and_cache_flash`` does).

    Negative slots mark padding tokens and are skipped.
    """
    n = slot_mapping.shape[0]
    slots = slot_mapping.to(torch.long)
    keep = slots >= 0
    h, d = key_cache.shape[2], key_cache.shape[3]
    flat_k = key_cache.view(-1, h, d)
    flat_v = value_cache.view(-1, h, d)
    flat_k[slots[keep]] = key[:n][keep].to(key_cache.dtype)
    flat_v[slots[keep]] = value[:n][keep].to(value_cache.dtype)


def _prefill_one(q: torch.Tensor, key_cache, value_cache, block_table, r: int, seq_len: int, scale: float):
    """Causal attention of one request's q [n, H_q, d] (the last n positions of seq_len) over its pages."""
    n, h_q, d = q.shape
    h_kv = key_cache.shape[2]
    k = torch.stack([gather_keys(key_cache, r, h, 0, seq_len, block_table=block_table) for h in range(h_kv)])
    v = torch.stack([gather_keys(value_cache, r, h, 0, seq_len, block_table=block_table) for h in range(h_kv)])
    qpos = torch.arange(seq_len - n, seq_len, device=q.device)[:, None]
    mask = torch.arange(seq_len, device=q.device)[None, :] <= qpos  # [n, seq_len]
    out = torch.nn.functional.scaled_dot_product_attention(
        q.transpose(0, 1)[None].float(), k[None].float(), v[None].float(), attn_mask=mask, scale=scale,
        enable_gqa=h_q != h_kv,
    )  # fmt: skip
    return out[0].transpose(0, 1)


def paged_attention_forward(
    query: torch.Tensor,
    key_cache: torch.Tensor,
    value_cache: torch.Tensor,
    meta: LeanPagedMetadata,
    *,
    scale: float,
    output: torch.Tensor | None = None,
    backend: str = "auto",
    num_programs: int | None = None,
    block_n: int | None = None,
) -> torch.Tensor:
    """Attention for a vLLM step, after the new K/V are in the cache. query/output: [num_tokens, H_q, d]."""
    if output is None:
        output = torch.zeros_like(query)
    nd = meta.num_decodes
    if nd:
        output[:nd] = lean_attention_decode(
            query[:nd], key_cache, value_cache, meta.seq_lens[:nd], scale=scale,
            block_table=meta.block_table[:nd], num_programs=num_programs, backend=backend, block_n=block_n,
        ).to(output.dtype)  # fmt: skip
    start = nd  # decode requests hold one token each
    for r in range(nd, meta.num_reqs):
        n = meta.query_lens[r]
        if n:
            out = _prefill_one(
                query[start : start + n], key_cache, value_cache, meta.block_table, r, meta.seq_lens_host[r], scale
            )
            output[start : start + n] = out.to(output.dtype)
        start += n
    return output


def forward_step(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    kv_cache: torch.Tensor,
    meta: LeanPagedMetadata,
    output: torch.Tensor,
    *,
    num_heads: int,
    num_kv_heads: int,
    head_size: int,
    scale: float,
    write_cache: bool = True,
    backend: str = "auto",
    num_programs: int | None = None,
    block_n: int | None = None,
) -> torch.Tensor:
    """One layer's attention in a vLLM step (the body of ``AttentionImpl.forward``).

    query/output are [num_tokens(, padded), num_heads * head_size] or already split into heads; key/value the new
    tokens' [num_tokens, num_kv_heads * head_size]; kv_cache [2, num_blocks, block_size, H_kv, d]. The new K/V are
    stored first (unless this layer shares another layer's cache), then attention reads the cache.
    """
    n = meta.num_actual_tokens
    key_cache, value_cache = kv_cache.unbind(0)
    if write_cache:
        write_kv_cache(
            key[:n].reshape(n, num_kv_heads, head_size), value[:n].reshape(n, num_kv_heads, head_size),
            key_cache, value_cache, meta.slot_mapping,
        )  # fmt: skip
    q = query[:n].reshape(n, num_heads, head_size)
    out = output[:n].view(n, num_heads, head_size)
    paged_attention_forward(
        q, key_cache, value_cache, meta, scale=scale, output=out, backend=backend, num_programs=num_programs,
        block_n=block_n,
    )  # fmt: skip
    return output
