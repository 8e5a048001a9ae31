"""The Triton kernels, run on CPU tensors under the Triton interpreter (TRITON_INTERPRET=1).

``triton.jit`` decides at decoration time whether a function is interpreted, and mixing interpreted kernels with a
triton imported in compiled mode fails ("Cannot call @triton.jit'd outside of the scope of a kernel"). So the
kernel tests run in a child pytest process started with TRITON_INTERPRET=1 from the very beginning: in the parent,
this file defines one test that launches the child on this same file; in the child, it defines the kernel tests.
The interpreter runs programs strictly one after another, which is exactly the case the last-finisher merge must
survive (a spin-waiting "host" program would hang here). bf16 is computed wrongly by the interpreter, so it is
covered by the GPU tests only.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prover.attention import lean_attention_decode
from prover.attention.cases import random_dense, sdpa_truth, to_paged

CHILD = os.environ.get("PROOFFORGE_TRITON_CHILD") == "1"
REPO = Path(__file__).resolve().parents[1]
EXPECTED_CHILD_TESTS = 15

if not CHILD:

    def test_triton_kernels_under_interpreter():
        env = dict(os.environ, TRITON_INTERPRET="1", PROOFFORGE_TRITON_CHILD="1")
        cmd = [sys.executable, "-m", "pytest", str(Path(__file__).resolve()), "-q", "-p", "no:cacheprovider",
               "-p", "no:randomly", "--durations=5"]  # fmt: skip
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=280)
        print(proc.stdout[-4000:], proc.stderr[-2000:])
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        passed = re.search(r"(\d+) passed", proc.stdout)
        assert passed and int(passed.group(1)) == EXPECTED_CHILD_TESTS, proc.stdout[-2000:]

else:
    from prover.attention import triton_kernel as kernels

    assert kernels.INTERPRETED

    CASES = {
        # name: (lens, h_q, h_kv, d, block_n, num_programs, dtype)
        "ragged_len1_non_multiple": ([1, 37, 100], 4, 2, 64, 16, 5, torch.float32),
        "one_head_over_many_programs": ([300], 2, 1, 64, 16, 9, torch.float32),
        "more_programs_than_tiles": ([20, 5], 4, 2, 64, 16, 16, torch.float32),
        "mqa": ([70, 33], 8, 1, 64, 16, 4, torch.float32),
        "gqa_fp16": ([90, 17], 4, 2, 64, 16, 3, torch.float16),
        "d128_mha": ([50, 3], 2, 2, 128, 16, 3, torch.float32),
        "d256": ([40], 2, 1, 256, 16, 3, torch.float32),
        "zero_length_row": ([0, 45], 4, 2, 64, 16, 4, torch.float32),
        "empty_rows_in_the_middle": ([5, 0, 0, 33], 4, 2, 32, 16, 7, torch.float32),
    }


    @pytest.mark.parametrize("case", list(CASES))
    def test_lean_kernel_matches_sdpa(case):
        lens, h_q, h_kv, d, block_n, g, dtype = CASES[case]
        q, k, v = random_dense(len(lens), h_q, h_kv, d, max(lens), dtype=dtype, seed=len(case))
        out = lean_attention_decode(q, k, v, lens, backend="triton", block_n=block_n, num_programs=g)
        assert out.dtype == dtype
        tol = 2e-5 if dtype == torch.float32 else 2e-3
        torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, lens), atol=tol, rtol=tol)
        ref = lean_attention_decode(q, k, v, lens, backend="reference", block_n=block_n, num_programs=g)
        torch.testing.assert_close(out, ref, atol=tol, rtol=tol)


    def test_paged_kernel_equals_dense_kernel():
        lens = [70, 1, 33]
        q, k, v = random_dense(3, 4, 2, 64, 70, seed=3)
        kc, vc, table = to_paged(k, v, lens, page=16)
        # a 32-key tile spans two non-adjacent pages
        paged = lean_attention_decode(q, kc, vc, lens, block_table=table, backend="triton", block_n=32, num_programs=5)
        dense = lean_attention_decode(q, k, v, lens, backend="triton", block_n=32, num_programs=5)
        torch.testing.assert_close(paged, dense, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(paged.double(), sdpa_truth(q, k, v, lens), atol=2e-5, rtol=1e-4)


    def test_leftpad_and_scale():
        q, k, v = random_dense(2, 4, 2, 64, 60, seed=4)
        lens, pad = [25, 60], torch.tensor([35, 0])
        out = lean_attention_decode(
            q, k, v, lens, scale=0.2, cache_leftpad=pad, backend="triton", block_n=16, num_programs=3
        )
        torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, lens, scale=0.2, leftpad=pad), atol=2e-5, rtol=1e-4)


    def test_baseline_kernels_match_sdpa():
        lens = [60, 1, 47]
        q, k, v = random_dense(3, 4, 2, 64, 60, seed=5)
        truth = sdpa_truth(q, k, v, lens)
        seq = torch.tensor(lens, dtype=torch.int32)
        split = kernels.split_k_decode_triton(q, k, v, seq, scale=0.125, block_n=16, num_splits=3)
        fa2 = kernels.fa2_decode_triton(q, k, v, seq, scale=0.125, block_n=16)
        torch.testing.assert_close(split.double(), truth, atol=2e-5, rtol=1e-4)
        torch.testing.assert_close(fa2.double(), truth, atol=2e-5, rtol=1e-4)


    def test_flash_decoding_split_heuristic():
        from prover.attention.triton_kernel import flash_decoding_num_splits

        assert flash_decoding_num_splits(128, 1000, 132) == 1  # heads already fill the GPU
        s = flash_decoding_num_splits(8, 1000, 132)
        assert 1 < s <= 128 and 8 * s >= 0.8 * 132 * 0.85


    @settings(max_examples=4, deadline=None)
    @given(
        lens=st.lists(st.integers(1, 80), min_size=1, max_size=3),
        h_kv=st.sampled_from([1, 2]),
        group=st.sampled_from([1, 3, 4]),
        g=st.integers(1, 12),
    )
    def test_random_shapes(lens, h_kv, group, g):
        q, k, v = random_dense(len(lens), h_kv * group, h_kv, 32, max(lens), seed=sum(lens))
        out = lean_attention_decode(q, k, v, lens, backend="triton", block_n=16, num_programs=g)
        torch.testing.assert_close(out.double(), sdpa_truth(q, k, v, lens), atol=2e-5, rtol=1e-4)

    def test_split_order_merge_is_deterministic():
        q, k, v = random_dense(2, 4, 2, 64, 120, seed=6)
        runs = [lean_attention_decode(q, k, v, [120, 70], backend="triton", block_n=16, num_programs=7)
                for _ in range(2)]  # fmt: skip
        assert torch.equal(runs[0], runs[1])
        # the merging programs left every arrival counter at zero, so the reused buffer is ready for the next launch
        assert all(int(c.abs().sum()) == 0 for c in kernels._COUNTER_CACHE.values())
