"""Stage 1: informal problems to formal statements, through the project's autoformaliser.

The autoformaliser (:class:`autoformalize.formalizer.Formalizer`) samples, type-checks,
back-translates, judges and abstains; this module only adapts its results to the pipeline's
records: one per informal problem with a Lean-safe theorem name and a statement ending in
``:= by`` (DeepSeek-Prover's ``formal_statement`` convention), so later stages can append a proof.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from prover.records import RecordError, json_lines
from prover.synthetic.statements import StatementError, with_name

DEFAULT_INPUT = Path(__file__).resolve().parent / "data" / "informal.jsonl"
#: ``prompt_style=tiny``: problems in the tiny model's controlled English (true, false, vacuous, ill-posed).
TINY_INPUT = Path(__file__).resolve().parent / "data" / "informal_tiny.jsonl"


def default_input(style: str = "full") -> Path:
    return TINY_INPUT if style == "tiny" else DEFAULT_INPUT


class FormalizerLike(Protocol):
    async def aformalize(self, items: Any) -> list[Any]: ...


def lean_name(item_id: str) -> str:
    """A Lean identifier for an item id (the autoformaliser renames theorems the same way)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", item_id).strip("_") or "stmt"
    return name if name[0].isalpha() else f"s_{name}"


def load_informal(path: str | Path | None, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Read the informal problems: JSONL with ``id`` and ``informal_statement`` (or ``informal``).

    Raises :class:`~prover.records.RecordError` naming the file and line for a bad row or a
    repeated id.
    """
    path = Path(path) if path else DEFAULT_INPUT
    if not path.is_file():
        raise RecordError(f"{path}: informal problems file not found")
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    # strict: a bad last line of an input is an error, not a torn write to skip
    for i, row in json_lines(path, RecordError):
        if not isinstance(row, dict):
            raise RecordError(f"{path}: row {i}: expected a JSON object")
        text = row.get("informal_statement", row.get("informal"))
        if not isinstance(text, str) or not text.strip():
            raise RecordError(f"{path}: row {i}: needs a non-empty string 'informal_statement'")
        ident = str(row.get("id", row.get("name", f"item_{i}")))
        if ident in seen:
            raise RecordError(f"{path}: row {i}: id {ident!r} repeats an earlier row")
        seen.add(ident)
        items.append({"id": ident, "informal": text.strip(), "header": row.get("header")})
        if limit is not None and len(items) >= limit:
            break
    return items


def _get(result: Any, name: str, default: Any = None) -> Any:
    if isinstance(result, dict):
        return result.get(name, default)
    return getattr(result, name, default)


async def formalize_batch(
    formalizer: FormalizerLike, items: list[dict[str, Any]], *, header: str
) -> list[dict[str, Any]]:
    """One stage record per item: ``status`` formalized | abstained | error, plus the statement."""
    inputs = [
        {"id": it["id"], "informal_statement": it["informal"], "header": it.get("header") or header}
        for it in items
    ]
    results = await formalizer.aformalize(inputs)
    if len(results) != len(items):
        raise RuntimeError(f"formalizer returned {len(results)} results for {len(items)} problems")
    records = []
    for it, res in zip(items, results, strict=True):
        name = lean_name(it["id"])
        rec: dict[str, Any] = {
            "id": it["id"],
            "informal": it["informal"],
            "name": name,
            "header": _get(res, "header") or it.get("header") or header,
            "status": _get(res, "status", "abstained"),
            "statement": None,
            "reason": _get(res, "reason", ""),
            "judge_score": _get(res, "judge_score"),
        }
        stmt = _get(res, "statement")
        if rec["status"] == "formalized" and stmt:
            try:
                rec["statement"] = with_name(stmt, name)
            except StatementError as e:
                rec["status"], rec["reason"] = "error", str(e)
        elif rec["status"] == "formalized":
            rec["status"], rec["reason"] = "error", "formalizer said formalized but gave no statement"
        records.append(rec)
    return records
