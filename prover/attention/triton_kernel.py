"""Triton kernels: LeanAttention stream-K decode, plus the two baselines the benchmark compares it with.

* :func:`lean_decode_triton` - a persistent grid of G programs; program p walks its equal share of the
  flattened (batch, KV head, tile) list (see :mod:`.schedule`), crossing head boundaries. A head covered by one
  program is written directly. A head split across programs is finished in the same launch by the *last
  program to arrive*: every contributor stores its fp32 partial (m, l, acc) to scratch and takes a ticket from
  the head's atomic counter; the holder of the last ticket merges the partials in split-index order
  (deterministic) and writes the output. Nobody waits on anybody, so it cannot deadlock - unlike the
  "host program spins until the others are done" scheme, which hangs under the serial CPU interpreter and needs
  every contributor co-resident on a GPU.
* :func:`split_k_decode_triton` - FlashDecoding: every head cut into S equal chunks, one program per
  (head, chunk), then a second kernel merging the chunks.
* :func:`fa2_decode_triton` - FlashAttention-2 in decode: one program per (batch, KV head) walking its whole
  context.

All three pack the GQA group's query heads into the M dimension of ``tl.dot`` and accumulate in fp32.

This module imports triton at import time; :mod:`prover.attention` imports it lazily. Without a GPU the kernels
run only on CPU tensors under the Triton interpreter, and only if ``TRITON_INTERPRET=1`` was set *before* this
module was imported (``triton.jit`` decides at decoration time). The interpreter computes bf16 arithmetic
wrongly, so under it every operand is upcast to fp32 right after loading.
"""

from __future__ import annotations

import math
import os

import torch
import triton
import triton.language as tl

__all__ = [
    "INTERPRETED",
    "lean_decode_triton",
    "split_k_decode_triton",
    "fa2_decode_triton",
    "flash_decoding_num_splits",
]

INTERPRETED = os.environ.get("TRITON_INTERPRET", "0") == "1"


