"""The PyTorch LeanAttention (same schedule and merge as the kernel) against SDPA, dense and paged; the
baselines; the dispatcher's input checks."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prover.attention import lean_attention_decode
from prover.attention.baselines import fa2_decode_torch, sdpa_decode, split_k_decode_torch
from prover.attention.cases import random_dense, sdpa_truth, to_paged
from prover.attention.reference import Partial, merge_partials


@settings(max_examples=25, deadline=None)
@given(
    bsz=st.integers(1, 4),
    h_kv=st.sampled_from([1, 2, 4]),
    group=st.sampled_from([1, 2, 4, 8]),
    d=st.sampled_from([16, 64, 128]),
    block_n=st.sampled_from([16, 32, 64]),
    g=st.integers(1, 48),
    backend=st.sampled_from(["reference", "vectorized", "auto"]),
    data=st.data(),
)
def test_reference_matches_sdpa(bsz, h_kv, group, d, block_n, g, backend, data):
    length = data.draw(st.integers(1, 300))
    lens = data.draw(st.lists(st.integers(0, length), min_size=bsz, max_size=bsz))
    q, k, v = random_dense(bsz, h_kv * group, h_kv, d, length, seed=len(lens) + length)
    out = lean_attention_decode(q, k, v, lens, backend=backend, block_n=block_n, num_programs=g)
    torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, lens), atol=2e-5, rtol=1e-4)


@settings(max_examples=20, deadline=None)
@given(
    lens=st.lists(st.integers(0, 200), min_size=1, max_size=4),
    page=st.sampled_from([16, 32]),
    g=st.integers(1, 24),
    backend=st.sampled_from(["reference", "vectorized"]),
)
def test_paged_equals_dense(lens, page, g, backend):
    q, k, v = random_dense(len(lens), 8, 2, 64, max(1, max(lens)), seed=sum(lens))
    kc, vc, table = to_paged(k, v, lens, page)
    dense = lean_attention_decode(q, k, v, lens, backend=backend, block_n=16, num_programs=g)
    paged = lean_attention_decode(q, kc, vc, lens, block_table=table, backend=backend, block_n=16, num_programs=g)
    torch.testing.assert_close(paged, dense, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(dense.double(), sdpa_truth(q, k, v, lens), atol=2e-5, rtol=1e-4)
    for b, n in enumerate(lens):
        if n == 0:
            assert torch.count_nonzero(dense[b]) == 0  # no keys: zeros, not NaN


BACKENDS = pytest.mark.parametrize("backend", ["reference", "vectorized"])


@BACKENDS
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_accumulate_in_fp32(dtype, backend):
    q, k, v = random_dense(2, 8, 2, 128, 257, dtype=dtype)
    lens = [257, 130]
    out = lean_attention_decode(q, k, v, lens, backend=backend, block_n=32, num_programs=5)
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, lens), atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("backend", ["reference", "vectorized", "sdpa"])
def test_mqa_head_dim_256_scale_and_leftpad(backend):
    q, k, v = random_dense(2, 8, 1, 256, 90)
    lens, pad = [50, 90], torch.tensor([40, 0])
    out = lean_attention_decode(
        q, k, v, lens, scale=0.3, backend=backend, block_n=16, num_programs=3, cache_leftpad=pad
    )
    torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, lens, scale=0.3, leftpad=pad), atol=2e-5, rtol=1e-4)


def test_merge_is_associative_and_exact():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(3, 40, generator=g) * 4
    v = torch.randn(40, 8, generator=g)

    def part(lo, hi):
        m = s[:, lo:hi].amax(1)
        p = torch.exp(s[:, lo:hi] - m[:, None])
        return Partial(m, p.sum(1), p @ v[lo:hi])

    a, b, c = part(0, 7), part(7, 29), part(29, 40)
    left = merge_partials(merge_partials(a, b), c).output()
    right = merge_partials(a, merge_partials(c, b)).output()
    truth = torch.softmax(s, 1) @ v
    torch.testing.assert_close(left, truth, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(right, truth, atol=1e-6, rtol=1e-5)


def test_baselines_match_sdpa():
    q, k, v = random_dense(3, 8, 2, 64, 300)
    lens = torch.tensor([300, 1, 77])
    truth = sdpa_truth(q, k, v, lens.tolist())
    scale = 64**-0.5
    for out in (
        split_k_decode_torch(q, k, v, lens, scale=scale, num_splits=7),
        fa2_decode_torch(q, k, v, lens, scale=scale),
        sdpa_decode(q, k, v, lens),
    ):
        torch.testing.assert_close(out.double(), truth, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"q": torch.zeros(2, 4, 1, 64)}, "q must be"),
        ({"k": torch.zeros(2, 3, 10, 64), "v": torch.zeros(2, 3, 10, 64)}, "multiple of num_kv_heads"),
        ({"k": torch.zeros(2, 2, 10, 32), "v": torch.zeros(2, 2, 10, 32)}, "head_dim mismatch"),
        ({"lens": [11, 3]}, "exceed the dense cache length"),
        ({"lens": [1, 2, 3]}, "seq_lens must be"),
        ({"backend": "cuda"}, "backend must be"),
        ({"q": torch.zeros(2, 4, 64, dtype=torch.float16)}, "share one dtype"),
        ({"block_n": 24}, "block_n"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, match):
    args = {"q": torch.zeros(2, 4, 64), "k": torch.zeros(2, 2, 10, 64), "v": torch.zeros(2, 2, 10, 64),
            "lens": [10, 3], "backend": "reference", "block_n": 16}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        lean_attention_decode(args["q"], args["k"], args["v"], args["lens"], backend=args["backend"],
                              block_n=args["block_n"])  # fmt: skip


def test_paged_block_table_too_short_is_reported():
    q, k, v = random_dense(1, 2, 1, 16, 40)
    kc, vc, table = to_paged(k, v, [40], 16)
    with pytest.raises(ValueError, match="block_table"):
        lean_attention_decode(q, kc, vc, [64], block_table=table, backend="reference", block_n=16)


def test_triton_on_cpu_without_interpreter_says_what_to_do(monkeypatch):
    import prover.attention.triton_kernel as kernels

    monkeypatch.setattr(kernels, "INTERPRETED", False)  # as in a process started without TRITON_INTERPRET=1
    q, k, v = random_dense(1, 2, 1, 16, 20)
    with pytest.raises(RuntimeError, match="need a CUDA GPU; to run them on CPU tensors set TRITON_INTERPRET=1"):
        lean_attention_decode(q, k, v, [20], backend="triton", block_n=16)
