"""PyTorch LeanAttention decode that follows the stream-K schedule and merge exactly, and runs anywhere.

It is the executable specification of the Triton kernel: the same :class:`~.schedule.LeanSchedule`, the same
per-segment partial state (m, l, unnormalised acc) in fp32, and the same merge in split-index order. Each
segment's partial is computed over all its keys at once (the fold of its tiles' partials, equal up to rounding),
which keeps the Python loop to one iteration per segment rather than per tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .schedule import LeanSchedule, build_schedule

__all__ = ["Partial", "merge_partials", "lean_decode_reference", "gather_keys"]


@dataclass
class Partial:
    """Online-softmax state of one query group over a key subset: m = max score, l = sum exp(s - m),
    acc = sum exp(s - m) * v (unnormalised). Shapes: m, l [G]; acc [G, d]; fp32."""

    m: torch.Tensor
    l: torch.Tensor  # noqa: E741 - the paper's name
    acc: torch.Tensor

    def output(self) -> torch.Tensor:
        return self.acc / self.l[:, None]


def merge_partials(a: Partial, b: Partial) -> Partial:
    """The associative, commutative combine: M = max(m_a, m_b), rescale l and acc to M and add."""
    m = torch.maximum(a.m, b.m)
    wa = torch.exp(a.m - m)
    wb = torch.exp(b.m - m)
    return Partial(m, a.l * wa + b.l * wb, a.acc * wa[:, None] + b.acc * wb[:, None])


def _partial(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float) -> Partial:
    """Partial state of q [G, d] over keys k, v [n, d] (n >= 1), in fp32."""
    s = (q @ k.T) * scale  # [G, n]
    m = s.amax(dim=1)
    p = torch.exp(s - m[:, None])
    return Partial(m, p.sum(dim=1), p @ v)


def gather_keys(
    cache: torch.Tensor,
    batch: int,
    kv_head: int,
    start: int,
    end: int,
    *,
    block_table: torch.Tensor | None,
    leftpad: int = 0,
) -> torch.Tensor:
    """Keys (or values) at logical positions [start, end) of one (batch, KV head), as [end-start, d].

    Dense layout: cache [B, H_kv, L, d], position p lives at index leftpad + p. Paged layout (vLLM's):
    cache [num_blocks, block_size, H_kv, d]; position p lives in block block_table[b, p // block_size],
    slot p % block_size.
    """
    if block_table is None:
        return cache[batch, kv_head, leftpad + start : leftpad + end]
    page = cache.shape[1]
    pos = torch.arange(start, end, device=cache.device)
    blocks = block_table[batch, pos // page].to(torch.long)
    return cache[blocks, pos % page, kv_head]


def lean_decode_reference(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    seq_lens: list[int],
    *,
    scale: float,
    block_n: int,
    num_programs: int,
    block_table: torch.Tensor | None = None,
    cache_leftpad: list[int] | None = None,
    schedule: LeanSchedule | None = None,
) -> torch.Tensor:
    """Decode attention for q [B, H_q, d] over a dense or paged cache; returns [B, H_q, d] in q's dtype.

    Inputs are assumed validated by :func:`prover.attention.lean_attention_decode`. A sequence of length 0
    yields zeros (it has no keys to attend to; vLLM pads batches with such entries).
    """
    bsz, h_q, d = q.shape
    h_kv = k_cache.shape[1] if block_table is None else k_cache.shape[2]
    group = h_q // h_kv
    if schedule is None:
        schedule = build_schedule(seq_lens, h_kv, block_n, num_programs)
    qf = q.float().reshape(bsz, h_kv, group, d)
    out = torch.zeros(bsz, h_kv, group, d, dtype=torch.float32, device=q.device)
    pending: dict[tuple[int, int], list[tuple[int, Partial]]] = {}
    for segs in schedule.segments:  # programs in grid order; the order does not change the result
        for seg in segs:
            b, h = seg.batch, seg.kv_head
            lo = seg.tile_start * block_n
            hi = min(seg.tile_end * block_n, seq_lens[b])
            pad = cache_leftpad[b] if cache_leftpad is not None else 0
            k = gather_keys(k_cache, b, h, lo, hi, block_table=block_table, leftpad=pad).float()
            v = gather_keys(v_cache, b, h, lo, hi, block_table=block_table, leftpad=pad).float()
            part = _partial(qf[b, h], k, v, scale)
            n_splits = schedule.num_splits(b, h)
            if n_splits == 1:
                out[b, h] = part.output()
                continue
            parts = pending.setdefault((b, h), [])
            parts.append((seg.split, part))
            if len(parts) == n_splits:  # the last finisher reduces, in split-index order
                parts.sort(key=lambda x: x[0])
                total = parts[0][1]
                for _, p in parts[1:]:
                    total = merge_partials(total, p)
                out[b, h] = total.output()
                del pending[(b, h)]
    return out.reshape(bsz, h_q, d).to(q.dtype)
