"""An eval run's summary: ``summary.json`` (unbiased pass@k per split and category, with the
sampling budget) computed from the run's ``outcomes.jsonl``.

Its own module because both the eval loop (``evals.run``) and the report (``evals.report``)
need it, and the report must not depend on the loop.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.passk import SampleCounts, counts_from_record, summarize
from prover.records import Outcome, Problem, iter_jsonl, read_jsonl

OUTCOMES = "outcomes.jsonl"
SUMMARY = "summary.json"


def load_outcomes(run_dir: Path) -> list[Outcome]:
    path = Path(run_dir) / OUTCOMES
    return read_jsonl(path, Outcome) if path.exists() else []


def write_summary(
    run_dir: Path, problems: list[Problem] | None = None, meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``summary.json`` from the outcomes on disk (only the dataset's problems when given).

    ``meta``: the run's ``eval`` meta, used when no record holds it (nothing recorded yet, e.g.
    every problem failed), so the summary and report still name the dataset, model and budget.
    """
    path = Path(run_dir) / OUTCOMES
    records = list(iter_jsonl(path)) if path.exists() else []
    if problems is not None:
        order = {p.name: i for i, p in enumerate(problems)}
        records = sorted((r for r in records if r["problem"]["name"] in order),
                         key=lambda r: order[r["problem"]["name"]])
    meta = (records[0].get("meta", {}).get("eval", {}) if records else {}) or meta or {}
    counts = [counts_from_record(r) for r in records]
    if problems is not None:
        expected = len(problems)
    else:  # e.g. proofforge-report on a killed run: the dataset size its records were written for
        sizes = [r.get("meta", {}).get("eval", {}).get("dataset", {}).get("count") for r in records]
        expected = max([len(records), *(n for n in sizes if isinstance(n, int))])
    return _write_summary(run_dir, counts, meta, expected)


def summary_of_fresh_run(
    run_dir: Path, problems: list[Problem], counts: dict[str, SampleCounts], meta: dict[str, Any]
) -> dict[str, Any]:
    """:func:`write_summary` for a run whose ``outcomes.jsonl`` holds only what this run wrote
    (``counts``, each record's ``meta["eval"]`` being ``meta``): the same file, without reading it back."""
    order = {p.name: i for i, p in enumerate(problems)}
    names = sorted((name for name in counts if name in order), key=order.__getitem__)
    return _write_summary(run_dir, [counts[name] for name in names], meta, len(problems))


def _write_summary(
    run_dir: Path, counts: list[SampleCounts], meta: dict[str, Any], expected: int
) -> dict[str, Any]:
    groups = summarize(counts, meta.get("budget_text", ""))
    summary = {
        "run": str(run_dir),
        "dataset": meta.get("dataset", {}),
        "lean": meta.get("lean", {}),
        "model": meta.get("model", ""),
        "strategy": meta.get("strategy", ""),
        "budget": meta.get("budget", {}),
        "budget_text": meta.get("budget_text", ""),
        "sampling": meta.get("sampling"),
        "protocol": meta.get("protocol"),
        "expected_problems": expected,
        "groups": {k: g.to_dict() for k, g in groups.items()},
        "problems": [c.to_dict() for c in counts],
    }
    (Path(run_dir) / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def print_summary(summary: dict[str, Any], run_dir: Path, written: int, errors: int) -> None:
    from rich.console import Console
    from rich.table import Table

    g = summary["groups"].get("all", {})
    table = Table(title=f"{summary['strategy']} on {summary['dataset'].get('name', '?')} "
                        f"({summary['dataset'].get('version', '')}, split {summary['dataset'].get('split', '')})")
    table.add_column("group")
    table.add_column("problems", justify="right")
    table.add_column("solved", justify="right")
    ks = sorted(int(k) for k in g.get("pass_at_k", {}))
    shown = [k for k in ks if k in (1, ks[-1]) or k & (k - 1) == 0] if ks else []
    for k in shown:
        table.add_column(f"pass@{k}", justify="right")
    for name, row in summary["groups"].items():
        cells = [name, str(row["problems"]), f"{row['solved']} ({row['solved_rate']:.1%})"]
        cells += [f"{row['pass_at_k'][str(k)]:.1%}" if str(k) in row["pass_at_k"] else "-" for k in shown]
        table.add_row(*cells)
    console = Console(stderr=False)
    console.print(table)
    console.print(f"budget: {summary['budget_text']}")
    done = len(summary["problems"])
    console.print(f"{done}/{summary['expected_problems']} problems recorded ({written} this run, "
                  f"{errors} errors) in {run_dir}")
