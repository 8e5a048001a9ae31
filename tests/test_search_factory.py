"""configs/prover/*.yaml build the right strategy and budget; bad configs name the key."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException

from agents.loop import MALoT
from prover.config import compose
from prover.lean.double_pools import scripted_verifier
from prover.llm.scripted import ScriptedGenerator
from prover.search.bestfirst import BestFirstSearch
from prover.search.strategy import BestFirstBudget, MALoTBudget, WholeProofBudget
from prover.search.strategy_factory import ConfigError, budget_from_cfg, build_strategy
from prover.search.wholeproof import WholeProofSampling


def load(name: str, model_style: str | None = None):
    overrides = [f"prover={name}"] + ([f"model.prompt_style={model_style}"] if model_style else [])
    return compose("eval", overrides).prover


@pytest.fixture(scope="module")
def verifier():
    return scripted_verifier([])


@pytest.mark.parametrize(
    ("name", "cls", "budget"),
    [
        ("wholeproof", WholeProofSampling, WholeProofBudget(samples=8)),
        ("malot", MALoT, MALoTBudget(samples=4, rounds=5, corrections=2)),
        ("bestfirst", BestFirstSearch, BestFirstBudget(expansions=64)),
    ],
)
def test_shipped_configs(name, cls, budget, verifier):
    cfg = load(name)
    strategy = build_strategy(cfg, ScriptedGenerator([]), verifier)
    assert isinstance(strategy, cls) and strategy.name == name
    assert strategy.prompt_style == "tiny"  # model=tiny: the offline default
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
        budget_from_cfg({"name": "wholeproof", "budget": {"samples": "many"}})
    with pytest.raises(ConfigError, match=r"prover.budget: unknown key\(s\) \['expansions'\]"):
        budget_from_cfg({"name": "wholeproof", "budget": {"expansions": 4}})
    with pytest.raises(ConfigError, match="top_p"):
        build_strategy({"name": "wholeproof", "sampling": {"top_p": 2}}, gen, verifier)


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"name": "wholeproof", "budget": {"samples": 0}}, "prover.budget.samples must be >= 1 for a WholeProofBudget"),
        ({"name": "malot", "budget": {"samples": 0, "rounds": 3}}, "prover.budget.samples must be >= 1 for a MALoTBudget"),
        ({"name": "bestfirst", "budget": {"expansions": 0}}, "prover.budget.expansions must be >= 1"),
        ({"name": "malot", "budget": {"rounds": -1}}, "prover.budget.rounds must be >= 0"),
        ({"name": "malot", "corrector_sampling": {"temp": 1}}, r"prover.corrector_sampling: unknown key"),
        ({"name": "beam"}, "prover.name must be one of"),
    ],
)
def test_budget_from_cfg_rejects_an_empty_budget_before_anything_is_built(node, message):
    with pytest.raises(ConfigError, match=message):
        budget_from_cfg(node)


def test_budget_from_cfg_returns_each_shipped_configs_own_budget_type():
    for name, kind in (("wholeproof", WholeProofBudget), ("malot", MALoTBudget), ("bestfirst", BestFirstBudget)):
        assert type(budget_from_cfg(load(name))) is kind
    # rounds/corrections may be 0 (MA-LoT without correction is whole-proof sampling)
    assert budget_from_cfg({"name": "malot", "budget": {"samples": 2, "rounds": 0}}).rounds == 0


@pytest.mark.parametrize(
    "overrides",
    [
        ["prover=wholeproof", "prover.budget.expansions=3"],  # another strategy's knob
        ["prover=bestfirst", "prover.budget.samples=3"],
        ["prover.budget.samples=many"],  # a wrong type
        ["lean.timout=5"],  # a typo
        ["model.max_batch_size=big"],
    ],
)
def test_a_wrong_key_or_type_fails_at_composition(overrides):
    """The typed schemas (prover/settings/, registered in Hydra's ConfigStore) refuse these before
    anything is built, with Hydra's own message naming the key."""
    with pytest.raises(ConfigCompositionException, match=overrides[-1].split("=")[0].replace(".", r"\.")):
        compose("eval", overrides)


def test_composed_nodes_are_typed():
    cfg = compose("eval", ["prover=bestfirst"])
    from omegaconf import OmegaConf

    assert OmegaConf.get_type(cfg.prover).__name__ == "BestFirstSettings"
    assert OmegaConf.get_type(cfg.prover.budget) is BestFirstBudget
    assert OmegaConf.get_type(cfg.lean).__name__ == "LeanSettings"
    assert OmegaConf.get_type(cfg.model).__name__ == "ModelSettings"


def test_a_strategy_refuses_another_strategys_budget(verifier):
    import asyncio

    from prover.records import Problem

    strategy = build_strategy(load("wholeproof"), ScriptedGenerator([]), verifier)
    with pytest.raises(TypeError, match="wholeproof takes a WholeProofBudget, got BestFirstBudget"):
        asyncio.run(strategy.aprove(Problem(name="t", formal_statement="theorem t : True := by"), BestFirstBudget()))
