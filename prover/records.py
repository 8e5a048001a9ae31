"""The records every stage shares, and the JSONL files they live in.

Every record is a plain dataclass that round-trips through JSON (``to_dict`` /
``from_dict``), one record per line. Long jobs write through :class:`JsonlWriter`,
which appends and flushes one record at a time and, on reopening, skips what the
file already holds, so a crashed run resumes without losing or duplicating work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

#: Axioms a proof may depend on and still count as proved.
STANDARD_AXIOMS: frozenset[str] = frozenset({"propext", "Classical.choice", "Quot.sound"})

Status = Literal["proved", "failed", "timeout", "crashed", "rejected"]
STATUSES: tuple[str, ...] = ("proved", "failed", "timeout", "crashed", "rejected")


class RecordError(ValueError):
    """A record could not be built from its input; the message names the input."""


def _from_fields(cls: type, data: dict[str, Any], what: str) -> Any:
    if not isinstance(data, dict):
        raise RecordError(f"{what}: expected a JSON object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    missing = required - data.keys()
    if missing:
        raise RecordError(f"{what}: missing field(s) {sorted(missing)}")
    return cls(**{k: v for k, v in data.items() if k in names})


def _shallow_dict(record: Any) -> dict[str, Any]:
    """A record's fields as a dict, without ``dataclasses.asdict``'s deep copy (the hot path of
    writing one Outcome per problem: a JSON line only needs the values, not copies of them)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


@dataclass(frozen=True)
class Pos:
    """A position in Lean text: lines from 1, columns from 0 (as the REPL reports)."""

    line: int
    column: int

    def to_dict(self) -> dict[str, int]:
        return {"line": self.line, "column": self.column}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Pos | None:
        if data is None:
            return None
        return cls(int(data["line"]), int(data["column"]))


@dataclass
class Message:
    """One Lean message (error, warning, info) with its span in the candidate's own text."""

    severity: str
    data: str
    pos: Pos | None = None
    end_pos: Pos | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "pos": self.pos.to_dict() if self.pos else None,
            "endPos": self.end_pos.to_dict() if self.end_pos else None,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            severity=str(data.get("severity", "error")),
            data=str(data.get("data", "")),
            pos=Pos.from_dict(data.get("pos")),
            end_pos=Pos.from_dict(data.get("endPos", data.get("end_pos"))),
        )


def errors_in(messages: Iterable[Message]) -> list[Message]:
    """The error-severity messages of ``messages``, in order (the one severity filter of the project)."""
    return [m for m in messages if m.is_error]


@dataclass
class Problem:
    """A formal problem: ``header + formal_statement`` is Lean text ending at ``:=`` (or ``:= by``)."""

    name: str
    formal_statement: str
    header: str = ""
    split: str = ""
    informal_statement: str | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _shallow_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return _from_fields(cls, data, "Problem")


def candidate_id(problem: str, code: str) -> str:
    """A stable id for a candidate: the same problem and code always get the same id."""
    return hashlib.sha1(f"{problem}\x00{code}".encode()).hexdigest()[:16]


