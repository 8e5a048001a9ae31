"""configs/prover/*.yaml build the right strategy and budget; bad configs name the key."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from agents.loop import MALoT
from prover.config import config_dir
from prover.lean.testing import scripted_verifier
from prover.llm.scripted import ScriptedGenerator
from prover.search.base import Budget
from prover.search.bestfirst import BestFirstSearch
from prover.search.factory import ConfigError, budget_from_cfg, build_strategy, check_prover_cfg
from prover.search.wholeproof import WholeProofSampling


def load(name: str, model_style: str | None = None):
    root = {"prover": OmegaConf.load(config_dir() / "prover" / f"{name}.yaml")}
    if model_style:
        root["model"] = {"prompt_style": model_style}
    return OmegaConf.create(root).prover


@pytest.fixture(scope="module")
def verifier():
    return scripted_verifier([])


@pytest.mark.parametrize(
    ("name", "cls", "budget"),
    [
        ("wholeproof", WholeProofSampling, Budget(samples=8, rounds=0, corrections=0, expansions=0)),
        ("malot", MALoT, Budget(samples=4, rounds=5, corrections=2, expansions=0)),
        ("bestfirst", BestFirstSearch, Budget(samples=1, rounds=0, corrections=0, expansions=64)),
    ],
)
def test_shipped_configs(name, cls, budget, verifier):
    cfg = load(name)
    strategy = build_strategy(cfg, ScriptedGenerator([]), verifier)
    assert isinstance(strategy, cls) and strategy.name == name
    assert strategy.prompt_style == "tiny"  # no model.prompt_style: the offline default
    assert budget_from_cfg(cfg) == budget
    assert build_strategy(load(name, "kimina"), ScriptedGenerator([]), verifier).prompt_style == "kimina"


def test_sampling_reaches_the_strategies(verifier):
    malot = build_strategy(load("malot"), ScriptedGenerator([]), verifier)
    assert malot.prover.sampling.temperature == 0.8 and malot.corrector.sampling.max_tokens == 8192
    bf = build_strategy(load("bestfirst"), ScriptedGenerator([]), verifier)
    assert bf.sampling.n == 4 and bf.sampling.logprobs


def test_bad_configs_name_the_key(verifier):
    gen = ScriptedGenerator([])
    with pytest.raises(ConfigError, match="prover.name must be one of"):
        build_strategy({"name": "mcts"}, gen, verifier)
    with pytest.raises(ConfigError, match="prover.prompt_style"):
        build_strategy({"name": "wholeproof", "prompt_style": "llama"}, gen, verifier)
    with pytest.raises(ConfigError, match=r"prover.sampling: unknown key\(s\) \['temp'\]"):
        build_strategy({"name": "wholeproof", "sampling": {"temp": 1}}, gen, verifier)
    with pytest.raises(ConfigError, match="prover.budget.samples must be an integer"):
        budget_from_cfg({"budget": {"samples": "many"}})
    with pytest.raises(ConfigError, match="top_p"):
        build_strategy({"name": "wholeproof", "sampling": {"top_p": 2}}, gen, verifier)


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"name": "wholeproof", "budget": {"samples": 0}}, "prover.budget.samples must be >= 1 for the wholeproof"),
        ({"name": "malot", "budget": {"samples": 0, "rounds": 3}}, "prover.budget.samples must be >= 1 for the malot"),
        ({"name": "bestfirst", "budget": {"expansions": 0}}, "prover.budget.expansions must be >= 1"),
        ({"name": "malot", "corrector_sampling": {"temp": 1}}, r"prover.corrector_sampling: unknown key"),
        ({"name": "beam"}, "prover.name must be one of"),
    ],
)
def test_check_prover_cfg_rejects_an_empty_budget_before_anything_is_built(node, message):
    with pytest.raises(ConfigError, match=message):
        check_prover_cfg(node)


def test_check_prover_cfg_returns_the_budget_of_every_shipped_config():
    for name in ("wholeproof", "malot", "bestfirst"):
        assert check_prover_cfg(load(name)) == budget_from_cfg(load(name))
    # rounds/corrections may be 0 (MA-LoT without correction is whole-proof sampling)
    assert check_prover_cfg({"name": "malot", "budget": {"samples": 2, "rounds": 0}}).rounds == 0
