"""Every eval preset composes, and the composed config loads its dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.data import dataset_from_cfg
from prover.config import compose, config_dir

PRESETS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))


def test_presets_exist():
    assert {"minif2f_wholeproof", "minif2f_malot", "minif2f_bestfirst", "goedel"} <= set(PRESETS)
    assert "demo" not in PRESETS  # the defaults are the main job; a preset restating them said nothing


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes(preset):
    cfg = compose("eval", [f"experiment={preset}"])
    for group in ("model", "prover", "dataset", "lean"):
        assert cfg.get(group) is not None, f"{preset}: no {group}"
    assert cfg.dataset.name in ("demo", "minif2f_v424", "minif2f_deepseek")
    assert "budget" in cfg.prover
    if preset.startswith("minif2f"):
        assert cfg.dataset.name == "minif2f_v424" and cfg.dataset.split == "test"
        assert cfg.lean.mathlib is True
        assert cfg.prover.name == preset.split("_", 1)[1]


def test_defaults_are_the_main_job():
    cfg = compose("eval")
    assert cfg.model.name == "tiny" and cfg.prover.name == "malot" and cfg.dataset.name == "demo"
    assert cfg.lean.backend == "local"


def test_dataset_groups_load_from_shared_files():
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "minif2f"
    cfg = compose("eval", ["dataset=minif2f", f"dataset.path={shared / 'minif2f-lean4-v4.24.jsonl'}",
                           f"dataset.informal_from={shared / 'minif2f.jsonl'}"])
    ds = dataset_from_cfg(cfg.dataset)
    assert len(ds.problems) == 244 and ds.info.split == "test" and ds.info.version == "v4.24"
    assert all(p.informal_statement for p in ds.problems)  # borrowed by name from DeepSeek's file
    cfg = compose("eval", ["dataset=minif2f_deepseek", f"dataset.path={shared / 'minif2f.jsonl'}",
                           "dataset.split=valid", "dataset.limit=5"])
    ds = dataset_from_cfg(cfg.dataset)
    assert len(ds.problems) == 5 and {p.split for p in ds.problems} == {"valid"}
