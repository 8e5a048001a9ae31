"""The paper-protocol presets: each follows its upstream file's settings (300 s Lean timeout included, our
default staying 60 s) and every summary records the protocol, the Lean limits and the sampling."""

from __future__ import annotations

import json

import pytest

from evals.run import run_eval
from prover.config import compose
from prover.llm.scripted import ScriptedGenerator


@pytest.mark.parametrize("preset,model,samples,source", [
    ("minif2f_wholeproof", "deepseek-ai/DeepSeek-Prover-V1.5-RL", 128,
     "deepseek-ai/DeepSeek-Prover-V1.5 configs/sampling.py"),
    ("goedel", "Goedel-LM/Goedel-Prover-V2-8B", 32, "Goedel-LM/Goedel-Prover-V2 scripts/pipeline.sh"),
    ("minif2f_malot", "deepseek-ai/DeepSeek-Prover-V1.5-RL", 4, "MA-LoT (arXiv 2503.03205)"),
])
def test_paper_presets_follow_their_upstream_settings(preset, model, samples, source):
    cfg = compose("eval", [f"experiment={preset}"])
    assert cfg.model.name == model and cfg.prover.budget.samples == samples
    assert cfg.lean.timeout == 300 and cfg.lean.mathlib is True
    assert cfg.dataset.name == "minif2f_v424" and cfg.dataset.split == "test"
    assert cfg.protocol.source.startswith(source)
    if preset != "minif2f_malot":
        assert cfg.prover.name == "wholeproof" and cfg.prover.sampling.temperature == 1.0
    if preset == "minif2f_wholeproof":  # configs/sampling.py: mode='cot', top_p 0.95, max_tokens 2048
        assert cfg.prover.cot is True and cfg.prover.sampling.top_p == 0.95
        assert cfg.prover.sampling.max_tokens == 2048


def test_default_lean_timeout_stays_60s():
    assert compose("eval").lean.timeout == 60 and compose("eval").protocol is None


def test_summary_records_protocol_lean_limits_and_sampling(tmp_path):
    out = tmp_path / "run"
    # the preset's protocol with a scripted model and the scripted REPL double on two demo problems
    cfg = compose("eval", ["experiment=minif2f_wholeproof", "dataset=demo", "dataset.limit=2", "lean=scripted",
                           "lean.selftest=false", "prover.budget.samples=2", "prover.prompt_style=tiny",
                           "report=false", f"out_dir={out}"])
    run_eval(cfg, generator=ScriptedGenerator(lambda text, sample, call: "  omega\n```"), progress=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["protocol"] == {"name": "DeepSeek-Prover-V1.5 whole-proof sampling",
                                   "source": "deepseek-ai/DeepSeek-Prover-V1.5 configs/sampling.py"}
    assert summary["lean"]["timeout"] == 300 and summary["lean"]["backend"] == "scripted"
    assert summary["sampling"] == {"temperature": 1.0, "top_p": 0.95, "max_tokens": 2048, "seed": None, "stop": []}
    assert summary["budget"]["samples"] == 2


@pytest.mark.parametrize(("app", "group", "preset", "want"), [
    ("formalize", "formalize_experiment", "herald",
     {"n": 128, "prompt_style": "full", "sampling.temperature": 0.99, "sampling.max_tokens": 1024,
      "backtranslate.temperature": 0.1, "judge.temperature": 0.01, "lean.mathlib": True, "model.backend": "openai"}),
    ("formalize", "formalize_experiment", "herald_minif2f", {"mode": "herald_eval", "n": 128, "herald_eval.ks": [1, 8, 128]}),
    ("synth", "synth_experiment", "real_model",
     {"prompt_style": "full", "rounds": 2, "lean.timeout": 300, "lean.mathlib": True, "prove.samples": 64,
      "model.name": "deepseek-ai/DeepSeek-Prover-V1.5-RL", "prover.name": "wholeproof"}),
])
def test_stage_presets_overlay_their_app(app, group, preset, want):
    from omegaconf import OmegaConf

    cfg = compose(app, [f"{group}={preset}"])
    for key, value in want.items():
        got = OmegaConf.select(cfg, key)
        assert (list(got) if OmegaConf.is_list(got) else got) == value, key
    # the default stays the offline one
    assert compose(app).model.name == "tiny"
