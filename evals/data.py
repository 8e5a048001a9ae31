"""Benchmark statements as :class:`prover.records.Problem`: both Lean 4 miniF2F files and the demo set.

Why two miniF2F files: DeepSeek's ``minif2f.jsonl`` (Lean v4.9-era Mathlib) reproduces the
DeepSeek/Goedel-era numbers; yangky11/miniF2F-lean4 (Lean v4.24.0, corrected statements)
is what a current toolchain compiles. Every eval result records which file, version,
split and Lean/Mathlib pins it used (:class:`DatasetInfo`), because numbers on the two
are not comparable.

Users get the files from their public sources, downloaded with httpx into
``prover.config.cache_dir()`` (pinned commits, checksums where the file is a byte copy),
or pass a local path. The demo set (``evals/demo/demo.jsonl``) is project-written and
proved by Lean 4 core alone, so the offline default needs no Mathlib.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from prover.paths import cache_dir
from prover.records import Problem, json_lines
from prover.settings import DatasetSettings, settings_from

DEMO_PATH = Path(__file__).resolve().parent / "demo" / "demo.jsonl"

# -------------------------------------------------------------------- pinned sources

DEEPSEEK_COMMIT = "2c4ba9119eef74d0d611f494261b2c5bae98c69a"
DEEPSEEK_URL = (
    f"https://raw.githubusercontent.com/deepseek-ai/DeepSeek-Prover-V1.5/{DEEPSEEK_COMMIT}/datasets/minif2f.jsonl"
)
DEEPSEEK_SHA256 = "d6654c88476ff14db19d57dea25bd955a240525fb52171e460f89d98f83d7dd5"

YANG_COMMIT = "5746b7d6c47855ce1294bed87329618ff7f1bc31"
YANG_TARBALL_URL = f"https://codeload.github.com/yangky11/miniF2F-lean4/tar.gz/{YANG_COMMIT}"


@dataclass(frozen=True)
class DatasetSpec:
    """A known benchmark file: where it comes from and which Lean/Mathlib it was written for."""

    key: str
    filename: str
    version: str
    source: str
    lean: str
    mathlib: str
    note: str = ""


SPECS: dict[str, DatasetSpec] = {
    "minif2f_deepseek": DatasetSpec(
        key="minif2f_deepseek",
        filename="minif2f.jsonl",
        version="v4.9-era",
        source=f"deepseek-ai/DeepSeek-Prover-V1.5@{DEEPSEEK_COMMIT}:datasets/minif2f.jsonl",
        lean="leanprover/lean4:v4.9.0 (second-hand, per the Goedel-Prover-V2 README)",
        mathlib="xinhjBrant/mathlib4@2f65ba7f1a9144b20c8e7358513548e317d26de1 (branch deepseek)",
        note="49 statements use the deprecated `∑ x in s` syntax; expect warnings on new toolchains.",
    ),
    "minif2f_v424": DatasetSpec(
        key="minif2f_v424",
        filename="minif2f-lean4-v4.24.jsonl",
        version="v4.24",
        source=f"yangky11/miniF2F-lean4@{YANG_COMMIT}:MiniF2F/{{Valid,Test}}/*.lean",
        lean="leanprover/lean4:v4.24.0",
        mathlib="leanprover-community/mathlib4@f897ebcf72cd16f89ab4577d0c826cd14afaafc7 (v4.24.0)",
        note="Corrected statements; one name differs in case: numbertheory_notEquiv2i2jasqbsqdiv8.",
    ),
    "demo": DatasetSpec(
        key="demo",
        filename="demo.jsonl",
        version="core-v4.24",
        source="ProofForge evals/demo/demo.jsonl (project-written)",
        lean="leanprover/lean4:v4.24.0",
        mathlib="none (Lean 4 core only)",
    ),
}


class DatasetError(ValueError):
    """A benchmark file is missing or malformed; the message names the file (and line)."""


@dataclass
class DatasetInfo:
    """What an eval ran on: recorded in every Outcome's meta and in the report."""

    name: str
    file: str
    version: str
    split: str
    source: str
    lean: str
    mathlib: str
    count: int = 0
    sha256: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Dataset:
    info: DatasetInfo
    problems: list[Problem] = field(default_factory=list)


# ----------------------------------------------------------------------- categories