@dataclass
class Origin:
    """Where a candidate came from: the strategy, the model, the agent and round, the sample index.

    Serialised flat, as the free dict it replaces (``{"strategy": ..., "round": 1, ...}``), so old files
    load unchanged; keys without a field (a stage's own provenance: ``source``, ``logprob``, ``file``...)
    are kept in ``extra``. The pass@k split reads ``agent`` and ``round``: first-round prover samples are
    the i.i.d. ones.
    """

    strategy: str = ""
    model: str = ""
    agent: str = ""   # "prover" or "corrector" for MA-LoT; "" otherwise
    round: int = 0    # the correction round (0: the first proposal) or the expert-iteration round
    sample: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def iid(self) -> bool:
        """A first-round prover sample (not a correction, not a later round): pass@k counts these."""
        return self.round == 0 and self.agent != "corrector"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(self.extra)
        for key in ("strategy", "model", "agent"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        if self.round or self.strategy:  # a strategy's candidates always say their round
            d["round"] = self.round
        if self.sample is not None:
            d["sample"] = self.sample
        return d

    @classmethod
    def from_dict(cls, data: Any) -> Origin:
        if isinstance(data, Origin):
            return data
        if not isinstance(data, dict):
            raise RecordError(f"Candidate.origin: expected a JSON object, got {type(data).__name__}")
        extra = dict(data)
        agent = extra.pop("agent", None)
        role = extra.pop("role", None)  # an older spelling of agent
        rnd = extra.pop("round", 0)
        sample = extra.pop("sample", None)
        try:
            return cls(strategy=str(extra.pop("strategy", "") or ""), model=str(extra.pop("model", "") or ""),
                       agent=str(agent or role or ""), round=int(rnd or 0),
                       sample=None if sample is None else int(sample), extra=extra)
        except (TypeError, ValueError):
            raise RecordError(f"Candidate.origin: round and sample must be integers, got {rnd!r}, {sample!r}") from None


@dataclass
class Candidate:
    """A full Lean text offered as a proof of ``problem``.

    ``statement`` is the problem's formal statement (with its theorem name); when set,
    the verifier refuses a candidate that does not contain it unchanged (after
    whitespace normalisation), so a proof cannot restate an easier theorem.
    ``header`` is the problem's header; when set, the verifier also checks that the
    candidate keeps it and does not redefine a name the statement uses.
    These two fields are additions to ARCHITECTURE.md's list: the verifier needs them to
    check statement integrity without a side channel.
    """

    problem: str
    code: str
    origin: Origin = field(default_factory=Origin)  # a plain dict is accepted and converted
    statement: str | None = None
    header: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    id: str = ""

    def __post_init__(self) -> None:
        self.origin = Origin.from_dict(self.origin if self.origin is not None else {})
        if not self.id:
            self.id = candidate_id(self.problem, self.code)

    def to_dict(self) -> dict[str, Any]:
        d = _shallow_dict(self)
        d["origin"] = self.origin.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        return _from_fields(cls, data, "Candidate")


@dataclass
class Verdict:
    """What Lean said about one candidate.

    ``proved`` only when Lean reported no error and no sorry, and the theorem's axioms
    are within :data:`STANDARD_AXIOMS` (or the configured allowed set).
    ``reason`` says in one line why anything else is not proved.
    """

    status: Status
    messages: list[Message] = field(default_factory=list)
    sorries: list[dict[str, Any]] = field(default_factory=list)
    axioms: list[str] = field(default_factory=list)
    seconds: float = 0.0
    reason: str = ""
    candidate: str = ""
    problem: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise RecordError(f"Verdict: unknown status {self.status!r}; expected one of {STATUSES}")

    @property
    def proved(self) -> bool:
        return self.status == "proved"

    @property
    def errors(self) -> list[Message]:
        return errors_in(self.messages)

    def to_dict(self) -> dict[str, Any]:
        d = _shallow_dict(self)
        d["messages"] = [m.to_dict() for m in self.messages]
        d["sorries"] = [dict(x) for x in self.sorries]
        d["axioms"] = list(self.axioms)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        data = dict(data)
        data["messages"] = [Message.from_dict(m) for m in data.get("messages", [])]
        return _from_fields(cls, data, "Verdict")


@dataclass
class Outcome:
    """A problem with everything tried on it: the unit eval and synthetic runs write and resume from.

    ``turns`` records agent turns (prompt, output, verdict index) so a run can be read afterwards.
    """

    problem: Problem
    candidates: list[Candidate] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def proved(self) -> bool:
        return any(v.proved for v in self.verdicts)

    @property
    def first_proof(self) -> Candidate | None:
        for c, v in zip(self.candidates, self.verdicts, strict=False):
            if v.proved:
                return c
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "problem": self.problem.to_dict(),
            "candidates": [c.to_dict() for c in self.candidates],
            "verdicts": [v.to_dict() for v in self.verdicts],
            "turns": self.turns,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        if not isinstance(data, dict) or "problem" not in data:
            raise RecordError("Outcome: expected a JSON object with a 'problem' field")
        return cls(
            problem=Problem.from_dict(data["problem"]),
            candidates=[Candidate.from_dict(c) for c in data.get("candidates", [])],
            verdicts=[Verdict.from_dict(v) for v in data.get("verdicts", [])],
            turns=list(data.get("turns", [])),
            meta=dict(data.get("meta", {})),
        )


# ---------------------------------------------------------------------------- JSONL

R = TypeVar("R")


def json_lines(path: Path, error: Callable[[str], Exception] = RecordError) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed value)`` for each non-blank line of a JSONL file, read strictly.

    A line that is not JSON raises ``error("<path>:<line>: not valid JSON (...)")``. Callers check
    that the file exists and what each value holds, with their own messages.
    """
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise error(f"{path}:{i}: not valid JSON ({e.msg})") from None
        yield i, value


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSONL file.

    A torn last line (a crash mid-write) is skipped; a bad line elsewhere raises a
    :class:`RecordError` that names the file and line.
    """
    path = Path(path)
    if not path.exists():
        raise RecordError(f"{path}: no such file")
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            if i == len(lines):
                return  # torn final line from an interrupted write
            raise RecordError(f"{path}:{i}: not valid JSON ({e.msg})") from None
        if not isinstance(obj, dict):
            raise RecordError(f"{path}:{i}: expected a JSON object per line")
        yield obj


