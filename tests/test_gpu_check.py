"""benchmarks/gpu_check.py --smoke: every part of the GPU script runs end to end on tiny shapes (on a CPU through
the Triton interpreter, in a child process so that the interpreter is on from the first triton import) and writes
its report. It tests the script's plumbing, not a GPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_smoke_run_writes_every_part_of_the_report(tmp_path):
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--smoke", "--out-dir",
                           str(tmp_path)], env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = (tmp_path / "RESULTS-gpu.md").read_text()
    for heading in ("## (a) Correctness", "## (b) Decode kernel timings", "## (c) Decode tokens/s"):
        assert heading in report
    assert "**Correctness: all passed.**" in report and "**FAIL**" not in report
    assert "| bfloat16 | 64 | 4 | False | True | triton |" in report  # the self-check ran and passed
    assert report.index("| bfloat16 |") < report.index("| float16 |")  # bf16 is checked first
    assert ">= 2.6x the FA-2-style kernel" in report and "Total" in report
    assert (tmp_path / "RESULTS-gpu.jsonl").read_text().count("\n") == 2  # equal and ragged rows


def test_without_a_gpu_it_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    if "CUDA_VISIBLE_DEVICES" not in env:
        env["CUDA_VISIBLE_DEVICES"] = ""
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py")], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 2 and "no CUDA GPU is visible" in proc.stderr
