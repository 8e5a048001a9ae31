"""Per-round statistics and the reports written from them (JSON for machines, Markdown for people)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

#: Round statistics shown in the summary table, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "round",
    "statements_in",
    "formalized",
    "filtered_quality",
    "filtered_inconsistent",
    "attempted",
    "proved",
    "disproved",
    "open",
    "pass_rate",
    "new_rows",
    "dataset_total",
    "final_loss",
)


def round_stats(
    *,
    round_: int,
    items: list[dict[str, Any]],
    formalized: dict[str, dict[str, Any]],
    graded: dict[str, dict[str, Any]],
    consistency: dict[str, dict[str, Any]],
    proofs: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Counts for one round, from its stage records (so they can be recomputed from the files)."""
    status = Counter(r.get("status") for r in formalized.values())
    grades = Counter(str(r.get("grade")) for r in graded.values())
    kept_quality = sum(1 for r in graded.values() if r.get("keep"))
    inconsistent = sum(1 for r in consistency.values() if not r.get("consistent"))
    results = Counter(r.get("result") for r in proofs.values())
    attempted = len(proofs)
    proved, disproved = results.get("proved", 0), results.get("disproved", 0)
    cancelled = sum(
        1 for r in proofs.values() if r.get("positive", {}).get("cancelled") or r.get("negative", {}).get("cancelled")
    )
    return {
        "round": round_,
        "statements_in": len(items),
        "formalized": status.get("formalized", 0),
        "abstained": status.get("abstained", 0),
        "formalize_errors": status.get("error", 0),
        "graded": len(graded),
        "grades": dict(sorted(grades.items())),
        "passed_quality": kept_quality,
        "filtered_quality": len(graded) - kept_quality,
        "checked_consistency": len(consistency),
        "filtered_inconsistent": inconsistent,
        "attempted": attempted,
        "proved": proved,
        "disproved": disproved,
        "open": results.get("open", 0),
        "prove_errors": results.get("error", 0),
        "cancelled_searches": cancelled,
        "pass_rate": proved / attempted if attempted else 0.0,
        "decided_rate": (proved + disproved) / attempted if attempted else 0.0,
    }


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "" if v is None else str(v)


def round_markdown(stats: dict[str, Any]) -> str:
    lines = [f"# Synthetic data round {stats['round']}", "", "| statistic | value |", "| --- | --- |"]
    for k, v in stats.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}: {b}" for a, b in v.items()) or "-"
        lines.append(f"| {k} | {_fmt(v)} |")
    return "\n".join(lines) + "\n"


def write_round_report(round_dir: Path, stats: dict[str, Any]) -> None:
    (round_dir / "report.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False), encoding="utf-8")
    (round_dir / "report.md").write_text(round_markdown(stats), encoding="utf-8")


def write_summary(out_dir: Path, rounds: list[dict[str, Any]]) -> None:
    """``summary.json`` (every round's full stats) and ``summary.md`` (one table row per round)."""
    (out_dir / "summary.json").write_text(json.dumps({"rounds": rounds}, indent=2, ensure_ascii=False),
                                          encoding="utf-8")
    lines = [
        "# Synthetic data: expert-iteration summary",
        "",
        "| " + " | ".join(SUMMARY_COLUMNS) + " |",
        "| " + " | ".join("---" for _ in SUMMARY_COLUMNS) + " |",
    ]
    for r in rounds:
        row = dict(r)
        row["final_loss"] = (r.get("finetune") or {}).get("final_loss")
        lines.append("| " + " | ".join(_fmt(row.get(c)) for c in SUMMARY_COLUMNS) + " |")
    (out_dir / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
