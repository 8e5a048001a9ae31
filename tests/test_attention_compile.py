"""The LeanAttention kernel compiles for an H200 (sm_90) down to a cubin on this CPU-only machine (triton bundles
ptxas): its shared memory fits an SM (even an A100's), and its PTX carries the acquire-release ticket atomic the
last-finisher merge relies on. This covers the compiled path's typing and resource limits, which the CPU interpreter
does not check. Runs in a child process with TRITON_INTERPRET unset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
A100_MAX_SHARED = 163 * 1024  # the smaller of the A100 / H100-H200 per-block opt-in limits


def test_lean_kernel_compiles_for_sm90_within_shared_memory():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_DEFAULT_FP_FUSION"] = "1"
    variants = ["lean_bf16_d128_paged", "lean_fp32_d256_leftpad"]  # the common case and the largest tile
    proc = subprocess.run(
        [sys.executable, "-m", "prover.attention.compile_check", "--arch", "90", "--only", *variants],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    infos = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert [i["name"] for i in infos] == variants
    for info in infos:
        assert info["has_cubin"] and info["acq_rel_ticket"], info
        assert 0 < info["shared_bytes"] <= A100_MAX_SHARED, info
