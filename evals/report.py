"""Eval reports: Markdown and one self-contained HTML page per run, and side-by-side comparisons.

A report shows the pass@k curve, per-category bars, the budget every number was measured
under, the dataset file/version/split and Lean pins, and a table of proved problems that
links to each proof's text further down the page. The HTML embeds its images as base64
so the one file can be mailed or attached to an issue; the Markdown references the PNGs
written beside it.

``proofforge-report RUN [RUN...]``: one run -> its report in the run folder; several ->
a comparison (one curve per run; overall, per-split and per-category tables; each run named by the
overrides it does not share) in ``--out``, by default ``<first run>/comparisons/vs_<the others>``.
Every report opens with a banner saying whether real Lean judged (and its pins) or a test double,
and has a failure section (evals/failures.py): unproved problems with their best attempt, Lean
errors by kind, and, for correction rounds, what each round added.
A sweep (multirun) folder -> one table over its jobs and pass@k against the swept values
(``evals/sweep_report.py``).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals import failures
from evals.compare import group_names, group_rows, run_names
from evals.passk import GroupStats
from evals.render import ReportError, html_table, img, legend_outside, md_table, page, pyplot, wrap
from evals.summary import OUTCOMES, SUMMARY, load_outcomes, write_summary
from prover.records import Outcome, RecordError

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
CURVE_PNG = "pass_at_k.png"
CATEGORIES_PNG = "categories.png"


@dataclass
class RunData:
    """What a report needs from one run folder."""

    path: Path
    summary: dict[str, Any]
    outcomes: list[Outcome]
    overrides: list[str] = field(default_factory=list)
    #: set by a comparison: the overrides this run does not share with the others (evals/compare.py)
    name: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        s = self.summary
        base = f"{s.get('strategy') or '?'} / {s.get('model') or '?'}"
        extra = " ".join(o for o in self.overrides if not o.startswith(("hydra.", "out_dir=")))
        return f"{base} [{extra}]" if extra else f"{base} ({self.path.name})"

    def group(self, name: str = "all") -> GroupStats | None:
        g = self.summary.get("groups", {}).get(name)
        return GroupStats.from_dict(g) if g else None


def load_run(run_dir: str | Path, *, need_results: bool = False) -> RunData:
    """Read a run folder's summary (recomputed from ``outcomes.jsonl`` when missing) and outcomes.

    ``need_results``: a folder whose ``outcomes.jsonl`` holds nothing is a ReportError saying so
    (``proofforge-report`` on it), instead of a page of "?" (the eval's own end-of-run report of a
    run in which every problem raised still renders, with its incomplete-run note).
    """
    path = Path(run_dir).expanduser().resolve()
    if not (path / OUTCOMES).exists():
        raise ReportError(f"{path}: not an eval run folder (no {OUTCOMES})")
    try:
        outcomes = load_outcomes(path)
        summary_path = path / SUMMARY
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else write_summary(path)
    except (RecordError, json.JSONDecodeError) as e:
        raise ReportError(f"{path}: {e}") from None
    if need_results and not outcomes:
        raise ReportError(f"{path}: no results yet ({OUTCOMES} holds no outcome); run or resume the eval "
                          f"into this folder first (hydra.run.dir={path})")
    overrides: list[str] = []
    ov = path / ".hydra" / "overrides.yaml"
    if ov.exists():
        overrides = [m.group(1).strip() for m in re.finditer(r"^-\s*(.+)$", ov.read_text(), re.MULTILINE)]
    return RunData(path, summary, outcomes, overrides)


# ----------------------------------------------------------------------- plots


def plot_curves(runs: list[RunData], path: Path, group: str = "all") -> Path:
    """pass@k against k (log2 x-axis), one line per run, with solved-within-budget as a marker."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for run in runs:
        g = run.group(group)
        if g is None or not g.pass_at_k:
            continue
        ks = sorted(g.pass_at_k)
        who = f"{run.label}: " if len(runs) > 1 else ""  # one run: the page's title names it
        ax.plot(ks, [100 * g.pass_at_k[k] for k in ks], marker="o", label=f"{who}pass@k")
        ax.scatter([ks[-1]], [100 * g.solved_rate], marker="*", s=120, label=f"{who}solved (whole budget)")
    ax.set_xscale("log", base=2)
    all_ks = sorted({k for r in runs if r.group(group) for k in r.group(group).pass_at_k})
    if all_ks:
        ticks = _ks_shown(all_ks)
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(k) for k in ticks])
        ax.minorticks_off()
    ax.set_xlabel("k (samples)")
    ax.set_ylabel("problems proved (%)")
    ax.set_ylim(0, 100)
    budgets = sorted({r.summary.get("budget_text", "") for r in runs})
    ax.set_title(wrap("pass@k  —  " + "; ".join(b for b in budgets if b), 80), fontsize=8, loc="left")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        legend_outside(ax)
    else:
        ax.text(0.5, 0.5, "no outcomes yet", ha="center", va="center", transform=ax.transAxes)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_categories(runs: list[RunData], path: Path) -> Path:
    """Solved rate per source category, grouped bars per run."""
    plt = pyplot()
    cats = sorted({k.split("=", 1)[1] for r in runs for k in r.summary.get("groups", {}) if k.startswith("source=")})
    fig, ax = plt.subplots(figsize=(max(6.4, 0.9 * len(cats) + 2), 4.0), dpi=110)
    width = 0.8 / max(1, len(runs))
    for i, run in enumerate(runs):
        values, counts = [], []
        for c in cats:
            g = run.summary["groups"].get(f"source={c}")
            values.append(100 * g["solved_rate"] if g else 0.0)
            counts.append(f"{g['solved']}/{g['problems']}" if g else "")
        xs = [j + i * width - 0.4 + width / 2 for j in range(len(cats))]
        bars = ax.bar(xs, values, width, label=run.label)
        for bar, text in zip(bars, counts, strict=True):
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                        va="bottom", fontsize=7)
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels(cats, rotation=30, ha="right")
    ax.set_ylabel("solved within budget (%)")
    ax.set_ylim(0, 105)
    ax.set_title("solved within budget, per category (solved/problems on each bar)", fontsize=8, loc="left")
    if cats and len(runs) > 1:  # one run: the page's title names it
        legend_outside(ax)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


