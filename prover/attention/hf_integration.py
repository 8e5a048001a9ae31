"""transformers hook: ``attn_implementation="lean_attention"`` = LeanAttention for decode, SDPA for prefill.

transformers (>= 4.51) dispatches attention by name through ``AttentionInterface``; since 4.53 a custom name also
needs an ``AttentionMaskInterface`` entry, or the model builds no padding mask for it at all and left-padded batches
would silently attend to padding. We register SDPA's mask builder under our name, so the attention function sees
exactly the boolean [B, 1, q_len, kv_len] mask SDPA would.

In a decode step (q_len == 1) that mask says which cached positions each row may see. LeanAttention takes a
contiguous key range per sequence (``cache_leftpad`` .. ``cache_leftpad + seq_len``), which covers no padding,
left padding and sliding windows; any other pattern (or softcap, attention sinks, position bias, dropout)
goes to SDPA, so the hook never changes what the model computes.

Note: transformers' ``DynamicCache`` is a dense, concatenated tensor per layer, so this path exercises the dense
layout; it is for correctness and research, not serving (that is vLLM's job).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import torch

from . import DecodeCall, prepare_decode, run_decode

__all__ = ["LEAN_ATTENTION", "register_lean_attention", "lean_attention_forward", "mask_to_ranges"]

LEAN_ATTENTION = "lean_attention"


def mask_to_ranges(mask: torch.Tensor | None, batch: int, kv_len: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(seq_lens, cache_leftpad) from a decode-step attention mask, or None if a row's visible keys are not
    one contiguous range (or the mask is an additive float bias rather than a pure keep/drop mask)."""
    if mask is None:
        full = torch.full((batch,), kv_len, dtype=torch.int32)
        return full, torch.zeros(batch, dtype=torch.int32)
    rows = mask[..., -1, :kv_len]  # the (single) query's row
    if rows.dim() == 3:  # [B, heads, kv]: one shared mask per head only
        if rows.shape[1] != 1 and not bool((rows == rows[:, :1]).all()):
            return None
        rows = rows[:, 0]
    if rows.dtype != torch.bool:
        neg = rows < torch.finfo(rows.dtype).min / 2 if rows.is_floating_point() else rows == 0
        if not bool(((rows == 0) | neg).all()):
            return None  # a real bias, not a padding mask
        rows = ~neg
    rows = rows.expand(batch, kv_len)
    if rows.numel() <= _HOST_SCAN and rows.device.type == "cpu":
        return _ranges_on_host(rows)
    pos = torch.arange(kv_len, device=rows.device)
    lens = rows.sum(dim=1)
    start = torch.where(lens > 0, rows.to(torch.int8).argmax(dim=1), torch.zeros_like(lens))
    contiguous = (pos[None, :] >= start[:, None]) & (pos[None, :] < (start + lens)[:, None])
    if not bool((contiguous == rows).all()):
        return None
    return lens.to(torch.int32), start.to(torch.int32)


_HOST_SCAN = 1 << 15  # a small CPU mask is scanned as Python lists: a few C-level list scans beat ~10 tensor ops


def _ranges_on_host(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """:func:`mask_to_ranges` for a small bool [B, kv] CPU mask (the CPU decode case, once per step)."""
    lens, starts = [], []
    for row in rows.tolist():
        n = row.count(True)
        first = row.index(True) if n else 0
        if row[first : first + n].count(True) != n:
            return None  # holes: not one contiguous range
        lens.append(n)
        starts.append(first)
    return torch.tensor(lens, dtype=torch.int32), torch.tensor(starts, dtype=torch.int32)


class _LastMask(threading.local):
    """The last decode mask seen and its ranges. transformers builds one mask per forward and hands the same
    tensor to every layer, so the layers after the first skip the mask analysis (an identity and version check:
    a different or modified tensor is analysed afresh). Without a mask (no padding) the ranges depend on the
    shape only."""

    ref: Callable[[], torch.Tensor | None] | None = None
    key: tuple = ()
    ranges: tuple[torch.Tensor, torch.Tensor | None] | None = None
    calls: dict[tuple, DecodeCall]  # this step's prepared calls, per (shapes, dtype, scale)

    def __init__(self) -> None:
        self.calls = {}


_LAST = _LastMask()


def _step_ranges(
    mask: torch.Tensor | None, batch: int, kv_len: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """(seq_lens, cache_leftpad or None) on ``device`` for this decode step, or None (use SDPA)."""
    key = (batch, kv_len, device, _version(mask))
    if _LAST.key == key and (mask is None or (_LAST.ref is not None and _LAST.ref() is mask)):
        return _LAST.ranges
    found = mask_to_ranges(mask, batch, kv_len)
    ranges = None
    if found is not None:
        lens, leftpad = (t.to(device) for t in found)
        ranges = (lens, leftpad if bool(leftpad.any()) else None)
    _LAST.ref, _LAST.key, _LAST.ranges = (None if mask is None else weakref.ref(mask)), key, ranges
    _LAST.calls = {}
    return ranges


def _version(mask: torch.Tensor | None) -> int | None:
    """The tensor's in-place version, where it has one (inference-mode tensors track none: nothing modifies
    transformers' mask between layers, so identity is enough there)."""
    if mask is None or mask.is_inference():
        return None
    return mask._version


def _use_lean(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, dropout: float, kwargs: dict) -> bool:
    d = query.shape[-1]
    return (
        query.shape[2] == 1
        and dropout == 0.0
        and value.shape[-1] == d == key.shape[-1]
        and d >= 16
        and d & (d - 1) == 0
        and query.shape[1] % key.shape[1] == 0
        and query.dtype == key.dtype == value.dtype
        and query.dtype in (torch.float16, torch.bfloat16, torch.float32)
        and kwargs.get("softcap") is None
        and kwargs.get("s_aux") is None
        and kwargs.get("position_bias") is None
        and not kwargs.get("output_attentions", False)
    )


def lean_attention_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers attention function: query [B, H_q, q_len, d], key/value [B, H_kv, kv_len, d] (not repeated);
    returns ([B, q_len, H_q, d], None) like ``sdpa_attention_forward``."""
    if _use_lean(query, key, value, dropout, kwargs):
        ranges = _step_ranges(attention_mask, query.shape[0], key.shape[2], query.device)
        if ranges is not None:
            q = query[:, :, 0, :]
            # the layers of one step share shapes and lengths: check and resolve the call once per step
            call_key = (q.shape, key.shape, value.shape, q.dtype, scaling)
            call = _LAST.calls.get(call_key)
            if call is None:
                lens, leftpad = ranges
                call = prepare_decode(q, key, value, lens, scale=scaling, cache_leftpad=leftpad)
                _LAST.calls[call_key] = call
            return run_decode(call, q, key, value).unsqueeze(1), None
    from transformers.integrations.sdpa_attention import sdpa_attention_forward  # prefill: once per forward

    return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)


def register_lean_attention() -> str:
    """Register ``"lean_attention"`` with transformers (attention and mask interfaces); idempotent.

    Returns the name to pass as ``attn_implementation``.
    """
    try:
        from transformers import AttentionInterface
    except ImportError as err:
        raise RuntimeError("transformers >= 4.51 is needed for custom attention: pip install -U transformers") from err
    AttentionInterface.register(LEAN_ATTENTION, lean_attention_forward)
    try:
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    except ImportError:  # transformers < 4.53 builds masks without a per-name registry
        return LEAN_ATTENTION
    AttentionMaskInterface.register(LEAN_ATTENTION, sdpa_mask)
    return LEAN_ATTENTION
