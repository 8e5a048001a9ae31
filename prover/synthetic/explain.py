"""Why a synthetic-data round produced nothing, in one line for the console.

"round 1: 0 proved, 0 disproved of 0 attempted" says that a round was empty, not why. The stage
files of the round hold each item's fate (``formalized.jsonl``: status and reason; ``quality.jsonl``:
grade; ``consistency.jsonl``; ``proofs.jsonl``: result), so the first stage that let nothing through is
named with how many items it stopped and their most common reason.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from prover.records import iter_jsonl


def _records(path: Path) -> list[dict[str, Any]]:
    try:
        return list(iter_jsonl(path)) if path.exists() else []
    except ValueError:  # a damaged stage file: the counts still say which stage stopped
        return []


def _common(reasons: list[str]) -> str:
    """The most common reason (numbers folded together, so "1 statement(s)" and "2 statement(s)" count as one)."""
    if not reasons:
        return ""
    shapes = Counter(re.sub(r"\d+(?:\.\d+)?", "N", r) for r in reasons)
    shape, count = shapes.most_common(1)[0]
    example = next(r for r in reasons if re.sub(r"\d+(?:\.\d+)?", "N", r) == shape)
    more = "" if count == len(reasons) else f" ({count} of them; other reasons in the stage file)"
    return f": {example}{more}"


def why_round_is_empty(round_dir: Path, stats: dict[str, Any]) -> str | None:
    """One line naming the stage that stopped every item of a round, or None when the round decided something."""
    if stats.get("proved", 0) or stats.get("disproved", 0):
        return None
    n = int(stats.get("statements_in", 0))
    if n == 0:
        return "no informal problems went in"
    if not stats.get("formalized", 0):
        recs = [r for r in _records(round_dir / "formalized.jsonl") if r.get("status") != "formalized"]
        kinds = Counter(str(r.get("status")) for r in recs)
        what = " and ".join(f"{c}/{n} {k}" for k, c in kinds.most_common()) or f"{n}/{n} not formalized"
        reasons = [str(r.get("reason") or "") for r in recs if r.get("reason")]
        return f"stage 1 (formalize): {what}{_common(reasons)} (reasons in {round_dir / 'formalized.jsonl'})"
    if not stats.get("passed_quality", 0):
        grades = ", ".join(f"{g}: {c}" for g, c in sorted((stats.get("grades") or {}).items()))
        return (f"stage 2 (quality): {stats.get('filtered_quality', 0)}/{stats.get('formalized', 0)} formalized "
                f"statements filtered (grades {grades or 'none'}; quality.keep decides which pass)")
    if stats.get("checked_consistency", 0) and stats.get("filtered_inconsistent", 0) == stats["checked_consistency"]:
        return (f"stage 3 (consistency): {stats['filtered_inconsistent']}/{stats['checked_consistency']} statements "
                "have contradictory hypotheses (False follows from them)")
    attempted = int(stats.get("attempted", 0))
    if not attempted:
        return "stage 4 (prove): no statement reached the prover"
    errors = int(stats.get("prove_errors", 0))
    tail = f"; {errors} raised (errors in proofs.jsonl)" if errors else ""
    return (f"stage 4 (prove): {attempted}/{attempted} statements neither proved nor disproved within the "
            f"prove budget{tail}")