#: Name prefix -> category, longest prefix first. The miniF2F names encode the competition.
_CATEGORY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("mathd_algebra", "mathd_algebra"),
    ("mathd_numbertheory", "mathd_numbertheory"),
    ("amc12", "amc"),
    ("amc", "amc"),
    ("aime", "aime"),
    ("imosl", "imo"),
    ("imo", "imo"),
    ("induction", "induction"),
    ("algebra", "algebra"),
    ("numbertheory", "numbertheory"),
)


def category(name: str) -> str:
    """The source category of a miniF2F problem from its name (``amc12a_2019_p21`` -> ``amc``)."""
    lower = name.lower()
    for prefix, cat in _CATEGORY_PREFIXES:
        if lower.startswith(prefix):
            return cat
    return lower.split("_", 1)[0] if "_" in lower else "other"


# ------------------------------------------------------------------------- parsing

_DOCSTRING = re.compile(r"/--(.*?)-/", re.DOTALL)
_THEOREM = re.compile(r"^(theorem|lemma)\s", re.MULTILINE)
_TRAILING_SORRY = re.compile(r":=\s*by\s+sorry\s*$")


def informal_from_docstring(prefix: str) -> str | None:
    """The natural-language problem inside a ``/-- ... -/`` docstring, whitespace-trimmed."""
    m = _DOCSTRING.search(prefix or "")
    if not m:
        return None
    text = m.group(1).strip()
    return text or None


def split_lean4_code(code: str, where: str = "lean4_code") -> tuple[str, str]:
    """Split a whole miniF2F-lean4 file into ``(header, statement)``.

    The statement keeps ``:= by\\n`` and loses the trailing ``sorry`` so that
    ``header + statement + proof`` is what the verifier checks, as with DeepSeek's file.
    """
    m = _THEOREM.search(code)
    if not m:
        raise DatasetError(f"{where}: no `theorem` in the Lean code")
    header, body = code[: m.start()], code[m.start() :]
    s = _TRAILING_SORRY.search(body)
    if not s:
        raise DatasetError(f"{where}: the statement does not end with `:= by sorry`")
    statement = body[: s.start()].rstrip() + " := by\n"
    return header, statement


def _read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.exists():
        raise DatasetError(f"{path}: no such dataset file")
    rows = []
    for i, obj in json_lines(path, DatasetError):
        if not isinstance(obj, dict):
            raise DatasetError(f"{path}:{i}: expected a JSON object")
        rows.append((i, obj))
    return rows


def _need(obj: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if not isinstance(obj.get(k), str)]
    if missing:
        raise DatasetError(f"{where}: missing string field(s) {missing}")


def parse_deepseek(path: Path) -> list[Problem]:
    """Rows of DeepSeek's ``minif2f.jsonl`` (name, split, informal_prefix, formal_statement, header)."""
    out = []
    for i, row in _read_rows(path):
        where = f"{path}:{i}"
        _need(row, ("name", "split", "formal_statement", "header"), where)
        out.append(
            Problem(
                name=row["name"],
                formal_statement=row["formal_statement"],
                header=row["header"],
                split=row["split"],
                informal_statement=informal_from_docstring(row.get("informal_prefix", "")),
                source=category(row["name"]),
            )
        )
    return out


def parse_lean4(path: Path) -> list[Problem]:
    """Rows of the miniF2F-lean4 file (name, split, lean4_code = a whole file ending in ``:= by sorry``)."""
    out = []
    for i, row in _read_rows(path):
        where = f"{path}:{i}"
        _need(row, ("name", "split", "lean4_code"), where)
        header, statement = split_lean4_code(row["lean4_code"], where)
        out.append(
            Problem(
                name=row["name"],
                formal_statement=statement,
                header=header,
                split=row["split"],
                informal_statement=informal_from_docstring(header + statement),
                source=category(row["name"]),
            )
        )
    return out


def parse_problems(path: Path) -> list[Problem]:
    """A JSONL of :class:`Problem` records (the demo set, or a user's own benchmark)."""
    out = []
    for i, row in _read_rows(path):
        where = f"{path}:{i}"
        _need(row, ("name", "formal_statement"), where)
        p = Problem.from_dict(row)
        if not p.source:
            p.source = category(p.name)
        out.append(p)
    return out


