"""Abstention evaluation after Abstain-QA (arXiv 2407.16221): does the formaliser know when to say no?

A labelled set mixes well-posed statements (with a reference Lean statement) and deliberately
ill-posed ones (undefined terms, contradictory premises, vague claims, non-mathematical opinions).
Each result lands in one cell of an Abstain-QA style confusion matrix:

================  ==========  ============  ==========
row \\ column      faithful    unfaithful    abstained
================  ==========  ============  ==========
formalizable      good        wrong         over-cautious
not formalizable  (impossible) wrong        good
================  ==========  ============  ==========

"faithful" for a formalizable item means the output matches the reference statement (up to the theorem
name and whitespace) or, when a caller passes an ``oracle``, whatever the oracle says; an item with no
reference falls back to the judge's label (a weak signal: miniF2F-Lean Revisited shows NLI judges
over-accept). Any statement produced for an ill-posed item is unfaithful by definition.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoformalize.formalizer import ABSTAINED, FormalizationResult
from prover.abstention import COLUMNS, ROWS, abstention_rates, empty_matrix
from prover.records import json_lines

DEFAULT_LABELLED = Path(__file__).resolve().parent / "data" / "labelled.jsonl"
#: The labelled set in the tiny model's controlled English (``prompt_style=tiny``): well-posed statements with
#: their reference and ill-posed ones, drawn from held-out tiny-corpus statements (``prover.tinylm.roles``).
DEFAULT_LABELLED_TINY = Path(__file__).resolve().parent / "data" / "labelled_tiny.jsonl"


def default_labelled(style: str = "full") -> Path:
    return DEFAULT_LABELLED_TINY if style == "tiny" else DEFAULT_LABELLED

Oracle = Callable[[dict[str, Any], FormalizationResult], bool]


class LabelledError(ValueError):
    """The labelled set is malformed; the message names the file and line."""


def load_labelled(path: str | Path = DEFAULT_LABELLED) -> list[dict[str, Any]]:
    """Rows with ``id``, ``informal_statement``, ``formalizable`` (bool), optional ``reference``, ``category``."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise LabelledError(f"labelled set {p} does not exist")
    rows, seen = [], set()
    for i, row in json_lines(p, LabelledError):
        if not isinstance(row, dict) or not isinstance(row.get("formalizable"), bool) \
                or not str(row.get("informal_statement", "")).strip() or not row.get("id"):
            raise LabelledError(f"{p}:{i}: needs id, informal_statement and a boolean formalizable")
        if row["id"] in seen:
            raise LabelledError(f"{p}:{i}: duplicate id {row['id']!r}")
        seen.add(row["id"])
        rows.append(row)
    return rows


def _norm_statement(stmt: str) -> str:
    s = re.sub(r":=\s*(by\s+)?sorry\s*$", "", stmt.strip())
    s = re.sub(r"^(theorem|lemma)\s+\S+", "theorem _", s)
    return " ".join(s.replace("(", " ( ").replace(")", " ) ").split())


def statements_match(a: str | None, b: str | None) -> bool:
    """Same statement up to the theorem's name, whitespace and a trailing ``:= by sorry``."""
    return bool(a) and bool(b) and _norm_statement(a or "") == _norm_statement(b or "")


def outcome(row: dict[str, Any], result: FormalizationResult, oracle: Oracle | None = None) -> str:
    """The confusion-matrix column for one labelled row and its result."""
    if result.status == ABSTAINED:
        return "abstained"
    if not row["formalizable"]:
        return "unfaithful"
    if oracle is not None:
        return "faithful" if oracle(row, result) else "unfaithful"
    if row.get("reference"):
        return "faithful" if statements_match(result.statement, row["reference"]) else "unfaithful"
    return "faithful" if result.judge_label == "faithful" else "unfaithful"


@dataclass
class AbstainReport:
    """The confusion matrix, the rates read from it, and each item's cell."""

    matrix: dict[str, dict[str, int]]
    rates: dict[str, float | None]
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"matrix": self.matrix, "rates": self.rates, "items": self.items}

    def table(self) -> str:
        head = f"{'':<18}" + "".join(f"{c:>12}" for c in COLUMNS)
        lines = [head] + [f"{r:<18}" + "".join(f"{self.matrix[r][c]:>12}" for c in COLUMNS) for r in ROWS]
        lines += [f"{k}: {'n/a' if v is None else f'{v:.3f}'}" for k, v in self.rates.items()]
        return "\n".join(lines)


def abstain_report(
    rows: Sequence[dict[str, Any]], results: Sequence[FormalizationResult], oracle: Oracle | None = None
) -> AbstainReport:
    """Match results to rows by id and fill the matrix; a row without a result is an error."""
    by_id = {r.id: r for r in results}
    missing = [row["id"] for row in rows if row["id"] not in by_id]
    if missing:
        raise LabelledError(f"no result for labelled item(s): {', '.join(missing[:10])}")
    matrix = empty_matrix()
    items = []
    for row in rows:
        cell = outcome(row, by_id[row["id"]], oracle)
        key = "formalizable" if row["formalizable"] else "not_formalizable"
        matrix[key][cell] += 1
        items.append({"id": row["id"], "row": key, "column": cell, "category": row.get("category", "")})
    rates = abstention_rates(matrix)
    return AbstainReport(matrix, rates, items)
