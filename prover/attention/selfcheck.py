"""First-use self-check of a compiled attention kernel against SDPA, with a fallback to SDPA when it fails.

The Triton kernel is compiled per (dtype, head_dim, GQA group, layout) specialisation, and a wrong compile (a
codegen bug, an untested architecture, bf16 rounding the CPU interpreter cannot reproduce) would otherwise
produce plausible garbage silently. So the first time :func:`prover.attention.lean_attention_decode` is asked to
run the kernel for such a combination on a device, :func:`kernel_ok` runs it once on a small random case of that
shape (two sequences, one of them split across programs, a few milliseconds), and compares it with
``torch.nn.functional.scaled_dot_product_attention`` on the same data. If it raises (compile or launch failure) or
disagrees beyond the dtype's tolerance, one warning is logged and SDPA serves that combination from then on.

Every outcome is kept (:func:`attention_report`), so the run manifest / the server's ``/health`` can say which
attention actually ran.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

__all__ = ["CheckOutcome", "TOLERANCE", "attention_report", "kernel_ok", "reset", "run_check"]

log = logging.getLogger(__name__)

#: Max |kernel - SDPA| allowed on the check case (unit-variance random data), per dtype: a few ulps of the output
#: dtype at magnitude ~1, far below what a wrong kernel produces (errors of order 1).
TOLERANCE = {torch.float32: 1e-4, torch.float16: 5e-3, torch.bfloat16: 3e-2}

Kernel = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class CheckOutcome:
    """One combination's result. ``backend`` is what serves it from now on: the kernel's name, or ``"sdpa"``."""

    device: str
    dtype: str
    head_dim: int
    group: int
    paged: bool
    ok: bool
    backend: str
    max_err: float | None
    tolerance: float
    error: str | None = None


_LOCK = threading.Lock()
_OUTCOMES: dict[tuple, CheckOutcome] = {}


def _key(device: torch.device, dtype: torch.dtype, head_dim: int, group: int, paged: bool) -> tuple:
    return (str(device), dtype, head_dim, group, paged)


def run_check(
    kernel: Kernel,
    *,
    device: torch.device,
    dtype: torch.dtype,
    head_dim: int,
    group: int,
    paged: bool,
    name: str = "triton",
) -> CheckOutcome:
    """Run ``kernel`` (``lean_attention_decode``'s signature, minus ``backend``) once on a small random case and
    compare with SDPA. Never raises for a kernel failure: that is an outcome."""
    from .baselines import sdpa_reference
    from .cases import random_dense, to_paged

    tol = TOLERANCE[dtype]
    h_kv, lens = 2, [300, 37]  # ragged; with 3 programs the long sequence's heads are split (merge exercised)
    q, k, v = random_dense(len(lens), h_kv * group, h_kv, head_dim, max(lens), dtype=dtype, seed=head_dim + group)
    seq = torch.tensor(lens, dtype=torch.int32)
    # the truth in fp32 on the same (rounded) inputs, so the tolerance measures the kernel alone
    truth = sdpa_reference(*(t.to(device).float() for t in (q, k, v)), seq.to(device))
    kwargs: dict = {}
    if paged:
        k, v, table = to_paged(k, v, lens, page=16)
        kwargs["block_table"] = table.to(device)
    err: str | None = None
    max_err: float | None = None
    try:
        ok = True
        for programs in (3, None):  # a small grid (heads split, merge exercised) and the device's default grid
            out = kernel(q.to(device), k.to(device), v.to(device), seq.to(device), num_programs=programs, **kwargs)
            if out.shape != truth.shape:
                ok, err = False, f"{name} returned shape {tuple(out.shape)}, expected {tuple(truth.shape)}"
                break
            e = float((out.float() - truth).abs().max())
            max_err = e if max_err is None or not e <= max_err else max_err  # keeps a NaN
            if not e <= tol:  # NaN fails too
                ok, err = False, f"max |{name} - sdpa| = {e:.3g} > {tol:g} (num_programs={programs or 'default'})"
                break
    except Exception as e:  # noqa: BLE001 - a compile/launch failure of any kind means: do not use the kernel
        ok, err = False, f"{type(e).__name__}: {e}"
    return CheckOutcome(
        device=str(device), dtype=str(dtype).removeprefix("torch."), head_dim=head_dim, group=group, paged=paged,
        ok=ok, backend=name if ok else "sdpa", max_err=max_err, tolerance=tol, error=err,
    )  # fmt: skip


def kernel_ok(
    kernel: Kernel,
    *,
    device: torch.device,
    dtype: torch.dtype,
    head_dim: int,
    group: int,
    paged: bool,
    name: str = "triton",
) -> bool:
    """Whether ``kernel`` may serve this combination; checks it the first time (one warning if it fails)."""
    key = _key(device, dtype, head_dim, group, paged)
    outcome = _OUTCOMES.get(key)
    if outcome is None:
        with _LOCK:
            outcome = _OUTCOMES.get(key)
            if outcome is None:
                outcome = run_check(kernel, device=device, dtype=dtype, head_dim=head_dim, group=group, paged=paged,
                                    name=name)  # fmt: skip
                _OUTCOMES[key] = outcome
                if not outcome.ok:
                    log.warning(
                        "LeanAttention self-check failed on %s for dtype=%s head_dim=%d group=%d paged=%s (%s); "
                        "using PyTorch SDPA for this combination from now on",
                        outcome.device, outcome.dtype, head_dim, group, paged, outcome.error,
                    )  # fmt: skip
    return outcome.ok


def attention_report() -> list[dict]:
    """Every self-check outcome so far, as JSON-ready dicts (empty when no compiled kernel has been asked for)."""
    return [asdict(o) for o in _OUTCOMES.values()]


def reset() -> None:
    """Forget every outcome (tests; or after changing the kernel in a live process)."""
    with _LOCK:
        _OUTCOMES.clear()