# ---------------------------------------------------------------------- content


def _anchor(name: str) -> str:
    return "proof-" + re.sub(r"[^A-Za-z0-9_.-]", "-", name)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ks_shown(ks: list[int]) -> list[int]:
    """1, powers of two and the largest k: a readable row even for n=128."""
    return [k for k in ks if k == 1 or k == ks[-1] or k & (k - 1) == 0]


def _passk_rows(run: RunData) -> tuple[list[str], list[list[str]]]:
    groups = run.summary.get("groups", {})
    all_ks = sorted({int(k) for g in groups.values() for k in g.get("pass_at_k", {})})
    ks = _ks_shown(all_ks) if all_ks else []
    head = ["group", "problems", "solved (whole budget)"] + [f"pass@{k}" for k in ks] + ["n", "budget"]
    rows = []
    for name, g in groups.items():
        pk = g.get("pass_at_k", {})
        rows.append(
            [name, str(g["problems"]), f"{g['solved']} ({_pct(g['solved_rate'])})"]
            + [_pct(pk[str(k)]) if str(k) in pk else "-" for k in ks]
            + [str(g["n"]), g.get("budget", "")]
        )
    return head, rows


def _proved(run: RunData) -> list[tuple[Outcome, Any]]:
    proved = [(o, o.first_proof) for o in run.outcomes if o.proved and o.first_proof is not None]
    return sorted(proved, key=lambda pair: (pair[0].problem.split, pair[0].problem.name))


def _provenance(run: RunData) -> list[tuple[str, str]]:
    s = run.summary
    d = s.get("dataset", {})
    pins = s.get("lean", {}).get("pins", {})
    return [
        ("run", str(run.path)),
        ("dataset", f"{d.get('name', '?')} — {d.get('file', '?')}"),
        ("version / split", f"{d.get('version', '?')} / {d.get('split', '?')}"),
        ("statements written for", f"Lean {d.get('lean', '?')}; Mathlib {d.get('mathlib', '?')}"),
        ("verifier", f"{s.get('lean', {}).get('backend', '?')}; "
                     + ", ".join(f"{k}={v}" for k, v in pins.items() if k != "project")),
        ("model", str(s.get("model", "?"))),
        ("strategy", str(s.get("strategy", "?"))),
        ("budget", str(s.get("budget_text", "?"))),
        ("protocol", (f"{s['protocol'].get('name', '?')} ({s['protocol'].get('source', '?')})"
                      if isinstance(s.get("protocol"), dict) else "none (ProofForge defaults)")),
        ("Lean limits", ", ".join(f"{k}={s.get('lean', {})[k]}" for k in ("timeout", "header_timeout",
                                  "memory_limit_gb") if k in s.get("lean", {})) or "?"),
        ("problems recorded", f"{len(s.get('problems', []))} of {s.get('expected_problems', '?')}"),
    ]


