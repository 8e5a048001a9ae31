"""benchmarks/tinylm_step.py, small and bounded: both losses train the same model on the same batches and agree."""

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_step_benchmark_times_both_losses_and_reports_their_ratio(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_tinylm_step", REPO / "benchmarks" / "tinylm_step.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "step.json"
    result = bench.main(["--rounds", "1", "--steps", "2", "--threads", "1", "--out", str(out),
                         "arch.hidden_size=32", "arch.intermediate_size=64", "arch.num_hidden_layers=1",
                         "tokenizer.vocab_size=300"])
    assert result["baseline"] == "full_projection" and set(result["seconds_per_step"]) == {"full_projection",
                                                                                           "label_positions"}
    assert result["speedup"] > 0 and result["tokens_per_batch"] > 0 and out.is_file()
