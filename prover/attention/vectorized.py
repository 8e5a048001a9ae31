"""Vectorized PyTorch LeanAttention: the stream-K schedule of :mod:`.schedule` in a handful of batched tensor ops.

:func:`~.reference.lean_decode_reference` is the readable specification (one Python iteration per segment); this
is the implementation that runs on CPUs and any other non-Triton device. Both compute the same thing: a
partial softmax state (m, l, acc) per *segment* (a program's contiguous run of tiles inside one (batch, KV head)),
then the log-sum-exp merge of a head's segments in split-index order.

How it is batched, per dense cache of capacity L:

* one matmul gives the scores of every query head of every (batch, KV head) against all L cached positions
  (reading the cache in place, as SDPA does: no copy of the keys, no per-segment gather);
* a cached additive bias ``[B*H_kv, S, 1, L]`` (0 where position p belongs to split s of that head, -inf
  elsewhere, S = the most splits any head has) turns the scores into per-segment scores, from which each
  segment's softmax-normalised output (one more matmul, against the values) and log-sum-exp follow;
* the merge weighs every segment by ``exp(lse_s - LSE)`` and sums over the split axis (index order = split
  order). When no head is split (S = 1) this is one ``baddbmm``, one softmax and one ``bmm``.

The bias is the schedule's index tensor. It is derived from the sequence lengths (the per-head split points with
the ``program_range``/``program_of_tile`` formulas the Triton kernel evaluates, the per-position tensors in a few
ops), and cached per (lengths, left padding, KV heads,
capacity, block, programs, device), so a decode step builds nothing per segment, and the layers of one step
after the first reuse it outright. The paged layout is gathered into a dense cache first (one copy; paged caches
on a CPU are a test and fallback setting, vLLM's serving path is CUDA).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch

from .schedule import program_of_tile, program_range

__all__ = ["SplitPlan", "split_plan", "lean_decode_vectorized", "paged_to_dense", "clear_plan_cache"]

_PLAN_CACHE: OrderedDict[tuple, SplitPlan] = OrderedDict()
_PLAN_CACHE_SIZE = 64
_ABSENT = -1e30  # bias of a split a head does not have: exp(-1e30 - anything finite) == 0 in fp32


@dataclass(frozen=True)
class SplitPlan:
    """The schedule as tensors for one (lengths, padding, heads, capacity, block, programs) combination.

    ``bias`` is ``[B*H_kv, S, 1, L]``: 0 where cache position p belongs to split s of head ``hid = b * H_kv + h``,
    -inf elsewhere; ``splits[hid]`` counts the head's segments (0 for an empty sequence). A split index a head
    does not have gets a finite bias (-1e30) on every position, so its softmax stays finite and its merge weight
    is exactly 0. :attr:`split_of_pos` is the same information as split indices (for tests and inspection).
    """

    bias: torch.Tensor
    splits: tuple[int, ...]
    empty: torch.Tensor | None  # [B*H_kv, 1, 1]: 0 for the heads of empty sequences, 1 elsewhere; None if none

    @property
    def max_splits(self) -> int:
        return self.bias.shape[1]

    @property
    def split_of_pos(self) -> torch.Tensor:
        """[B*H_kv, L]: the split index of the segment holding each position, -1 where no valid key is."""
        hit = self.bias[:, :, 0, :] == 0  # [B*H_kv, S, L]
        index = torch.arange(self.max_splits, device=hit.device)[None, :, None].expand_as(hit)
        return torch.where(hit.any(1), (index * hit).sum(1), -1)


def _build_plan(
    lens: tuple[int, ...], pads: tuple[int, ...], num_kv_heads: int, capacity: int, block_n: int, num_programs: int,
    device: torch.device,
) -> SplitPlan:
    """The per-head numbers (a few hundred at most) in Python, the per-position tensors in a few ops: a decode step
    builds one plan (its lengths are new), so this is on the step's critical path."""
    tiles = [-(-n // block_n) for n in lens]
    head_tiles = [t for t in tiles for _ in range(num_kv_heads)]  # batch-major, then KV head
    offsets, total = [], 0
    for t in head_tiles:
        offsets.append(total)
        total += t
    starts = [program_range(p, total, num_programs)[0] for p in range(num_programs)]
    splits, bounds = [], []  # per head: segments; the key positions where a later segment starts
    for hid, (off, t) in enumerate(zip(offsets, head_tiles, strict=True)):
        if t == 0:
            splits.append(0)
            bounds.append([])
            continue
        first, last = program_of_tile(off, total, num_programs), program_of_tile(off + t - 1, total, num_programs)
        splits.append(last - first + 1)
        pad = pads[hid // num_kv_heads]
        bounds.append([pad + (starts[p] - off) * block_n for p in range(first + 1, last + 1)])
    max_splits = max(max(splits, default=1), 1)
    pos = torch.arange(capacity)
    ranges = torch.tensor([[p for p in pads for _ in range(num_kv_heads)], [n for n in lens for _ in range(num_kv_heads)]])
    lo = ranges[0][:, None]
    valid = (pos >= lo) & (pos < lo + ranges[1][:, None])  # [B*H_kv, L]
    if max_splits == 1:
        bias = torch.where(valid, 0.0, float("-inf"))[:, None]  # [B*H_kv, 1, L]
        if 0 in splits:  # an empty sequence's heads have no segment at all: finite, weight-0 rows
            bias.masked_fill_(torch.tensor([n == 0 for n in splits])[:, None, None], _ABSENT)
    else:
        edges = torch.tensor([b + [capacity] * (max_splits - 1 - len(b)) for b in bounds])  # [B*H_kv, S-1]
        split = (pos[None, None, :] >= edges[:, :, None]).sum(1)  # boundaries at or before p = its split
        split = torch.where(valid, split, -1)
        hit = split[:, None, :] == torch.arange(max_splits)[None, :, None]  # [B*H_kv, S, L]
        absent = torch.arange(max_splits)[None, :] >= torch.tensor(splits)[:, None]  # [B*H_kv, S]
        bias = torch.where(hit, 0.0, float("-inf")).masked_fill_(absent[:, :, None], _ABSENT)
    empty = torch.tensor([float(n > 0) for n in splits])[:, None, None] if 0 in splits else None
    bias = bias[:, :, None, :]
    if device.type != "cpu":
        bias, empty = bias.to(device), (empty.to(device) if empty is not None else None)
    return SplitPlan(bias=bias, splits=tuple(splits), empty=empty)


def split_plan(
    seq_lens: tuple[int, ...], cache_leftpad: tuple[int, ...] | None, num_kv_heads: int, capacity: int,
    block_n: int, num_programs: int, device: torch.device,
) -> SplitPlan:
    """The cached :class:`SplitPlan` (an LRU of the last few combinations; decode steps differ by length)."""
    key = (seq_lens, cache_leftpad, num_kv_heads, capacity, block_n, num_programs, device)
    plan = _PLAN_CACHE.get(key)
    if plan is not None:
        _PLAN_CACHE.move_to_end(key)
        return plan
    pads = cache_leftpad if cache_leftpad is not None else (0,) * len(seq_lens)
    plan = _build_plan(seq_lens, pads, num_kv_heads, capacity, block_n, num_programs, device)
    _PLAN_CACHE[key] = plan
    if len(_PLAN_CACHE) > _PLAN_CACHE_SIZE:
        _PLAN_CACHE.popitem(last=False)
    return plan


def clear_plan_cache() -> None:
    _PLAN_CACHE.clear()


def paged_to_dense(cache: torch.Tensor, block_table: torch.Tensor, length: int) -> torch.Tensor:
    """vLLM's paged [num_blocks, block_size, H_kv, d] cache as dense [B, H_kv, length, d] (positions 0..length-1
    of every sequence; block-table entries past a sequence's blocks are read but masked by the caller)."""
    page = cache.shape[1]
    pos = torch.arange(length, device=cache.device)
    blocks = block_table[:, pos // page].to(torch.long).clamp_(0, cache.shape[0] - 1)  # [B, length]
    return cache[blocks, (pos % page)[None, :]].transpose(1, 2)  # [B, length, H_kv, d] -> [B, H_kv, length, d]


def lean_decode_vectorized(
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
) -> torch.Tensor:
    """Decode attention for q [B, H_q, d] over a dense or paged cache; returns [B, H_q, d] in q's dtype.

    Same contract as :func:`~.reference.lean_decode_reference` (inputs validated by
    :func:`prover.attention.lean_attention_decode`; a sequence of length 0 gives zeros). Each segment's partial is
    kept as (softmax-normalised output, log-sum-exp), the same state as the reference's (m, l, acc) written
    ``lse = m + log l``, ``out = acc / l``: that form lets ``torch.softmax``/``torch.logsumexp`` compute it in one
    fused op, and the merge weights of a head's segments are then ``softmax(lse)`` over its splits. (When a head
    is split, the partials are computed as (m, l, acc) and the merge forms ``lse`` from them: ``torch.logsumexp``
    costs several times a softmax on small rows.)
    """
    bsz, h_q, d = q.shape
    ends = [n + (cache_leftpad[b] if cache_leftpad else 0) for b, n in enumerate(seq_lens)]
    capacity = max(ends, default=0)
    if capacity == 0:
        return torch.zeros_like(q)
    if block_table is not None:
        k, v = (paged_to_dense(c, block_table, capacity) for c in (k_cache, v_cache))
    elif capacity < k_cache.shape[2]:
        k, v = k_cache[:, :, :capacity], v_cache[:, :, :capacity]  # views: nothing past the last valid key
    else:
        k, v = k_cache, v_cache
    h_kv = k.shape[1]
    group = h_q // h_kv
    plan = split_plan(tuple(seq_lens), tuple(cache_leftpad) if cache_leftpad else None, h_kv, capacity, block_n,
                      num_programs, q.device)  # fmt: skip
    qf = q.reshape(bsz * h_kv, group, d)
    kt = k.reshape(bsz * h_kv, capacity, d).transpose(1, 2)
    vf = v.reshape(bsz * h_kv, capacity, d)
    if q.dtype != torch.float32:  # fp32 accumulation, as the kernel
        qf, kt, vf = qf.float(), kt.float(), vf.float()
    if plan.max_splits == 1:  # no head is split across programs: each segment is its head's whole result
        scores = torch.baddbmm(plan.bias[:, 0], qf, kt, alpha=scale)  # [B*H_kv, G, L], other heads' keys -inf
        out = torch.bmm(torch.softmax(scores, -1), vf)
    else:
        bh, splits = bsz * h_kv, plan.max_splits
        scores = torch.add(plan.bias, torch.bmm(qf, kt)[:, None], alpha=scale)  # [B*H_kv, S, G, L], per segment
        m = scores.amax(-1, keepdim=True)  # finite: every segment row has a key (absent splits: -1e30)
        p = torch.exp(scores - m)
        part_l = p.sum(-1)  # [B*H_kv, S, G]
        part_acc = torch.bmm(p.view(bh, splits * group, capacity), vf).view(bh, splits, group, d)
        # merge: weights exp(lse_s - LSE) with lse_s = m_s + log l_s (0 for absent splits), over the split axis
        weight = torch.softmax(m[..., 0] + part_l.log(), 1)
        out = (part_acc * (weight / part_l)[..., None]).sum(1)
    if plan.empty is not None:
        out = out * plan.empty  # heads of empty sequences: zeros
    out = out.view(bsz, h_q, d)
    return out if out.dtype == q.dtype else out.to(q.dtype)
