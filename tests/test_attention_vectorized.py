"""The vectorized PyTorch LeanAttention: its tensor schedule is the Python schedule, its plans are cached, it is the
CPU default; and the first-use self-check of a compiled kernel, with a wrong kernel injected on CPU."""

from __future__ import annotations

import logging

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import prover.attention as attention
from prover.attention import attention_report, lean_attention_decode, selfcheck
from prover.attention.cases import random_dense, sdpa_truth, to_paged
from prover.attention.schedule import build_schedule
from prover.attention.vectorized import split_plan


@settings(max_examples=40, deadline=None)
@given(
    lens=st.lists(st.integers(0, 200), min_size=1, max_size=5),
    pads=st.lists(st.integers(0, 9), min_size=5, max_size=5),
    h_kv=st.sampled_from([1, 2, 3]),
    block_n=st.sampled_from([16, 32]),
    g=st.integers(1, 40),
)
def test_split_plan_is_the_schedule(lens, pads, h_kv, block_n, g):
    pads = pads[: len(lens)]
    capacity = max(n + p for n, p in zip(lens, pads, strict=True))
    plan = split_plan(tuple(lens), tuple(pads), h_kv, capacity, block_n, g, torch.device("cpu"))
    sched = build_schedule(lens, h_kv, block_n, g)
    assert plan.splits == sched.splits
    expected = torch.full((len(lens) * h_kv, capacity), -1)
    for segs in sched.segments:
        for seg in segs:
            lo = pads[seg.batch] + seg.tile_start * block_n
            hi = pads[seg.batch] + min(seg.tile_end * block_n, lens[seg.batch])
            expected[sched.head_id(seg.batch, seg.kv_head), lo:hi] = seg.split
    assert torch.equal(plan.split_of_pos, expected)


def test_plans_are_cached_per_lengths():
    dev = torch.device("cpu")
    a = split_plan((70, 3), None, 2, 70, 16, 5, dev)
    assert split_plan((70, 3), None, 2, 70, 16, 5, dev) is a  # the next layer of the same step builds nothing
    assert split_plan((71, 4), None, 2, 71, 16, 5, dev) is not a


def test_auto_on_cpu_is_the_vectorized_path(monkeypatch):
    import prover.attention.reference as reference

    def refuse(*args, **kwargs):
        raise AssertionError("auto must not walk the per-segment reference on CPU")

    monkeypatch.setattr(reference, "lean_decode_reference", refuse)
    q, k, v = random_dense(3, 8, 2, 64, 300)
    lens = [300, 0, 129]
    out = lean_attention_decode(q, k, v, lens, num_programs=7, block_n=16)
    torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, lens), atol=2e-5, rtol=1e-4)
    kc, vc, table = to_paged(k, v, lens, 16)
    paged = lean_attention_decode(q, kc, vc, lens, block_table=table, num_programs=7, block_n=16)
    torch.testing.assert_close(paged, out, atol=1e-6, rtol=1e-5)


@pytest.fixture
def kernel_device(monkeypatch):
    """Pretend CPU tensors are on a kernel device, so ``backend="auto"`` self-checks ``_run_triton`` on them."""
    selfcheck.reset()
    monkeypatch.setattr(attention, "_on_kernel_device", lambda q: True)
    yield monkeypatch
    selfcheck.reset()


def _vectorized_kernel(q, k, v, lens, **kw):
    return lean_attention_decode(q, k, v, lens, backend="vectorized", **kw)


def test_a_wrong_kernel_falls_back_to_sdpa_with_one_warning(kernel_device, caplog):
    calls = []

    def wrong(q, k, v, lens, **kw):
        calls.append(1)
        return _vectorized_kernel(q, k, v, lens, **kw) * 1.1  # plausible-looking, 10% off

    kernel_device.setattr(attention, "_run_triton", wrong)
    q, k, v = random_dense(2, 8, 2, 64, 90)
    lens, pad = [50, 90], torch.tensor([40, 0])
    with caplog.at_level(logging.WARNING, logger="prover.attention.selfcheck"):
        for _ in range(3):
            out = lean_attention_decode(q, k, v, lens, cache_leftpad=pad)
            torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, lens, leftpad=pad), atol=2e-5, rtol=1e-4)
    warnings = [r for r in caplog.records if "self-check failed" in r.getMessage()]
    assert len(warnings) == 1 and "dtype=float32 head_dim=64 group=4" in warnings[0].getMessage()
    assert len(calls) == 1  # checked once (it failed on the first grid), then never called again
    [report] = attention_report()
    assert report["backend"] == "sdpa" and not report["ok"] and report["max_err"] > report["tolerance"]