def detect_format(path: Path) -> str:
    """``deepseek`` | ``lean4`` | ``problems`` from the first row's fields."""
    rows = _read_rows(path)
    if not rows:
        raise DatasetError(f"{path}: the file holds no rows")
    first = rows[0][1]
    if "lean4_code" in first:
        return "lean4"
    if "informal_prefix" in first or "goal" in first:
        return "deepseek"
    if "formal_statement" in first:
        return "problems"
    raise DatasetError(f"{path}:{rows[0][0]}: unknown row format (fields {sorted(first)})")


_PARSERS = {"deepseek": parse_deepseek, "lean4": parse_lean4, "problems": parse_problems}


# ---------------------------------------------------------------------- downloading


def _client(transport: httpx.BaseTransport | None) -> httpx.Client:
    return httpx.Client(transport=transport, follow_redirects=True, timeout=httpx.Timeout(60.0))


def _download_error(url: str, e: Exception) -> DatasetError:
    return DatasetError(
        f"could not download {url} ({type(e).__name__}: {e}); pass a local file with dataset.path=... instead"
    )


def download_deepseek(dest_dir: Path | None = None, *, transport: httpx.BaseTransport | None = None) -> Path:
    """DeepSeek-Prover-V1.5's ``minif2f.jsonl`` at the pinned commit, checked against its sha256."""
    dest_dir = Path(dest_dir or cache_dir() / "minif2f")
    dest = dest_dir / SPECS["minif2f_deepseek"].filename
    if dest.exists():
        return dest
    try:
        with _client(transport) as client:
            r = client.get(DEEPSEEK_URL)
            r.raise_for_status()
    except httpx.HTTPError as e:
        raise _download_error(DEEPSEEK_URL, e) from None
    digest = hashlib.sha256(r.content).hexdigest()
    if digest != DEEPSEEK_SHA256:
        raise DatasetError(f"{DEEPSEEK_URL}: sha256 {digest} does not match the pinned {DEEPSEEK_SHA256}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    tmp.write_bytes(r.content)
    tmp.replace(dest)
    return dest


def download_lean4(dest_dir: Path | None = None, *, transport: httpx.BaseTransport | None = None) -> Path:
    """yangky11/miniF2F-lean4 at the pinned commit, turned into one JSONL (name, split, path, lean4_code).

    One tarball request instead of 488 file requests; the repository's ``lean-toolchain``
    is kept in a side file so the pins the statements were written for travel with them.
    """
    dest_dir = Path(dest_dir or cache_dir() / "minif2f")
    dest = dest_dir / SPECS["minif2f_v424"].filename
    if dest.exists():
        return dest
    try:
        with _client(transport) as client:
            r = client.get(YANG_TARBALL_URL)
            r.raise_for_status()
    except httpx.HTTPError as e:
        raise _download_error(YANG_TARBALL_URL, e) from None
    rows: list[dict[str, str]] = []
    toolchain = ""
    try:
        with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                parts = member.name.split("/", 1)
                rel = parts[1] if len(parts) == 2 else parts[0]
                m = re.fullmatch(r"MiniF2F/(Valid|Test)/([^/]+)\.lean", rel)
                f = tar.extractfile(member)
                if f is None:
                    continue
                if rel == "lean-toolchain":
                    toolchain = f.read().decode().strip()
                elif m:
                    code = f.read().decode("utf-8")
                    rows.append({"name": m.group(2), "split": m.group(1).lower(), "path": rel, "lean4_code": code})
    except (tarfile.TarError, OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{YANG_TARBALL_URL}: not a readable tar.gz ({e})") from None
    if not rows:
        raise DatasetError(f"{YANG_TARBALL_URL}: no MiniF2F/Valid or MiniF2F/Test .lean files in the archive")
    rows.sort(key=lambda r: (r["split"], r["name"]))
    dest_dir.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(dest)
    if toolchain:
        (dest_dir / "minif2f-lean4.lean-toolchain").write_text(toolchain + "\n")
    return dest


_DOWNLOADERS = {"minif2f_deepseek": download_deepseek, "minif2f_v424": download_lean4}


# -------------------------------------------------------------------------- loading


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_dataset(
    name: str,
    *,
    path: str | Path | None = None,
    split: str | None = None,
    limit: int | None = None,
    names: list[str] | None = None,
    download: bool = True,
    transport: httpx.BaseTransport | None = None,
    informal_from: str | Path | None = None,
) -> Dataset:
    """Load a benchmark as Problems plus the :class:`DatasetInfo` every result records.

    ``name``: ``demo`` | ``minif2f_deepseek`` | ``minif2f_v424`` | any label for a custom
    JSONL (then ``path`` is required). ``split``: ``valid`` | ``test`` | ``None``/``all``.
    ``names`` keeps only those problems (in the file's order); ``limit`` keeps the first N.
    ``informal_from`` (a DeepSeek-format file, or ``minif2f_deepseek``) fills missing
    informal statements by problem name: the v4.24 files carry no docstrings.
    """
    spec = SPECS.get(name)
    if path is not None:
        file = Path(path).expanduser()
    elif name == "demo":
        file = DEMO_PATH
    elif spec is not None:
        cached = cache_dir() / "minif2f" / spec.filename
        if cached.exists() or not download:
            file = cached
        else:
            file = _DOWNLOADERS[name](transport=transport)
    else:
        known = ", ".join(sorted(SPECS))
        raise DatasetError(f"unknown dataset {name!r}: use one of {known}, or give dataset.path=<file.jsonl>")
    if not file.exists():
        raise DatasetError(f"{file}: no such dataset file")
    fmt = detect_format(file)
    problems = _PARSERS[fmt](file)
    split_label = "all" if split in (None, "", "all") else str(split)
    if split_label != "all":
        known_splits = sorted({p.split for p in problems})
        problems = [p for p in problems if p.split == split_label]
        if not problems:
            raise DatasetError(f"{file}: no problems in split {split_label!r} (splits: {known_splits})")
    if names:
        wanted = set(names)
        missing = wanted - {p.name for p in problems}
        if missing:
            raise DatasetError(f"{file}: no problem(s) named {sorted(missing)}")
        problems = [p for p in problems if p.name in wanted]
    if limit is not None and limit > 0:
        problems = problems[:limit]
    if informal_from:
        borrow_informal(problems, informal_from, download=download, transport=transport)
    if spec is None:
        spec = DatasetSpec(key=name, filename=file.name, version="custom", source=str(file), lean="", mathlib="")
    info = DatasetInfo(
        name=name,
        file=str(file),
        version=spec.version,
        split=split_label,
        source=spec.source,
        lean=spec.lean,
        mathlib=spec.mathlib,
        count=len(problems),
        sha256=_sha256(file),
        note=spec.note,
    )
    return Dataset(info=info, problems=problems)


def borrow_informal(
    problems: list[Problem],
    source: str | Path,
    *,
    download: bool = True,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Fill problems that lack an informal statement from another file, matching names case-insensitively.

    Why case-insensitive: the two miniF2F files spell one name differently
    (``numbertheory_notEquiv2i2jasqbsqdiv8`` vs ``..._notequiv...``). Returns how many were filled.
    """
    if str(source) in SPECS:
        try:
            donor = load_dataset(str(source), download=download, transport=transport).problems
        except DatasetError as e:  # the hint must name this key: dataset.path is already the main file
            msg = str(e).replace("dataset.path=...", f"dataset.informal_from=<local {source} file>")
            raise DatasetError(
                f"dataset.informal_from={source}: {msg} (or dataset.informal_from=null to skip informal statements)"
            ) from None
    else:
        file = Path(source).expanduser()
        if not file.exists():
            raise DatasetError(f"{file}: no such file to take informal statements from")
        donor = _PARSERS[detect_format(file)](file)
    by_name = {p.name.lower(): p.informal_statement for p in donor if p.informal_statement}
    filled = 0
    for p in problems:
        if not p.informal_statement and p.name.lower() in by_name:
            p.informal_statement = by_name[p.name.lower()]
            filled += 1
    return filled


def dataset_from_cfg(cfg: DatasetSettings | Mapping[str, Any] | None) -> Dataset:
    """Load from the ``dataset`` settings (or a mapping of their fields: name, path, split, limit, names,
    download, informal_from); a bad key raises DatasetError naming it."""
    d = settings_from(DatasetSettings, cfg, "dataset", error=DatasetError)
    return load_dataset(d.name, path=d.path, split=d.split, limit=d.limit, names=d.names or None,
                        download=d.download, informal_from=d.informal_from)
