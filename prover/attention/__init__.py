"""LeanAttention: stream-K decode attention (arXiv 2405.10480) over dense or paged KV caches.

``lean_attention_decode`` is the one call the rest of ProofForge uses. On CUDA it runs the Triton kernel, after a
first-use self-check against SDPA per (dtype, head_dim, group, layout) (:mod:`.selfcheck`; a failing combination
falls back to SDPA with one warning, and :func:`attention_report` says what ran). Elsewhere it runs the vectorized
PyTorch implementation of the same schedule (:mod:`.vectorized`); :mod:`.reference` is the readable specification
both are tested against. The transformers hook is :func:`prover.attention.hf_integration.register_lean_attention`
and the vLLM backend plugin is :func:`prover.attention.vllm_plugin.register`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .baselines import sdpa_reference
from .schedule import LeanSchedule, Segment, build_schedule, default_block_n
from .selfcheck import attention_report
from .vectorized import lean_decode_vectorized

__all__ = [
    "DecodeCall",
    "LeanSchedule",
    "Segment",
    "attention_report",
    "build_schedule",
    "default_block_n",
    "default_num_programs",
    "lean_attention_decode",
    "prepare_decode",
    "run_decode",
]

_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
_BACKENDS = ("auto", "triton", "vectorized", "reference", "sdpa")


def default_num_programs(device: torch.device) -> int:
    """The persistent grid size G, fixed by the hardware: one program per SM on CUDA, per core elsewhere."""
    return _num_programs(device.type, device.index)


@functools.cache
def _num_programs(device_type: str, index: int | None) -> int:  # cached: a decode step calls it once per layer
    if device_type == "cuda":
        return torch.cuda.get_device_properties(torch.device(device_type, index)).multi_processor_count
    return os.cpu_count() or 1


def _validate(q, k_cache, v_cache, seq_lens, block_table, cache_leftpad) -> tuple[int, bool]:
    """Shape/dtype checks that need no host sync; returns (H_kv, paged). Raises ValueError naming the input."""
    if q.dim() != 3:
        raise ValueError(f"q must be [batch, num_q_heads, head_dim] (one decode token per sequence), got {tuple(q.shape)}")
    bsz, h_q, d = q.shape
    paged = block_table is not None
    if k_cache.dim() != 4 or k_cache.shape != v_cache.shape:
        raise ValueError(
            "k_cache and v_cache must have the same 4-d shape ([B, H_kv, L, d] dense or "
            f"[num_blocks, block_size, H_kv, d] paged), got {tuple(k_cache.shape)} and {tuple(v_cache.shape)}"
        )
    h_kv = k_cache.shape[2] if paged else k_cache.shape[1]
    if k_cache.shape[3] != d:
        raise ValueError(f"head_dim mismatch: q has {d}, k_cache has {k_cache.shape[3]}")
    if d < 16 or d & (d - 1):
        raise ValueError(f"head_dim must be a power of two >= 16 (64, 128, 256 in practice), got {d}")
    if h_q % h_kv:
        raise ValueError(f"num_q_heads ({h_q}) must be a multiple of num_kv_heads ({h_kv})")
    if q.dtype not in _DTYPES or k_cache.dtype != q.dtype or v_cache.dtype != q.dtype:
        raise ValueError(
            f"q, k_cache, v_cache must share one dtype among fp16/bf16/fp32, got {q.dtype}, {k_cache.dtype}, "
            f"{v_cache.dtype}"
        )
    if not paged and k_cache.shape[0] != bsz:
        raise ValueError(f"dense k_cache batch ({k_cache.shape[0]}) differs from q batch ({bsz})")
    if seq_lens.dim() != 1 or seq_lens.shape[0] != bsz:
        raise ValueError(f"seq_lens must be [batch]={bsz}, got {tuple(seq_lens.shape)}")
    if paged and (block_table.dim() != 2 or block_table.shape[0] != bsz):
        raise ValueError(f"block_table must be [batch={bsz}, max_blocks], got {tuple(block_table.shape)}")
    if cache_leftpad is not None:
        if paged:
            raise ValueError("cache_leftpad applies to the dense layout only, not with a block_table")
        if cache_leftpad.shape != (bsz,):
            raise ValueError(f"cache_leftpad must be [batch]={bsz}, got {tuple(cache_leftpad.shape)}")
    return h_kv, paged


def _check_lengths(lens: list[int], k_cache, block_table, leftpad: list[int] | None) -> None:
    """Value checks (they need the lengths on the host, so only the reference path runs them)."""
    if any(x < 0 for x in lens):
        raise ValueError(f"seq_lens must be >= 0, got {lens}")
    if block_table is None:
        cap = k_cache.shape[2]
        pads = leftpad or [0] * len(lens)
        bad = [b for b, (x, p) in enumerate(zip(lens, pads, strict=True)) if p < 0 or x + p > cap]
        if bad:
            raise ValueError(f"seq_lens (+ cache_leftpad) exceed the dense cache length {cap} for batch rows {bad}")
    else:
        page = k_cache.shape[1]
        need = max((-(-x // page) for x in lens), default=0)
        if need > block_table.shape[1]:
            raise ValueError(f"seq_lens need {need} blocks but block_table has {block_table.shape[1]} columns")


def _on_kernel_device(q: torch.Tensor) -> bool:
    """Whether ``backend="auto"`` should use the compiled kernel (after its self-check) for these tensors."""
    return q.is_cuda


def _run_triton(q, k_cache, v_cache, seq_lens, *, scale, block_n, num_programs, block_table, cache_leftpad):
    try:
        from .triton_kernel import lean_decode_triton
    except ImportError as err:  # pragma: no cover - triton ships with torch on Linux
        raise RuntimeError("Triton is not installed: pip install triton") from err
    return lean_decode_triton(
        q, k_cache, v_cache, seq_lens, scale=scale, block_n=block_n, num_programs=num_programs,
        block_table=block_table, cache_leftpad=cache_leftpad,
    )  # fmt: skip


def _checked_kernel(q, k_cache, v_cache, seq_lens, *, num_programs=None, block_table=None):
    """The kernel as the self-check calls it: default scale and tile size, the given grid."""
    return lean_attention_decode(q, k_cache, v_cache, seq_lens, block_table=block_table, num_programs=num_programs,
                                 backend="triton")  # fmt: skip


def lean_attention_decode(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    seq_lens: torch.Tensor | Sequence[int],
    *,
    scale: float | None = None,
    block_table: torch.Tensor | None = None,
    num_programs: int | None = None,
    backend: str = "auto",
    block_n: int | None = None,
    cache_leftpad: torch.Tensor | None = None,
) -> torch.Tensor:
    """Decode attention, one query token per sequence, scheduled stream-K style.

    Args:
        q: [B, H_q, d] queries (fp16/bf16/fp32; accumulation is fp32).
        k_cache, v_cache: dense [B, H_kv, L, d], or paged [num_blocks, block_size, H_kv, d] (vLLM's layout)
            when ``block_table`` is given. H_q must be a multiple of H_kv (GQA/MQA).
        seq_lens: [B] number of valid keys per sequence (positions 0..len-1; a length of 0 gives zeros).
        scale: softmax scale, default 1/sqrt(d).
        block_table: [B, max_blocks] physical block of each logical block (paged layout).
        num_programs: persistent grid size G (default: SM count on CUDA, CPU count elsewhere).
        backend: "triton" (CUDA, or CPU under TRITON_INTERPRET=1, unchecked), "vectorized" (batched PyTorch),
            "reference" (the per-segment PyTorch specification), "sdpa" (torch SDPA, no stream-K), or "auto":
            on CUDA tensors the Triton kernel once its self-check for this (dtype, head_dim, group, layout) has
            passed, else SDPA; on other devices "vectorized".
        block_n: keys per tile (default :func:`default_block_n`).
        cache_leftpad: [B] dense layout only: sequence b's keys start at index cache_leftpad[b] (left padding,
            as FlashAttention's ``cache_leftpad``).

    Returns: [B, H_q, d] in q's dtype.
    """
    call = prepare_decode(
        q, k_cache, v_cache, seq_lens, scale=scale, block_table=block_table, num_programs=num_programs,
        backend=backend, block_n=block_n, cache_leftpad=cache_leftpad,
    )  # fmt: skip
    return run_decode(call, q, k_cache, v_cache)


@dataclass(frozen=True)
class DecodeCall:
    """A checked and resolved :func:`lean_attention_decode` call, before any attention math.

    Everything in it depends only on shapes, dtypes, the lengths and the options, so the transformers hook
    prepares it once per decode step and runs it for every layer (:func:`run_decode`).
    """

    backend: str  # resolved: "triton", "vectorized", "reference" or "sdpa"
    seq_lens: torch.Tensor
    scale: float
    block_n: int
    num_programs: int
    block_table: torch.Tensor | None
    cache_leftpad: torch.Tensor | None
    lens: tuple[int, ...] | None  # host copies, for the PyTorch paths
    pads: tuple[int, ...] | None


def prepare_decode(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    seq_lens: torch.Tensor | Sequence[int],
    *,
    scale: float | None = None,
    block_table: torch.Tensor | None = None,
    num_programs: int | None = None,
    backend: str = "auto",
    block_n: int | None = None,
    cache_leftpad: torch.Tensor | None = None,
) -> DecodeCall:
    """Validate the inputs (``ValueError`` naming the input) and resolve the backend; arguments as
    :func:`lean_attention_decode`. On CUDA with ``backend="auto"`` this is where the first-use self-check runs."""
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    if not isinstance(seq_lens, torch.Tensor):
        seq_lens = torch.tensor(list(seq_lens), dtype=torch.int32, device=q.device)
    h_kv, paged = _validate(q, k_cache, v_cache, seq_lens, block_table, cache_leftpad)
    d = q.shape[-1]
    scale = float(d**-0.5 if scale is None else scale)
    block_n = block_n or default_block_n(d, q.dtype)
    if block_n < 16 or block_n & (block_n - 1):
        raise ValueError(f"block_n must be a power of two >= 16, got {block_n}")
    num_programs = num_programs or default_num_programs(q.device)
    if backend == "auto":
        if _on_kernel_device(q):
            from .selfcheck import kernel_ok

            group = q.shape[1] // h_kv
            passed = kernel_ok(_checked_kernel, device=q.device, dtype=q.dtype, head_dim=d, group=group, paged=paged)
            backend = "triton" if passed else "sdpa"
        else:
            backend = "vectorized"
    lens = pads = None
    if backend in ("vectorized", "reference"):  # these read the lengths on the host
        lens = tuple(int(x) for x in seq_lens.tolist())
        pads = tuple(int(x) for x in cache_leftpad.tolist()) if cache_leftpad is not None else None
        _check_lengths(list(lens), k_cache, block_table, list(pads) if pads is not None else None)
    return DecodeCall(backend, seq_lens, scale, block_n, num_programs, block_table, cache_leftpad, lens, pads)


def run_decode(call: DecodeCall, q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor) -> torch.Tensor:
    """Run a prepared call on q/k/v of the shapes it was prepared for."""
    if call.backend == "vectorized":
        return lean_decode_vectorized(
            q, k_cache, v_cache, call.lens, scale=call.scale, block_n=call.block_n, num_programs=call.num_programs,
            block_table=call.block_table, cache_leftpad=call.pads,
        )  # fmt: skip
    if call.backend == "triton":
        return _run_triton(
            q, k_cache, v_cache, call.seq_lens, scale=call.scale, block_n=call.block_n,
            num_programs=call.num_programs, block_table=call.block_table, cache_leftpad=call.cache_leftpad,
        )  # fmt: skip
    if call.backend == "sdpa":
        return sdpa_reference(q, k_cache, v_cache, call.seq_lens, scale=call.scale, block_table=call.block_table,
                              cache_leftpad=call.cache_leftpad)  # fmt: skip
    from .reference import lean_decode_reference

    return lean_decode_reference(
        q, k_cache, v_cache, list(call.lens), scale=call.scale, block_n=call.block_n, num_programs=call.num_programs,
        block_table=call.block_table, cache_leftpad=list(call.pads) if call.pads is not None else None,
    )  # fmt: skip