def incomplete_note(summary: dict[str, Any]) -> str:
    """A warning when the numbers cover fewer problems than the dataset has, else ''."""
    done, expected = len(summary.get("problems", [])), summary.get("expected_problems")
    if not isinstance(expected, int) or done >= expected:
        return ""
    return (f"Incomplete run: {done} of {expected} problems recorded; pass@k and 'solved' are over the "
            f"recorded problems only. Rerun with the same folder to resume (errors.jsonl lists problems "
            f"whose strategy failed).")


#: Unproved problems shown with their best attempt's code (the rest are listed in the table only).
SHOWN_ATTEMPTS = 20


def _failure_tables(run: RunData) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The failure section's tables: Lean errors by kind, proofs per round, unproved problems."""
    tables: dict[str, tuple[list[str], list[list[str]]]] = {}
    counts = failures.error_counts(run.outcomes)
    if counts:
        tables["errors"] = (["kind", "failed attempts", "problems"], [[k, str(n), str(p)] for k, n, p in counts])
    if failures.has_rounds(run.summary, run.outcomes):
        rounds = failures.proofs_per_round(run.outcomes)
        rows = [[("first samples (prover)" if r == 0 else f"correction round {r}"), str(n), str(t)]
                for r, n, t in rounds]
        tables["rounds"] = (["round", "problems first proved", "proved so far"], rows or [["-", "0", "0"]])
    items = failures.unproved(run.outcomes)
    tables["unproved"] = (["problem", "split", "category", "attempts", "best attempt", "its first error"],
                          [[u.name, u.split, u.category, str(u.attempts), f"{u.kind} (round {u.round})",
                            u.error] for u in items])
    return tables


_FAILURE_NOTE = ("Best attempt: the one Lean judged with the fewest errors (later correction rounds first on ties); "
                 "error kinds are counted over every failed attempt, from its first Lean error.")


def _failure_markdown(run: RunData) -> list[str]:
    tables = _failure_tables(run)
    items = failures.unproved(run.outcomes)
    parts = [f"## What did not work ({len(items)} unproved)", "", _FAILURE_NOTE, ""]
    if "errors" in tables:
        parts += ["### Lean errors by kind", "", md_table(*tables["errors"]), ""]
    if "rounds" in tables:
        parts += ["### Problems each round added", "", md_table(*tables["rounds"]), ""]
    if items:
        parts += ["### Unproved problems", "", md_table(*tables["unproved"]), ""]
        for u in items[:SHOWN_ATTEMPTS]:
            if u.code:
                parts += [f"#### {u.name}: best attempt ({u.kind})", "", "```lean4", u.code.rstrip(), "```", ""]
        if len(items) > SHOWN_ATTEMPTS:
            parts += [f"({len(items) - SHOWN_ATTEMPTS} more best attempts are in {OUTCOMES}.)", ""]
    return parts


def _failure_html(run: RunData) -> list[str]:
    tables = _failure_tables(run)
    items = failures.unproved(run.outcomes)
    body = [f"<h2>What did not work ({len(items)} unproved)</h2>", f'<p class="note">{html.escape(_FAILURE_NOTE)}</p>']
    if "errors" in tables:
        body += ["<h3>Lean errors by kind</h3>", html_table(*tables["errors"])]
    if "rounds" in tables:
        body += ["<h3>Problems each round added</h3>", html_table(*tables["rounds"])]
    if items:
        body += ["<h3>Unproved problems</h3>", html_table(*tables["unproved"])]
        for u in items[:SHOWN_ATTEMPTS]:
            if u.code:
                body.append(f"<details><summary>{html.escape(u.name)}: best attempt ({html.escape(u.kind)})"
                            f"</summary><pre>{html.escape(u.code.rstrip())}</pre></details>")
        if len(items) > SHOWN_ATTEMPTS:
            body.append(f"<p>({len(items) - SHOWN_ATTEMPTS} more best attempts are in {OUTCOMES}.)</p>")
    return body


