"""Stage 5: deduplicate the verified pairs and export them as an SFT dataset.

Rows use the field names of DeepSeek-Prover's released data and repository datasets
(``name``, ``split``, ``informal_prefix``, ``formal_statement``, ``goal``, ``header``,
``formal_proof``: ``header + informal_prefix + formal_statement`` is the prompt and
``formal_statement + formal_proof`` the whole theorem), plus our provenance fields
(``id``, ``round``, ``kind`` proof | disproof, ``dedup_key``). A disproved statement contributes
its negation and the negation's proof, as in the paper.

Deduplication is exact on a normal form: the header's whitespace, and the statement with comments,
theorem name and whitespace erased (:func:`prover.synthetic.statements.normalize_statement`).
The first occurrence wins, so a later round never replaces an earlier proof.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prover.records import JsonlWriter, iter_jsonl
from prover.synthetic.statements import StatementError, normalize_header, normalize_statement

SFT_FIELDS: tuple[str, ...] = (
    "name",
    "split",
    "informal_prefix",
    "formal_statement",
    "goal",
    "header",
    "formal_proof",
)


def dedup_key(header: str, statement: str) -> str:
    """Two rows are duplicates exactly when their keys are equal."""
    return normalize_header(header) + "\n" + normalize_statement(statement)


def _docstring(text: str) -> str:
    text = text.replace("-/", "- /").strip()
    return f"/-- {text} -/\n" if text else ""


def sft_rows(proof_records: Iterable[dict[str, Any]], items: dict[str, dict[str, Any]], *, round_: int,
             split: str = "train") -> list[dict[str, Any]]:
    """SFT rows for a round's proved and disproved statements (in input order)."""
    rows: list[dict[str, Any]] = []
    for rec in proof_records:
        item = items.get(rec["id"])
        if item is None:
            continue
        if rec.get("result") == "proved" and rec.get("proof"):
            name, stmt, proof, kind = item["name"], rec["statement"], rec["proof"], "proof"
            prefix = _docstring(item.get("informal") or "")
        elif rec.get("result") == "disproved" and rec.get("negation_proof"):
            name, stmt, proof, kind = item["name"] + "_neg", rec["negation"], rec["negation_proof"], "disproof"
            prefix = _docstring(f"The following claim is false: {item.get('informal') or ''}")
        else:
            continue
        try:
            key = dedup_key(item["header"], stmt)
        except StatementError:
            continue
        rows.append(
            {
                "name": name,
                "split": split,
                "informal_prefix": prefix,
                "formal_statement": stmt,
                "goal": "",
                "header": item["header"],
                "formal_proof": proof,
                "id": rec["id"],
                "round": round_,
                "kind": kind,
                "dedup_key": key,
            }
        )
    return rows


def dedup(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with a repeated ``dedup_key`` removed, first occurrence kept, order preserved."""
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["dedup_key"] in seen:
            continue
        seen.add(r["dedup_key"])
        out.append(r)
    return out


def append_unique(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Append rows whose ``dedup_key`` is not yet in the JSONL at ``path``; return how many were new."""
    new = 0
    with JsonlWriter(path, key=lambda r: r["dedup_key"]) as w:
        for r in rows:
            new += int(w.write(r))
    return new


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    return list(iter_jsonl(path)) if path.exists() else []


def save_hf(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Save rows as a Hugging Face ``datasets`` dataset (``load_from_disk(path)`` reads it back)."""
    from datasets import Dataset

    path = Path(path)
    columns = list(SFT_FIELDS) + ["id", "round", "kind", "dedup_key"]
    data = {c: [r.get(c) for r in rows] for c in columns}
    if not rows:
        data = {c: [] for c in columns}
    Dataset.from_dict(data).save_to_disk(str(path))
    return path
