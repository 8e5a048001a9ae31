"""lean_project and prover/lean/pins.py agree, and doctor/setup fail clearly without Lean."""

import shutil

import pytest

from prover.apps.lean import check_pins, main
from prover.lean import pins
from prover.lean.project import LeanMissingError, find_lean_project, repl_command


def test_lean_project_matches_pins():
    report = check_pins(find_lean_project())
    assert report.ok, report.problems
    assert report.toolchain == pins.LEAN_TOOLCHAIN == "leanprover/lean4:v4.24.0"
    assert report.mathlib_rev == report.repl_rev == pins.LEAN_VERSION


def test_mismatch_is_reported(tmp_path):
    proj = tmp_path / "p"
    shutil.copytree(find_lean_project(), proj, ignore=shutil.ignore_patterns(".lake"))
    text = (proj / "lakefile.toml").read_text().replace('rev = "v4.24.0"\n\n[[lean_lib]]', 'rev = "v4.17.0"\n\n[[lean_lib]]')
    (proj / "lakefile.toml").write_text(text)
    report = check_pins(proj)
    assert not report.ok
    assert any("REPL" in p and "v4.17.0" in p for p in report.problems)
    assert main(["doctor", "--project", str(proj)]) == 1


def test_not_a_project(tmp_path):
    with pytest.raises(LeanMissingError, match="not a Lake project"):
        find_lean_project(tmp_path)


def test_repl_command_without_lean(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "no-elan"))
    with pytest.raises(LeanMissingError) as e:
        repl_command()
    msg = str(e.value)
    assert "install elan" in msg and "\n" not in msg


def test_setup_accepts_the_core_flag_that_the_missing_repl_message_names(monkeypatch):
    # project.repl_command tells users to run `proofforge-lean setup --core`: that must parse
    import prover.lean.install as setup_mod

    seen = {}

    def fake_ensure(mathlib=False, project_dir=None):
        seen["mathlib"] = mathlib
        return setup_mod.LeanSetup(["repl"], find_lean_project(), mathlib)

    monkeypatch.setattr(setup_mod, "ensure_lean", fake_ensure)
    assert main(["setup", "--core"]) == 0 and seen["mathlib"] is False
    assert main(["setup", "--mathlib"]) == 0 and seen["mathlib"] is True
    with pytest.raises(SystemExit):
        main(["setup", "--core", "--mathlib"])