def _banner_markdown(summaries: list[dict[str, Any]]) -> list[str]:
    out = []
    for text, warn in dict.fromkeys(failures.verifier_banner(s) for s in summaries):
        out += [f"> **{'Warning: ' if warn else ''}{text}**" if warn else f"> {text}", ""]
    return out


def _banner_html(summaries: list[dict[str, Any]]) -> list[str]:
    out = []
    for text, warn in dict.fromkeys(failures.verifier_banner(s) for s in summaries):
        cls = "banner warn" if warn else "banner"
        out.append(f'<p class="{cls}">{"<strong>Warning:</strong> " if warn else ""}{html.escape(text)}</p>')
    return out


def render_markdown(run: RunData, curve: str, categories: str) -> str:
    parts = [f"# Eval report: {run.label}", "", *_banner_markdown([run.summary])]
    parts.append(md_table(["", ""], [list(x) for x in _provenance(run)]))
    if incomplete_note(run.summary):
        parts += ["", f"**{incomplete_note(run.summary)}**"]
    parts += ["", "## pass@k", "", f"![pass@k]({curve})", "", md_table(*_passk_rows(run)), ""]
    parts += ["pass@k uses the unbiased estimator over each problem's i.i.d. first-round samples; "
              "'solved' counts any attempt within the whole budget (corrections, search).", ""]
    parts += ["## Per category", "", f"![categories]({categories})", ""]
    parts += _failure_markdown(run)
    proved = _proved(run)
    parts += [f"## Proved problems ({len(proved)})", ""]
    if proved:
        rows = [[f"[{o.problem.name}](#{_anchor(o.problem.name)})", o.problem.split, o.problem.source,
                 str(len(o.candidates)), str(c.origin.round)] for o, c in proved]
        parts.append(md_table(["problem", "split", "category", "attempts", "round of first proof"], rows))
        parts += ["", "## Proofs", ""]
        for o, c in proved:
            parts += [f'<a id="{_anchor(o.problem.name)}"></a>', "", f"### {o.problem.name}", "",
                      "```lean4", c.code.rstrip(), "```", ""]
    else:
        parts.append("No problem was proved.")
    return "\n".join(parts) + "\n"


def render_html(run: RunData, curve: Path, categories: Path) -> str:
    body = [f"<h1>Eval report: {html.escape(run.label)}</h1>", *_banner_html([run.summary]),
            html_table(["", ""], [list(x) for x in _provenance(run)]),
            *([f"<p><strong>{html.escape(incomplete_note(run.summary))}</strong></p>"]
              if incomplete_note(run.summary) else []),
            "<h2>pass@k</h2>", img(curve, "pass@k curve"), html_table(*_passk_rows(run)),
            '<p class="note">pass@k uses the unbiased estimator over each problem\'s i.i.d. first-round samples; '
            "'solved' counts any attempt within the whole budget (corrections, search).</p>",
            "<h2>Per category</h2>", img(categories, "per-category bars"), *_failure_html(run)]
    proved = _proved(run)
    body.append(f"<h2>Proved problems ({len(proved)})</h2>")
    if proved:
        rows = [[f'<a href="#{_anchor(o.problem.name)}">{html.escape(o.problem.name)}</a>', o.problem.split,
                 o.problem.source, str(len(o.candidates)), str(c.origin.round)] for o, c in proved]
        body.append(html_table(["problem", "split", "category", "attempts", "round of first proof"], rows,
                                raw_first=True))
        body.append("<h2>Proofs</h2>")
        for o, c in proved:
            body.append(f'<h3>{html.escape(o.problem.name)}</h3><pre id="{_anchor(o.problem.name)}">'
                        f"{html.escape(c.code.rstrip())}</pre>")
    else:
        body.append("<p>No problem was proved.</p>")
    return page(f"ProofForge eval: {run.label}", body)


# ---------------------------------------------------------------------- writers


