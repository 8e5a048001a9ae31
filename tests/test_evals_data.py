"""Loaders on both shared miniF2F files, the demo set, and the downloaders over an httpx MockTransport."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import httpx
import pytest

from evals import data
from evals.data import DatasetError, category, load_dataset, split_lean4_code

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "minif2f"
DEEPSEEK = SHARED / "minif2f.jsonl"
V424 = SHARED / "minif2f-lean4-v4.24.jsonl"


def test_deepseek_file():
    ds = load_dataset("minif2f_deepseek", path=DEEPSEEK)
    assert len(ds.problems) == 488
    assert Counter(p.split for p in ds.problems) == {"valid": 244, "test": 244}
    p = next(p for p in ds.problems if p.name == "amc12a_2019_p21")
    assert p.header.startswith("import Mathlib\nimport Aesop\n")
    assert p.formal_statement.startswith("theorem amc12a_2019_p21") and p.formal_statement.endswith(":= by\n")
    assert p.informal_statement.startswith("Let $z=") and "-/" not in p.informal_statement
    assert p.source == "amc"
    assert all(p.informal_statement for p in ds.problems)
    assert ds.info.version == "v4.9-era" and ds.info.split == "all" and "2f65ba7f" in ds.info.mathlib
    assert ds.info.sha256 == data.DEEPSEEK_SHA256


def test_v424_file_split_into_header_and_statement():
    ds = load_dataset("minif2f_v424", path=V424, split="test")
    assert len(ds.problems) == 244 and {p.split for p in ds.problems} == {"test"}
    full = load_dataset("minif2f_v424", path=V424)
    assert len(full.problems) == 488
    for p in full.problems:
        assert p.header == "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"
        assert p.formal_statement.startswith(f"theorem {p.name}")
        assert p.formal_statement.endswith(":= by\n") and "sorry" not in p.formal_statement
    assert full.info.version == "v4.24" and "v4.24.0" in full.info.lean


def test_names_match_except_one_capitalisation():
    a = {p.name for p in load_dataset("x", path=DEEPSEEK).problems}
    b = {p.name for p in load_dataset("y", path=V424).problems}
    assert a - b == {"numbertheory_notequiv2i2jasqbsqdiv8"}
    assert b - a == {"numbertheory_notEquiv2i2jasqbsqdiv8"}
    assert {n.lower() for n in a} == {n.lower() for n in b}


def test_informal_borrowed_by_name_case_insensitively():
    ds = load_dataset("minif2f_v424", path=V424)
    assert all(p.informal_statement is None for p in ds.problems)  # the v4.24 files have no docstrings
    ds = load_dataset("minif2f_v424", path=V424, informal_from=DEEPSEEK)
    assert all(p.informal_statement for p in ds.problems)
    odd = next(p for p in ds.problems if p.name == "numbertheory_notEquiv2i2jasqbsqdiv8")
    donor = next(p for p in load_dataset("d", path=DEEPSEEK).problems
                 if p.name == "numbertheory_notequiv2i2jasqbsqdiv8")
    assert odd.informal_statement == donor.informal_statement


def test_categories():
    assert category("amc12a_2019_p21") == "amc"
    assert category("aimeII_2020_p6") == "aime"
    assert category("imosl_2007_algebra_p6") == "imo"
    assert category("mathd_algebra_478") == "mathd_algebra"
    assert category("mathd_numbertheory_5") == "mathd_numbertheory"
    assert category("induction_12dvd4expnp1p20") == "induction"
    assert category("numbertheory_notEquiv2i2jasqbsqdiv8") == "numbertheory"
    cats = Counter(p.source for p in load_dataset("m", path=V424).problems)
    assert set(cats) == {"amc", "aime", "imo", "mathd_algebra", "mathd_numbertheory", "induction", "algebra",
                         "numbertheory"}
    assert sum(cats.values()) == 488


def test_demo_set():
    ds = load_dataset("demo")
    assert 12 <= len(ds.problems) <= 20
    assert len({p.name for p in ds.problems}) == len(ds.problems)
    for p in ds.problems:
        assert p.header == "" and p.informal_statement
        assert p.formal_statement.startswith(f"theorem {p.name} ") and p.formal_statement.endswith(":= by\n")
        assert "Mathlib" not in p.formal_statement and "sorry" not in p.formal_statement
    assert {p.source for p in ds.problems} == {"arith", "order", "parity", "logic"}
    assert ds.info.mathlib.startswith("none")


def test_filters_and_errors(tmp_path):
    ds = load_dataset("demo", limit=3)
    assert len(ds.problems) == 3
    ds = load_dataset("demo", names=["demo_and_swap"])
    assert [p.name for p in ds.problems] == ["demo_and_swap"]
    with pytest.raises(DatasetError, match="no problem"):
        load_dataset("demo", names=["nope"])
    with pytest.raises(DatasetError, match="split 'valid'"):
        load_dataset("demo", split="valid")
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("nonsense")
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(DatasetError, match="missing.jsonl"):
        load_dataset("custom", path=missing)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "a", "formal_statement": "theorem a : True := by\\n"}\n{oops\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:2"):
        load_dataset("custom", path=bad)
    nofield = tmp_path / "nofield.jsonl"
    nofield.write_text('{"name": "a", "split": "test", "lean4_code": "import Mathlib\\n"}\n')
    with pytest.raises(DatasetError, match="nofield.jsonl:1: no `theorem`"):
        load_dataset("custom", path=nofield)


def test_split_lean4_code_keeps_by():
    h, s = split_lean4_code("import Mathlib\n\ntheorem t (x : ℕ) :\n    x = x := by sorry")
    assert h == "import Mathlib\n\n" and s == "theorem t (x : ℕ) :\n    x = x := by\n"


def test_download_deepseek_checksum(tmp_path):
    body = DEEPSEEK.read_bytes()
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=body)

    path = data.download_deepseek(tmp_path, transport=httpx.MockTransport(handler))
    assert seen == [data.DEEPSEEK_URL] and data.DEEPSEEK_COMMIT in seen[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == data.DEEPSEEK_SHA256
    assert data.download_deepseek(tmp_path, transport=httpx.MockTransport(handler)) == path  # cached
    assert len(seen) == 1

    bad = tmp_path / "bad"
    with pytest.raises(DatasetError, match="sha256"):
        data.download_deepseek(bad, transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"x")))
    with pytest.raises(DatasetError, match="dataset.path"):
        data.download_deepseek(bad, transport=httpx.MockTransport(lambda r: httpx.Response(404)))


def test_failed_informal_download_names_informal_from_not_path(tmp_path, monkeypatch):
    """dataset.path already holds the main file: the hint must point at the key that downloads."""
    monkeypatch.setenv("PROOFFORGE_CACHE", str(tmp_path / "cache"))

    def offline(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no network", request=request)

    with pytest.raises(DatasetError) as e:
        load_dataset("minif2f_v424", path=V424, limit=2, informal_from="minif2f_deepseek",
                     transport=httpx.MockTransport(offline))
    msg = str(e.value)
    assert msg.startswith("dataset.informal_from=minif2f_deepseek: could not download")
    assert "dataset.informal_from=<local minif2f_deepseek file>" in msg and "dataset.path" not in msg
    assert "dataset.informal_from=null" in msg
    # the suggested fix works: a local DeepSeek file, or no informal statements at all
    ds = load_dataset("minif2f_v424", path=V424, limit=2, informal_from=DEEPSEEK)
    assert all(p.informal_statement for p in ds.problems)
    assert len(load_dataset("minif2f_v424", path=V424, limit=2, informal_from=None).problems) == 2


def _tarball(rows: list[dict]) -> bytes:
    buf = io.BytesIO()
    root = f"miniF2F-lean4-{data.YANG_COMMIT}"
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        def add(name: str, text: str) -> None:
            raw = text.encode()
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))

        add("lean-toolchain", "leanprover/lean4:v4.24.0\n")
        add("README.md", "not a problem")
        for r in rows:
            add(r["path"], r["lean4_code"])
    return buf.getvalue()


def test_download_lean4_tarball(tmp_path, monkeypatch):
    rows = [json.loads(line) for line in V424.read_text().splitlines()[:6]]
    rows += [json.loads(line) for line in V424.read_text().splitlines() if '"split": "valid"' in line][:4]
    payload = _tarball(rows)
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=payload))
    path = data.download_lean4(tmp_path, transport=transport)
    got = [json.loads(line) for line in path.read_text().splitlines()]
    assert {(r["name"], r["split"], r["lean4_code"]) for r in got} == {
        (r["name"], r["split"], r["lean4_code"]) for r in rows}
    assert (tmp_path / "minif2f-lean4.lean-toolchain").read_text().strip() == "leanprover/lean4:v4.24.0"
    # load_dataset downloads into the cache when the file is missing there
    monkeypatch.setenv("PROOFFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_DOWNLOADERS", {"minif2f_v424": lambda transport=None: data.download_lean4(
        tmp_path / "cache" / "minif2f", transport=httpx.MockTransport(lambda r: httpx.Response(200, content=payload)))})
    ds = load_dataset("minif2f_v424", split="valid")
    assert len(ds.problems) == 4 and ds.info.file.startswith(str(tmp_path / "cache"))
