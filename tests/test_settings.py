"""The typed settings (prover/settings/): reading mappings, and the schemas every app's config is composed on."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from prover.config import compose
from prover.settings import (
    BestFirstBudget,
    EvalSettings,
    LeanSettings,
    MALoTSettings,
    ModelSettings,
    SamplingSettings,
    SettingsError,
    WholeProofBudget,
    settings_from,
)


def test_a_mapping_becomes_typed_settings_with_nested_nodes_and_plain_containers():
    lean = settings_from(LeanSettings, {"backend": "scripted", "timeout": 5, "rules": [{"match": "x", "response": {}}],
                                        "allowed_axioms": ("propext",)}, "lean")
    assert isinstance(lean, LeanSettings) and lean.timeout == 5.0 and isinstance(lean.timeout, float)
    assert lean.rules == [{"match": "x", "response": {}}] and lean.allowed_axioms == ["propext"]
    malot = settings_from(MALoTSettings, {"sampling": {"temperature": 0.5}, "corrector_sampling": {"max_tokens": 9},
                                          "budget": {"samples": 2, "rounds": 1}}, "prover")
    assert malot.sampling == SamplingSettings(temperature=0.5) and malot.corrector_sampling.max_tokens == 9
    assert (malot.budget.samples, malot.budget.rounds, malot.budget.corrections) == (2, 1, 2)
    assert settings_from(LeanSettings, None, "lean") == LeanSettings()
    assert settings_from(LeanSettings, lean, "lean") is lean  # already typed: as is


def test_null_keeps_a_default_unless_the_field_is_optional():
    assert settings_from(LeanSettings, {"timeout": None}, "lean").timeout == 60.0  # not optional: the default
    assert settings_from(LeanSettings, {"memory_limit_gb": None}, "lean").memory_limit_gb is None  # optional: None
    assert settings_from(ModelSettings, {"name": None}, "model").name is None


@pytest.mark.parametrize(("cls", "data", "message"), [
    (LeanSettings, {"timout": 5}, r"lean: unknown key\(s\) \['timout'\]"),
    (LeanSettings, {"timeout": "soon"}, "lean.timeout must be a number, got 'soon'"),
    (LeanSettings, {"workers": 2.5}, "lean.workers must be an integer, got 2.5"),
    (LeanSettings, {"selftest": "yes"}, "lean.selftest must be true or false"),
    (LeanSettings, {"rules": "x"}, "lean.rules must be a list"),
    (LeanSettings, {"timeout": 0}, "lean.timeout must be > 0 seconds"),
    (LeanSettings, [1, 2], "lean must be a mapping"),
    (MALoTSettings, {"budget": {"expansions": 3}}, r"prover.budget: unknown key\(s\) \['expansions'\]"),
    (MALoTSettings, {"budget": {"samples": 0}}, "prover.budget.samples must be >= 1 for a MALoTBudget, got 0"),
    (MALoTSettings, {"sampling": {"top_p": 0}}, r"prover.sampling.top_p must be in \(0, 1\]"),
    (EvalSettings, {"concurrency": "two"}, "^concurrency must be an integer"),
])
def test_every_error_names_the_key(cls, data, message):
    with pytest.raises(SettingsError, match=message):
        settings_from(cls, data, "" if cls is EvalSettings else ("lean" if cls is LeanSettings else "prover"))


def test_a_composed_dictconfig_node_reads_the_same_as_a_dict():
    cfg = compose("eval", ["prover=bestfirst", "lean=scripted", "prover.budget.expansions=7"])
    assert settings_from(LeanSettings, cfg.lean, "lean").backend == "scripted"
    from prover.settings import BestFirstSettings

    bf = settings_from(BestFirstSettings, cfg.prover, "prover")
    assert bf.budget == BestFirstBudget(expansions=7) and bf.prompt_style == "tiny"  # the interpolation resolved


def test_budgets_check_their_own_fields():
    with pytest.raises(ValueError, match="samples must be an integer"):
        WholeProofBudget(samples="8")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expansions must be >= 1"):
        BestFirstBudget(expansions=0)


@pytest.mark.parametrize(("app", "schema"), [
    ("eval", "EvalSettings"), ("check", "CheckSettings"), ("serve", "ServeSettings"),
    ("lean_server", "LeanServerSettings"), ("formalize", "FormalizeSettings"), ("synth", "SynthSettings"),
])
def test_every_app_config_is_composed_on_its_schema(app, schema):
    cfg = compose(app)
    assert OmegaConf.get_type(cfg).__name__ == schema
    for group, want in (("lean", "LeanSettings"), ("model", "ModelSettings")):
        if group in cfg:
            assert OmegaConf.get_type(cfg[group]).__name__ == want


@pytest.mark.parametrize(("app", "override"), [
    ("formalize", "n=many"), ("formalize", "retrieval.k=five"), ("formalize", "progres=false"),
    ("synth", "prove.samples=x"), ("synth", "finetune.lora=maybe"), ("eval", "concurrency=two"),
    ("check", "recheck=timeout"), ("serve", "port=http"), ("lean_server", "max_pending=lots"),
])
def test_a_wrong_app_key_or_type_fails_at_composition(app, override):
    with pytest.raises(ConfigCompositionException):
        compose(app, [override])