def write_report(run_dir: str | Path, *, need_results: bool = False) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and the PNGs into the run folder."""
    run = load_run(run_dir, need_results=need_results)
    curve = plot_curves([run], run.path / CURVE_PNG)
    cats = plot_categories([run], run.path / CATEGORIES_PNG)
    md = run.path / REPORT_MD
    md.write_text(render_markdown(run, CURVE_PNG, CATEGORIES_PNG), encoding="utf-8")
    html_path = run.path / REPORT_HTML
    html_path.write_text(render_html(run, curve, cats), encoding="utf-8")
    return {"markdown": md, "html": html_path, "curve": curve, "categories": cats}


def default_comparison_dir(run_dirs: list[str | Path]) -> Path:
    """Where a comparison goes without ``--out``: inside the first run folder, named by the others."""
    first, *others = [Path(r).expanduser().resolve() for r in run_dirs]
    name = "vs_" + "+".join(p.name for p in others)
    if len(name) > 120:
        import hashlib

        name = name[:100] + "-" + hashlib.sha1(name.encode()).hexdigest()[:10]
    return first / "comparisons" / name


def write_comparison(run_dirs: list[str | Path], out_dir: str | Path | None = None) -> dict[str, Path]:
    """Several runs side by side: one curve per run; overall, per-split and per-category tables.

    Each run is named by the overrides it does not share with the others (evals/compare.py).
    ``out_dir`` None: :func:`default_comparison_dir` (inside the first run folder).
    """
    runs = [load_run(r, need_results=True) for r in run_dirs]
    for run, name in zip(runs, run_names([r.overrides for r in runs], [r.summary for r in runs],
                                         [r.path.name for r in runs]), strict=True):
        run.name = name
    out = Path(out_dir) if out_dir is not None else default_comparison_dir(run_dirs)
    out.mkdir(parents=True, exist_ok=True)
    curve = plot_curves(runs, out / CURVE_PNG)
    cats = plot_categories(runs, out / CATEGORIES_PNG)
    all_ks = sorted({k for r in runs if r.group() for k in r.group().pass_at_k})
    ks = _ks_shown(all_ks) if all_ks else []
    head = ["run", "dataset", "problems", "solved"] + [f"pass@{k}" for k in ks] + ["budget"]
    rows = []
    for r in runs:
        g = r.group()
        d = r.summary.get("dataset", {})
        if g is None:
            continue
        rows.append([r.label, f"{d.get('name', '?')} {d.get('version', '')}/{d.get('split', '')}",
                     str(g.problems), f"{g.solved} ({_pct(g.solved_rate)})"]
                    + [_pct(g.pass_at_k[k]) if k in g.pass_at_k else "-" for k in ks] + [g.budget])
    summaries = [r.summary for r in runs]
    names = [r.label for r in runs]
    per = {title: (["split" if prefix == "split" else "category", "run", "problems", "solved"]
                   + [f"pass@{k}" for k in ks], group_rows(names, summaries, group_names(summaries, prefix), ks))
           for title, prefix in (("Per split", "split"), ("Per category", "source"))}
    md = out / REPORT_MD
    lines = ["# Eval comparison", "", *_banner_markdown(summaries), f"![pass@k]({CURVE_PNG})", "",
             "## Overall", "", md_table(head, rows), ""]
    for title, (h, r) in per.items():
        if r:
            lines += [f"## {title}", "", md_table(h, r), ""]
    lines += [f"![categories]({CATEGORIES_PNG})", "", "## Runs", ""]
    lines += [f"- {r.label}: `{r.path}`" for r in runs] + [""]
    md.write_text("\n".join(lines), encoding="utf-8")
    html_path = out / REPORT_HTML
    body = ["<h1>Eval comparison</h1>", *_banner_html(summaries), img(curve, "pass@k curves"),
            "<h2>Overall</h2>", html_table(head, rows)]
    for title, (h, r) in per.items():
        if r:
            body += [f"<h2>{title}</h2>", html_table(h, r)]
    body += [img(cats, "per-category bars"), "<h2>Runs</h2>",
             "<ul>" + "".join(f"<li>{html.escape(r.label)}: <code>{html.escape(str(r.path))}</code></li>"
                              for r in runs) + "</ul>"]
    html_path.write_text(page("ProofForge eval comparison", body), encoding="utf-8")
    return {"markdown": md, "html": html_path, "curve": curve, "categories": cats}
