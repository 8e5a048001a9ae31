"""check_run_manifest: a run folder refuses to be resumed with a different config."""

import json

import pytest

from prover.config import MANIFEST, check_run_manifest


class Refused(Exception):
    pass


def describe(changed):
    return f"changed: {','.join(changed)}"


def test_new_same_changed_and_unreadable(tmp_path):
    fp = {"model": {"name": "tiny"}, "prover": {"n": 4}}
    assert check_run_manifest(tmp_path, fp, error=Refused, describe=describe) == fp
    assert json.loads((tmp_path / MANIFEST).read_text()) == fp
    assert check_run_manifest(tmp_path, fp, error=Refused, describe=describe) is None
    with pytest.raises(Refused, match="changed: prover"):
        check_run_manifest(tmp_path, {**fp, "prover": {"n": 8}}, error=Refused, describe=describe)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(Refused, match="unreadable"):
        check_run_manifest(tmp_path, fp, error=Refused, describe=describe)


def test_write_false_leaves_the_folder_untouched(tmp_path):
    fp = {"path": tmp_path}  # non-JSON values are recorded as text
    assert check_run_manifest(tmp_path, fp, error=Refused, describe=describe, write=False) == {"path": str(tmp_path)}
    assert not (tmp_path / MANIFEST).exists()