def test_a_kernel_that_raises_or_returns_nan_falls_back(kernel_device, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("PTX JIT compilation failed")

    def nan(q, *args, **kwargs):
        return torch.full_like(q, float("nan"))

    q, k, v = random_dense(1, 4, 2, 32, 40)
    kernel_device.setattr(attention, "_run_triton", broken)
    out = lean_attention_decode(q, k, v, [40])
    torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, [40]), atol=2e-5, rtol=1e-4)
    kernel_device.setattr(attention, "_run_triton", nan)
    kc, vc, table = to_paged(k, v, [40], 16)
    out = lean_attention_decode(q, kc, vc, [40], block_table=table)  # paged: its own combination, checked anew
    torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, [40]), atol=2e-5, rtol=1e-4)
    reports = {r["paged"]: r for r in attention_report()}
    assert "PTX JIT compilation failed" in reports[False]["error"]
    assert reports[True]["backend"] == "sdpa" and "nan" in reports[True]["error"]


def test_a_correct_kernel_is_used_after_its_check(kernel_device):
    calls = []

    def right(q, k, v, lens, **kw):
        calls.append(1)
        return _vectorized_kernel(q, k, v, lens, **kw)

    kernel_device.setattr(attention, "_run_triton", right)
    q, k, v = random_dense(2, 8, 2, 64, 90, dtype=torch.bfloat16)
    for _ in range(2):
        lean_attention_decode(q, k, v, [90, 7])
    assert len(calls) == 2 + 2  # two check launches (small grid, default grid), then one per call
    [report] = attention_report()
    assert report["ok"] and report["backend"] == "triton" and report["dtype"] == "bfloat16"
    assert report["max_err"] <= selfcheck.TOLERANCE[torch.bfloat16]


def test_the_hook_reads_each_steps_mask_once(monkeypatch):
    import prover.attention.hf_integration as hook

    seen, prepared = [], []
    real, real_prepare = hook.mask_to_ranges, hook.prepare_decode
    monkeypatch.setattr(hook, "mask_to_ranges", lambda *a: seen.append(1) or real(*a))
    monkeypatch.setattr(hook, "prepare_decode", lambda *a, **kw: prepared.append(1) or real_prepare(*a, **kw))
    monkeypatch.setattr(hook, "_LAST", hook._LastMask())
    q, k, v = random_dense(2, 4, 2, 16, 30)
    q4 = q[:, :, None, :]

    def step(mask):
        out, _ = hook.lean_attention_forward(None, q4, k, v, mask)
        return out[:, 0]

    mask = (torch.arange(30)[None, :] >= torch.tensor([5, 0])[:, None])[:, None, None, :]
    first = [step(mask) for _ in range(3)]  # three layers of one step: one mask, analysed once
    assert len(seen) == len(prepared) == 1  # and the call checked and resolved once
    truth = sdpa_truth(q, k, v, [25, 30], leftpad=torch.tensor([5, 0]))
    for out in first:
        torch.testing.assert_close(out.double(), truth, atol=2e-5, rtol=1e-4)
    other = (torch.arange(30)[None, :] >= torch.tensor([0, 9])[:, None])[:, None, None, :]
    torch.testing.assert_close(step(other).double(), sdpa_truth(q, k, v, [30, 21], leftpad=torch.tensor([0, 9])),
                               atol=2e-5, rtol=1e-4)  # fmt: skip
    assert len(seen) == 2  # a new step's mask is a new tensor: analysed afresh
    mask[1, ..., :4] = False  # an in-place change (outside inference mode) is seen too
    step(mask)
    assert len(seen) == 3


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.lists(st.booleans(), min_size=12, max_size=12), min_size=1, max_size=4),
       ranged=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=4))
def test_host_mask_scan_equals_the_tensor_scan(rows, ranged):
    import prover.attention.hf_integration as hook

    contiguous = [[lo <= p < lo + n for p in range(12)] for lo, n in ranged]
    for mask_rows in (rows, contiguous):
        mask = torch.tensor(mask_rows)[:, None, None, :]
        on_host = hook.mask_to_ranges(mask, len(mask_rows), 12)
        old, hook._HOST_SCAN = hook._HOST_SCAN, 0
        try:
            on_tensors = hook.mask_to_ranges(mask, len(mask_rows), 12)
        finally:
            hook._HOST_SCAN = old
        assert (on_host is None) == (on_tensors is None)
        if on_host is not None:
            lens, start = on_host
            assert torch.equal(lens, on_tensors[0].to(torch.int32))
            nonempty = lens > 0  # the start of an empty row is not used
            assert torch.equal(start[nonempty], on_tensors[1].to(torch.int32)[nonempty])


@pytest.mark.parametrize("g", [1, 2, 5])
def test_empty_sequences_give_zeros_not_nan(g):
    q, k, v = random_dense(3, 2, 1, 16, 40)
    for lens in ([0, 1, 0], [0, 40, 17]):
        out = lean_attention_decode(q, k, v, lens, backend="vectorized", block_n=16, num_programs=g)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, lens), atol=2e-5, rtol=1e-4)