def read_jsonl(path: str | os.PathLike[str], cls: type[R] | None = None) -> list[Any]:
    """Read a JSONL file, optionally building records with ``cls.from_dict``."""
    out: list[Any] = []
    for i, obj in enumerate(iter_jsonl(path), 1):
        if cls is None:
            out.append(obj)
            continue
        try:
            out.append(cls.from_dict(obj))  # type: ignore[attr-defined]
        except RecordError as e:
            raise RecordError(f"{path}: record {i}: {e}") from None
    return out


def write_jsonl(path: str | os.PathLike[str], records: Iterable[Any]) -> None:
    """Write records (dataclasses with ``to_dict`` or plain dicts) to a new JSONL file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(_as_dict(r), ensure_ascii=False) + "\n")


def _as_dict(record: Any) -> dict[str, Any]:
    if hasattr(record, "to_dict"):
        return record.to_dict()
    if dataclasses.is_dataclass(record):
        return dataclasses.asdict(record)  # type: ignore[arg-type]
    if isinstance(record, dict):
        return record
    raise RecordError(f"cannot write {type(record).__name__} as a JSONL record")


class JsonlWriter:
    """Append-only, resumable JSONL results file.

    ``key`` maps a record (as a dict) to its identity. On opening, the keys of the
    records already in the file are loaded and a torn final line is cut off, so a
    rerun can skip finished work (:meth:`done`) and never writes a key twice.
    Each :meth:`write` flushes (and fsyncs when ``fsync=True``) before returning.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        key: Callable[[dict[str, Any]], str],
        *,
        fsync: bool = False,
    ) -> None:
        self.path = Path(path)
        self.key = key
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._keys: set[str] = set()
        if self.path.exists():
            self._repair_tail()
            for obj in iter_jsonl(self.path):
                self._keys.add(key(obj))
        self._f = self.path.open("a", encoding="utf-8")

    def _repair_tail(self) -> None:
        """Make the file end with a complete record: a torn last line (with or without its newline)
        is what :func:`iter_jsonl` skips, so it is cut here too, before anything is appended after it."""
        data = self.path.read_bytes()
        if not data:
            return
        body = data.rstrip(b"\n")
        if not body:
            return
        cut = body.rfind(b"\n") + 1
        tail = body[cut:]
        if data.endswith(b"\n"):
            try:
                json.loads(tail)
            except ValueError:
                with self.path.open("r+b") as f:
                    f.truncate(cut)
            return
        try:
            json.loads(tail)
            complete = True
        except ValueError:
            complete = False
        with self.path.open("r+b") as f:
            if complete:
                f.seek(0, os.SEEK_END)
                f.write(b"\n")
            else:
                f.truncate(cut)

    def __len__(self) -> int:
        return len(self._keys)

    def done(self, key: str) -> bool:
        return key in self._keys

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self._keys)

    def write(self, record: Any) -> bool:
        """Append ``record`` unless its key is already present; return whether it was written."""
        obj = _as_dict(record)
        k = self.key(obj)
        if k in self._keys:
            return False
        self._f.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self._f.flush()
        if self.fsync:
            os.fsync(self._f.fileno())
        self._keys.add(k)
        return True

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
