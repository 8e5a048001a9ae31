"""The compiled Triton kernels on a CUDA GPU: bf16 (which the CPU interpreter computes wrongly), realistic shapes,
the persistent grid at the SM count, paged vs dense, and the baselines. Skipped without a GPU."""

from __future__ import annotations

import pytest
import torch

from prover.attention import lean_attention_decode
from prover.attention.cases import random_dense, sdpa_truth, to_paged

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the Triton kernels compile for CUDA)"),
]


def _cuda(*ts):
    return [t.cuda() for t in ts]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
@pytest.mark.parametrize("d", [64, 128, 256])
def test_triton_matches_sdpa_on_gpu(dtype, d):
    lens = [4099, 1, 777, 2048]
    q, k, v = random_dense(4, 32, 8, d, max(lens), dtype=dtype, seed=d)
    truth = sdpa_truth(q, k, v, lens)
    out = lean_attention_decode(*_cuda(q, k, v), torch.tensor(lens).cuda(), backend="triton")
    tol = 2e-2 if dtype == torch.bfloat16 else 5e-3 if dtype == torch.float16 else 1e-4
    torch.testing.assert_close(out.double().cpu(), truth, atol=tol, rtol=tol)


@pytest.mark.parametrize("num_programs", [1, 7, 132, 1000])
def test_grid_sizes_and_paged_on_gpu(num_programs):
    lens = [3000, 17, 1025]
    q, k, v = random_dense(3, 16, 2, 128, max(lens), dtype=torch.bfloat16, seed=num_programs)
    kc, vc, table = to_paged(k, v, lens, page=16)
    seq = torch.tensor(lens).cuda()
    dense = lean_attention_decode(*_cuda(q, k, v), seq, num_programs=num_programs, backend="triton")
    paged = lean_attention_decode(*_cuda(q, kc, vc), seq, block_table=table.cuda(), num_programs=num_programs,
                                  backend="triton")  # fmt: skip
    torch.testing.assert_close(paged, dense, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(dense.double().cpu(), sdpa_truth(q, k, v, lens), atol=2e-2, rtol=2e-2)
    again = lean_attention_decode(*_cuda(q, k, v), seq, num_programs=num_programs, backend="triton")
    assert torch.equal(again, dense)  # split-order merge: run to run deterministic


def test_baselines_on_gpu():
    from prover.attention.triton_kernel import fa2_decode_triton, split_k_decode_triton

    lens = [5000, 300]
    q, k, v = random_dense(2, 32, 8, 128, max(lens), dtype=torch.bfloat16, seed=1)
    truth = sdpa_truth(q, k, v, lens)
    qc, kc, vc = _cuda(q, k, v)
    seq = torch.tensor(lens, dtype=torch.int32).cuda()
    for out in (
        split_k_decode_triton(qc, kc, vc, seq, scale=128**-0.5, block_n=128, num_splits=9),
        fa2_decode_triton(qc, kc, vc, seq, scale=128**-0.5, block_n=128),
    ):
        torch.testing.assert_close(out.double().cpu(), truth, atol=2e-2, rtol=2e-2)
