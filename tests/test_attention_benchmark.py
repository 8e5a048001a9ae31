"""benchmarks/decode_attention.py on CPU: it runs, checks every method against SDPA, prints ratios, resumes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("bench_decode_attention", REPO / "benchmarks" / "decode_attention.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SMALL = ["--contexts", "70", "1k", "--batches", "2", "--heads-q", "4", "--heads-kv", "2", "--head-dim", "32",
         "--block-n", "16", "--num-programs", "3", "--reps", "1", "--ragged", "--threads", "0"]


def test_prints_ratios_and_resumes_from_its_jsonl(tmp_path, capsys):
    bench = _load()
    out = tmp_path / "rows.jsonl"
    assert bench.main([*SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "split_k/lean" in printed and "fa2/lean" in printed and "sdpa/lean" in printed
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["batch"], r["context"]) for r in rows] == [(2, 70), (2, 1024)]
    for r in rows:
        for m in ("lean", "split_k", "fa2"):
            assert r[f"{m}_max_err"] < 1e-4  # every method computes the same attention as SDPA
        assert r["split_k_over_lean"] == pytest.approx(r["split_k_s"] / r["lean_s"])
    assert bench.main([*SMALL, "--out", str(out)]) == 0  # rerun: both rows are already there
    assert capsys.readouterr().out.count("already in") == 2
    assert len(out.read_text().splitlines()) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contexts", "0"], "must be at least 1"),
        (["--contexts", "lots"], "bad context length 'lots'"),
        (["--batches", "0"], "--batches must be at least 1"),
        (["--heads-q", "6", "--heads-kv", "4"], "must be a multiple of --heads-kv"),
        (["--out", "."], "is a folder"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        _load().main(args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
