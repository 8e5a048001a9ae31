"""benchmarks/serving.py on CPU: the four measurements run on one random tiny model and print their ratios."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("bench_serving", REPO / "benchmarks" / "serving.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def restore_threads():
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


def test_prints_throughput_and_ratios(capsys, restore_threads):
    _load().main(["--batch", "2", "--tokens", "3", "--repeats", "1", "--threads", "1", "--batch-wait-ms", "5",
                  "--concurrency", "1", "3"])
    out = capsys.readouterr().out
    for name in ("hf-generate (baseline, sdpa)", "engine in-process (sdpa)", "server via openai client (sdpa)",
                 "engine in-process (lean_attention)"):
        assert re.search(rf"^{re.escape(name)}\s+\d+\.\d\s+\d+\.\d\dx$", out, re.M), name
    assert re.search(r"^server slowdown vs hf-generate: \d+\.\d\dx \(target <= 1\.30: (met|NOT met)\)", out, re.M)
    assert re.search(r"server batches: \d+ for \d+ requests", out)
    assert re.search(r"^lean_attention / sdpa decode throughput \(engine\): \d+\.\d\dx \(target >= 1\.00: (met|NOT met)",
                     out, re.M)
    rows = re.findall(r"^\s+(\d+)\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\dx\s+\d+\.\d\dx$", out, re.M)
    assert rows == ["1", "3"]  # one row per concurrency level
    assert re.search(r"^at 3 concurrent: server / one-at-a-time hf-generate = \d+\.\d\dx \(target >= 2\.00: (met|NOT "
                     r"met)\); hf-batched / server = \d+\.\d\dx \(target <= 1\.30: (met|NOT met)\)$", out, re.M)


@pytest.mark.parametrize(("args", "message"), [(["--batch", "0"], "--batch must be at least 1"),
                                               (["--concurrency", "8", "0"], "--concurrency levels must be at least 1"),
                                               (["--model", "/no/such/model"], "not a transformers checkpoint")])
def test_bad_arguments_are_usage_errors(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        _load().main(args)
    assert exc.value.code == 2 and message in capsys.readouterr().err