@triton.jit
def _segment_partial(
    q,
    K,
    V,
    block_table_ptr,
    b,
    kvh,
    seqlen,
    leftpad,
    tile_lo,
    tile_hi,
    scale,
    stride_kb,
    stride_ks,
    stride_kh,
    stride_kd,
    stride_vb,
    stride_vs,
    stride_vh,
    stride_vd,
    stride_bt,
    page_size,
    BLOCK_G: tl.constexpr,
    BLOCK_N: tl.constexpr,
    D: tl.constexpr,
    PAGED: tl.constexpr,
    DOT_F32: tl.constexpr,
):
    """Online-softmax fold over tiles [tile_lo, tile_hi) of one (batch, KV head): returns (m, l, acc) in fp32."""
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, D)
    m_i = tl.full([BLOCK_G], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_G], tl.float32)
    acc = tl.zeros([BLOCK_G, D], tl.float32)
    b64 = b.to(tl.int64)
    for tile in range(tile_lo, tile_hi):
        pos = tile * BLOCK_N + offs_n
        nmask = pos < seqlen
        if PAGED:
            blk = tl.load(block_table_ptr + b64 * stride_bt + pos // page_size, mask=nmask, other=0).to(tl.int64)
            slot = (pos % page_size).to(tl.int64)
            k_row = blk * stride_kb + slot * stride_ks + kvh * stride_kh
            v_row = blk * stride_vb + slot * stride_vs + kvh * stride_vh
        else:
            p64 = (pos + leftpad).to(tl.int64)
            k_row = b64 * stride_kb + kvh * stride_kh + p64 * stride_ks
            v_row = b64 * stride_vb + kvh * stride_vh + p64 * stride_vs
        k = tl.load(K + k_row[:, None] + offs_d[None, :] * stride_kd, mask=nmask[:, None], other=0.0)
        v = tl.load(V + v_row[:, None] + offs_d[None, :] * stride_vd, mask=nmask[:, None], other=0.0)
        if DOT_F32:
            s = tl.dot(q, tl.trans(k.to(tl.float32)), input_precision="ieee")
        else:
            s = tl.dot(q, tl.trans(k))
        s = tl.where(nmask[None, :], s * scale, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        alpha = tl.exp(m_i - m_new)
        p = tl.exp(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        if DOT_F32:
            acc = acc * alpha[:, None] + tl.dot(p, v.to(tl.float32), input_precision="ieee")
        else:
            acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new
    return m_i, l_i, acc


@triton.jit
def _load_q(Q, b, kvh, GROUP, stride_qb, stride_qh, stride_qd, BLOCK_G: tl.constexpr, D: tl.constexpr,
            DOT_F32: tl.constexpr):
    offs_g = tl.arange(0, BLOCK_G)
    offs_d = tl.arange(0, D)
    gmask = offs_g < GROUP
    ptrs = Q + b.to(tl.int64) * stride_qb + (kvh * GROUP + offs_g)[:, None] * stride_qh + offs_d[None, :] * stride_qd
    q = tl.load(ptrs, mask=gmask[:, None], other=0.0)
    if DOT_F32:
        q = q.to(tl.float32)
    return q


@triton.jit
def _store_o(Out, out, b, kvh, GROUP, stride_ob, stride_oh, stride_od, BLOCK_G: tl.constexpr, D: tl.constexpr):
    offs_g = tl.arange(0, BLOCK_G)
    offs_d = tl.arange(0, D)
    gmask = offs_g < GROUP
    ptrs = Out + b.to(tl.int64) * stride_ob + (kvh * GROUP + offs_g)[:, None] * stride_oh + offs_d[None, :] * stride_od
    tl.store(ptrs, out.to(Out.dtype.element_ty), mask=gmask[:, None])


@triton.jit
def _program_of(t, base, rem):
    """The program whose share holds global tile t (inverse of the equal-share partition)."""
    big = rem * (base + 1)
    return tl.where(t < big, t // (base + 1), rem + (t - big) // tl.maximum(base, 1))


@triton.jit
def _pick(vec, offs, i):
    """vec[i] for a register vector (a masked sum: Triton has no dynamic register indexing)."""
    return tl.sum(tl.where(offs == i, vec, 0), 0)


@triton.jit
def _lean_decode_kernel(
    Q, K, V, Out,
    seq_lens_ptr, leftpad_ptr, block_table_ptr,
    part_acc_ptr, part_ml_ptr, counters_ptr,
    scale,
    stride_qb, stride_qh, stride_qd,
    stride_ob, stride_oh, stride_od,
    stride_kb, stride_ks, stride_kh, stride_kd,
    stride_vb, stride_vs, stride_vh, stride_vd,
    stride_bt, page_size,
    B, H_KV, GROUP, NUM_PROGRAMS,
    BLOCK_B: tl.constexpr, BLOCK_G: tl.constexpr, BLOCK_N: tl.constexpr, D: tl.constexpr,
    PAGED: tl.constexpr, HAS_LEFTPAD: tl.constexpr, DOT_F32: tl.constexpr,
):  # fmt: skip
    # The schedule (see schedule.py) is derived here from the lengths, so a launch needs no host-side work and
    # no schedule tensors: tiles per sequence and their prefix sum live in registers (one vector of B ints).
    pid = tl.program_id(0)
    offs_b = tl.arange(0, BLOCK_B)
    bmask = offs_b < B
    tiles_v = (tl.load(seq_lens_ptr + offs_b, mask=bmask, other=0) + BLOCK_N - 1) // BLOCK_N
    first_v = (tl.cumsum(tiles_v, 0) - tiles_v) * H_KV  # global tile offset of each sequence's first head
    total = tl.sum(tiles_v, 0) * H_KV
    base = total // NUM_PROGRAMS
    rem = total % NUM_PROGRAMS
    start = pid * base + tl.minimum(pid, rem)
    end = start + base + (pid < rem).to(tl.int32)
    # the head holding tile `start`: the last sequence whose offset is <= start, then the head inside it
    b0 = tl.sum((bmask & (first_v <= start)).to(tl.int32), 0) - 1
    b0 = tl.maximum(b0, 0)
    head = b0 * H_KV + (start - _pick(first_v, offs_b, b0)) // tl.maximum(_pick(tiles_v, offs_b, b0), 1)
    offs_g = tl.arange(0, BLOCK_G)
    offs_d = tl.arange(0, D)
    t = start
    while t < end:
        b = head // H_KV
        kvh = head % H_KV
        n_tiles = _pick(tiles_v, offs_b, b)
        h_lo = _pick(first_v, offs_b, b) + kvh * n_tiles
        h_hi = h_lo + n_tiles
        seg_end = tl.minimum(end, h_hi)
        if seg_end > t:  # heads of empty sequences hold no tiles and are stepped over
            seqlen = tl.load(seq_lens_ptr + b)
            leftpad = 0
            if HAS_LEFTPAD:
                leftpad = tl.load(leftpad_ptr + b)
            q = _load_q(Q, b, kvh, GROUP, stride_qb, stride_qh, stride_qd, BLOCK_G, D, DOT_F32)
            m_i, l_i, acc = _segment_partial(
                q, K, V, block_table_ptr, b, kvh, seqlen, leftpad, t - h_lo, seg_end - h_lo, scale,
                stride_kb, stride_ks, stride_kh, stride_kd, stride_vb, stride_vs, stride_vh, stride_vd,
                stride_bt, page_size, BLOCK_G, BLOCK_N, D, PAGED, DOT_F32,
            )  # fmt: skip
            first = _program_of(h_lo, base, rem)
            splits = _program_of(h_hi - 1, base, rem) - first + 1
            if splits == 1:
                _store_o(Out, acc / l_i[:, None], b, kvh, GROUP, stride_ob, stride_oh, stride_od, BLOCK_G, D)
            else:
                # Slot 0 holds a program's first segment (the head began at or before its share), slot 1 its last.
                slot = pid * 2 + (h_lo > start).to(tl.int32)
                tl.store(part_acc_ptr + slot * BLOCK_G * D + offs_g[:, None] * D + offs_d[None, :], acc)
                tl.store(part_ml_ptr + slot * 2 * BLOCK_G + offs_g, m_i)
                tl.store(part_ml_ptr + slot * 2 * BLOCK_G + BLOCK_G + offs_g, l_i)
                tl.debug_barrier()
                ticket = tl.atomic_add(counters_ptr + head, 1, sem="acq_rel", scope="gpu")
                if ticket == splits - 1:  # last to arrive: merge every split in split order
                    m_tot = tl.full([BLOCK_G], float("-inf"), tl.float32)
                    l_tot = tl.zeros([BLOCK_G], tl.float32)
                    a_tot = tl.zeros([BLOCK_G, D], tl.float32)
                    for j in range(0, splits):
                        prog = first + j
                        p_start = prog * base + tl.minimum(prog, rem)
                        p_slot = prog * 2 + (h_lo > p_start).to(tl.int32)
                        pm = tl.load(part_ml_ptr + p_slot * 2 * BLOCK_G + offs_g, cache_modifier=".cg")
                        pl = tl.load(part_ml_ptr + p_slot * 2 * BLOCK_G + BLOCK_G + offs_g, cache_modifier=".cg")
                        pa = tl.load(
                            part_acc_ptr + p_slot * BLOCK_G * D + offs_g[:, None] * D + offs_d[None, :],
                            cache_modifier=".cg",
                        )
                        m_new = tl.maximum(m_tot, pm)
                        wa = tl.exp(m_tot - m_new)
                        wb = tl.exp(pm - m_new)
                        l_tot = l_tot * wa + pl * wb
                        a_tot = a_tot * wa[:, None] + pa * wb[:, None]
                        m_tot = m_new
                    _store_o(Out, a_tot / l_tot[:, None], b, kvh, GROUP, stride_ob, stride_oh, stride_od, BLOCK_G, D)
                    tl.atomic_xchg(counters_ptr + head, 0)  # leave the counter at zero for the next launch
        t = seg_end
        head += 1


@triton.jit
def _split_k_kernel(
    Q, K, V,
    seq_lens_ptr, leftpad_ptr, block_table_ptr,
    part_acc_ptr, part_ml_ptr,
    scale,
    stride_qb, stride_qh, stride_qd,
    stride_kb, stride_ks, stride_kh, stride_kd,
    stride_vb, stride_vs, stride_vh, stride_vd,
    stride_bt, page_size,
    H_KV, GROUP, NUM_SPLITS,
    BLOCK_G: tl.constexpr, BLOCK_N: tl.constexpr, D: tl.constexpr,
    PAGED: tl.constexpr, HAS_LEFTPAD: tl.constexpr, DOT_F32: tl.constexpr,
):  # fmt: skip
    head = tl.program_id(0)
    split = tl.program_id(1)
    b = head // H_KV
    kvh = head % H_KV
    seqlen = tl.load(seq_lens_ptr + b)
    leftpad = 0
    if HAS_LEFTPAD:
        leftpad = tl.load(leftpad_ptr + b)
    tiles = (seqlen + BLOCK_N - 1) // BLOCK_N
    chunk = (tiles + NUM_SPLITS - 1) // NUM_SPLITS
    lo = tl.minimum(split * chunk, tiles)
    hi = tl.minimum(lo + chunk, tiles)
    q = _load_q(Q, b, kvh, GROUP, stride_qb, stride_qh, stride_qd, BLOCK_G, D, DOT_F32)
    m_i, l_i, acc = _segment_partial(
        q, K, V, block_table_ptr, b, kvh, seqlen, leftpad, lo, hi, scale,
        stride_kb, stride_ks, stride_kh, stride_kd, stride_vb, stride_vs, stride_vh, stride_vd,
        stride_bt, page_size, BLOCK_G, BLOCK_N, D, PAGED, DOT_F32,
    )  # fmt: skip
    offs_g = tl.arange(0, BLOCK_G)
    offs_d = tl.arange(0, D)
    slot = head * NUM_SPLITS + split
    tl.store(part_acc_ptr + slot * BLOCK_G * D + offs_g[:, None] * D + offs_d[None, :], acc)
    tl.store(part_ml_ptr + slot * 2 * BLOCK_G + offs_g, m_i)
    tl.store(part_ml_ptr + slot * 2 * BLOCK_G + BLOCK_G + offs_g, l_i)


@triton.jit
def _split_k_merge_kernel(
    Out, seq_lens_ptr, part_acc_ptr, part_ml_ptr,
    stride_ob, stride_oh, stride_od,
    H_KV, GROUP, NUM_SPLITS,
    BLOCK_G: tl.constexpr, BLOCK_N: tl.constexpr, D: tl.constexpr,
):  # fmt: skip
    head = tl.program_id(0)
    b = head // H_KV
    kvh = head % H_KV
    seqlen = tl.load(seq_lens_ptr + b)
    tiles = (seqlen + BLOCK_N - 1) // BLOCK_N
    chunk = (tiles + NUM_SPLITS - 1) // NUM_SPLITS
    used = (tiles + tl.maximum(chunk, 1) - 1) // tl.maximum(chunk, 1)  # non-empty chunks
    offs_g = tl.arange(0, BLOCK_G)
    offs_d = tl.arange(0, D)
    m_tot = tl.full([BLOCK_G], float("-inf"), tl.float32)
    l_tot = tl.zeros([BLOCK_G], tl.float32)
    a_tot = tl.zeros([BLOCK_G, D], tl.float32)
    for j in range(0, used):
        slot = head * NUM_SPLITS + j
        pm = tl.load(part_ml_ptr + slot * 2 * BLOCK_G + offs_g)
        pl = tl.load(part_ml_ptr + slot * 2 * BLOCK_G + BLOCK_G + offs_g)
        pa = tl.load(part_acc_ptr + slot * BLOCK_G * D + offs_g[:, None] * D + offs_d[None, :])
        m_new = tl.maximum(m_tot, pm)
        wa = tl.exp(m_tot - m_new)
        wb = tl.exp(pm - m_new)
        l_tot = l_tot * wa + pl * wb
        a_tot = a_tot * wa[:, None] + pa * wb[:, None]
        m_tot = m_new
    if used > 0:
        _store_o(Out, a_tot / l_tot[:, None], b, kvh, GROUP, stride_ob, stride_oh, stride_od, BLOCK_G, D)


@triton.jit
def _fa2_decode_kernel(
    Q, K, V, Out,
    seq_lens_ptr, leftpad_ptr, block_table_ptr,
    scale,
    stride_qb, stride_qh, stride_qd,
    stride_ob, stride_oh, stride_od,
    stride_kb, stride_ks, stride_kh, stride_kd,
    stride_vb, stride_vs, stride_vh, stride_vd,
    stride_bt, page_size,
    H_KV, GROUP,
    BLOCK_G: tl.constexpr, BLOCK_N: tl.constexpr, D: tl.constexpr,
    PAGED: tl.constexpr, HAS_LEFTPAD: tl.constexpr, DOT_F32: tl.constexpr,
):  # fmt: skip
    head = tl.program_id(0)
    b = head // H_KV
    kvh = head % H_KV
    seqlen = tl.load(seq_lens_ptr + b)
    leftpad = 0
    if HAS_LEFTPAD:
        leftpad = tl.load(leftpad_ptr + b)
    tiles = (seqlen + BLOCK_N - 1) // BLOCK_N
    q = _load_q(Q, b, kvh, GROUP, stride_qb, stride_qh, stride_qd, BLOCK_G, D, DOT_F32)
    m_i, l_i, acc = _segment_partial(
        q, K, V, block_table_ptr, b, kvh, seqlen, leftpad, 0, tiles, scale,
        stride_kb, stride_ks, stride_kh, stride_kd, stride_vb, stride_vs, stride_vh, stride_vd,
        stride_bt, page_size, BLOCK_G, BLOCK_N, D, PAGED, DOT_F32,
    )  # fmt: skip
    if tiles > 0:
        _store_o(Out, acc / l_i[:, None], b, kvh, GROUP, stride_ob, stride_oh, stride_od, BLOCK_G, D)


# --------------------------------------------------------------------------------------------- launchers


def _check_device(q: torch.Tensor) -> None:
    if not q.is_cuda and not INTERPRETED:
        raise RuntimeError(
            "The Triton attention kernels need a CUDA GPU; to run them on CPU tensors set TRITON_INTERPRET=1 "
            "before prover.attention.triton_kernel is first imported."
        )


def _common(q, k_cache, v_cache, seq_lens, block_table, cache_leftpad):
    """Strides and flags shared by every launcher (the dense and paged caches use the same four roles)."""
    paged = block_table is not None
    if paged:  # [num_blocks, block_size, H_kv, d]
        h_kv, page_size = k_cache.shape[2], k_cache.shape[1]
        ks = (k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), k_cache.stride(3))
        vs = (v_cache.stride(0), v_cache.stride(1), v_cache.stride(2), v_cache.stride(3))
        bt = block_table.to(device=q.device, dtype=torch.int32).contiguous()
        stride_bt = bt.stride(0)
    else:  # [B, H_kv, L, d]
        h_kv, page_size = k_cache.shape[1], 1
        ks = (k_cache.stride(0), k_cache.stride(2), k_cache.stride(1), k_cache.stride(3))
        vs = (v_cache.stride(0), v_cache.stride(2), v_cache.stride(1), v_cache.stride(3))
        bt, stride_bt = seq_lens, 0  # a placeholder pointer, never read
    group = q.shape[1] // h_kv
    has_leftpad = cache_leftpad is not None
    leftpad = cache_leftpad.to(device=q.device, dtype=torch.int32) if has_leftpad else seq_lens
    dot_f32 = INTERPRETED or q.dtype == torch.float32
    return {
        "paged": paged, "h_kv": h_kv, "page_size": page_size, "ks": ks, "vs": vs, "bt": bt,
        "stride_bt": stride_bt, "group": group, "block_g": max(16, triton.next_power_of_2(group)),
        "has_leftpad": has_leftpad, "leftpad": leftpad, "dot_f32": dot_f32,
    }  # fmt: skip


_COUNTER_CACHE: dict[tuple[str, int | None, int], torch.Tensor] = {}


def _counters(device: torch.device, n: int) -> torch.Tensor:
    """Per-head arrival counters, zero on entry. The merging program resets its head's counter, so one buffer per
    (device, stream) is reused across launches without a memset; it is replaced only when a batch needs more."""
    stream = torch.cuda.current_stream(device).cuda_stream if device.type == "cuda" else 0
    key = (device.type, device.index, stream)
    buf = _COUNTER_CACHE.get(key)
    if buf is None or buf.numel() < n:
        buf = torch.zeros(max(n, 1024), dtype=torch.int32, device=device)
        _COUNTER_CACHE[key] = buf
    return buf


def lean_decode_triton(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    seq_lens: torch.Tensor,
    *,
    scale: float,
    block_n: int,
    num_programs: int,
    block_table: torch.Tensor | None = None,
    cache_leftpad: torch.Tensor | None = None,
    num_warps: int = 4,
    num_stages: int = 2,
) -> torch.Tensor:
    """LeanAttention decode on a persistent grid of ``num_programs`` programs; q [B, H_q, d] -> [B, H_q, d]."""
    _check_device(q)
    bsz, _, d = q.shape
    seq_lens = seq_lens.to(device=q.device, dtype=torch.int32)
    c = _common(q, k_cache, v_cache, seq_lens, block_table, cache_leftpad)
    out = torch.zeros_like(q)
    bg = c["block_g"]
    part_acc = torch.empty(num_programs * 2 * bg * d, dtype=torch.float32, device=q.device)
    part_ml = torch.empty(num_programs * 2 * 2 * bg, dtype=torch.float32, device=q.device)
    counters = _counters(q.device, bsz * c["h_kv"])
    _lean_decode_kernel[(num_programs,)](
        q, k_cache, v_cache, out,
        seq_lens, c["leftpad"], c["bt"],
        part_acc, part_ml, counters,
        scale,
        q.stride(0), q.stride(1), q.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        *c["ks"], *c["vs"],
        c["stride_bt"], c["page_size"],
        bsz, c["h_kv"], c["group"], num_programs,
        BLOCK_B=triton.next_power_of_2(bsz), BLOCK_G=bg, BLOCK_N=block_n, D=d,
        PAGED=c["paged"], HAS_LEFTPAD=c["has_leftpad"], DOT_F32=c["dot_f32"],
        num_warps=num_warps, num_stages=num_stages,
    )  # fmt: skip
    return out


def flash_decoding_num_splits(num_heads_total: int, max_tiles: int, num_sms: int, max_splits: int = 128) -> int:
    """FA-2's ``num_splits_heuristic``: no split if the heads fill 80% of the SMs, else the smallest split
    count reaching 85% of the best wave efficiency."""
    if num_heads_total >= 0.8 * num_sms or max_tiles <= 1:
        return 1
    limit = max(1, min(max_splits, max_tiles, num_sms))

    def eff(s: int) -> float:
        waves = num_heads_total * s / num_sms
        return waves / math.ceil(waves)

    best = max(eff(s) for s in range(1, limit + 1))
    return next(s for s in range(1, limit + 1) if eff(s) >= 0.85 * best)


def split_k_decode_triton(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    seq_lens: torch.Tensor,
    *,
    scale: float,
    block_n: int,
    num_splits: int,
    block_table: torch.Tensor | None = None,
    cache_leftpad: torch.Tensor | None = None,
    num_warps: int = 4,
    num_stages: int = 2,
) -> torch.Tensor:
    """FlashDecoding baseline: ``num_splits`` equal chunks per head, then a separate merge kernel."""
    _check_device(q)
    bsz, _, d = q.shape
    seq_lens = seq_lens.to(device=q.device, dtype=torch.int32)
    c = _common(q, k_cache, v_cache, seq_lens, block_table, cache_leftpad)
    n_heads = bsz * c["h_kv"]
    bg = c["block_g"]
    part_acc = torch.empty(n_heads * num_splits * bg * d, dtype=torch.float32, device=q.device)
    part_ml = torch.empty(n_heads * num_splits * 2 * bg, dtype=torch.float32, device=q.device)
    out = torch.zeros_like(q)
    _split_k_kernel[(n_heads, num_splits)](
        q, k_cache, v_cache,
        seq_lens, c["leftpad"], c["bt"],
        part_acc, part_ml,
        scale,
        q.stride(0), q.stride(1), q.stride(2),
        *c["ks"], *c["vs"],
        c["stride_bt"], c["page_size"],
        c["h_kv"], c["group"], num_splits,
        BLOCK_G=bg, BLOCK_N=block_n, D=d,
        PAGED=c["paged"], HAS_LEFTPAD=c["has_leftpad"], DOT_F32=c["dot_f32"],
        num_warps=num_warps, num_stages=num_stages,
    )  # fmt: skip
    _split_k_merge_kernel[(n_heads,)](
        out, seq_lens, part_acc, part_ml,
        out.stride(0), out.stride(1), out.stride(2),
        c["h_kv"], c["group"], num_splits,
        BLOCK_G=bg, BLOCK_N=block_n, D=d,
        num_warps=num_warps, num_stages=num_stages,
    )  # fmt: skip
    return out


def fa2_decode_triton(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    seq_lens: torch.Tensor,
    *,
    scale: float,
    block_n: int,
    block_table: torch.Tensor | None = None,
    cache_leftpad: torch.Tensor | None = None,
    num_warps: int = 4,
    num_stages: int = 2,
) -> torch.Tensor:
    """FlashAttention-2-style decode baseline: one program per (batch, KV head), no split."""
    _check_device(q)
    bsz, _, d = q.shape
    seq_lens = seq_lens.to(device=q.device, dtype=torch.int32)
    c = _common(q, k_cache, v_cache, seq_lens, block_table, cache_leftpad)
    out = torch.zeros_like(q)
    _fa2_decode_kernel[(bsz * c["h_kv"],)](
        q, k_cache, v_cache, out,
        seq_lens, c["leftpad"], c["bt"],
        scale,
        q.stride(0), q.stride(1), q.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        *c["ks"], *c["vs"],
        c["stride_bt"], c["page_size"],
        c["h_kv"], c["group"],
        BLOCK_G=c["block_g"], BLOCK_N=block_n, D=d,
        PAGED=c["paged"], HAS_LEFTPAD=c["has_leftpad"], DOT_F32=c["dot_f32"],
        num_warps=num_warps, num_stages=num_stages,
    )  # fmt: skip
    return out
