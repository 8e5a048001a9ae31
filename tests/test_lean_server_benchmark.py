"""benchmarks/lean_server.py, tiny and bounded: it runs both sides in one run and prints the ratios."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("bench_lean_server", REPO / "benchmarks" / "lean_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prints_overhead_and_throughput_ratio(capsys, tmp_path):
    out = tmp_path / "bench.jsonl"
    figures = _load().main(["--requests", "12", "--latency-requests", "4", "--concurrency", "4", "--workers", "1",
                            "--work-ms", "0", "--server", "thread", "--out", str(out)])
    text = capsys.readouterr().out
    assert "p50 overhead per candidate:" in text and "throughput ratio in-process/server:" in text
    assert math.isclose(figures["throughput_ratio"], figures["rps_inprocess"] / figures["rps_server"])
    assert figures["p50_overhead_ms"] == figures["p50_server_ms"] - figures["p50_inprocess_ms"]
    assert out.read_text().count("\n") == 1
