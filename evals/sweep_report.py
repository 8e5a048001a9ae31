"""A Hydra sweep's report: one table over its jobs and pass@k plotted against the swept values.

``proofforge-report multirun/eval/<time>`` (a sweep folder: one job folder per override set, see
``configs/hydra/proofforge.yaml``) writes ``sweep_report.md``, ``sweep_report.html`` (images
embedded) and ``sweep_pass_at_k.png`` into the sweep folder. Each row is one job: its overrides, its
status (a failed job shows its error from ``job_status.json``), problems recorded, solved, pass@1
and pass@n with the budget, and its time. The plot puts the first swept key on the x-axis and
draws one line per combination of the other swept keys, for pass@1 and pass@n.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.config import JOB_STATUS, SWEEP_STATUS, read_job_status

SWEEP_MD = "sweep_report.md"
SWEEP_HTML = "sweep_report.html"
SWEEP_PNG = "sweep_pass_at_k.png"


@dataclass
class SweepJob:
    """One job folder of a sweep, read whether it finished, failed or never started its run."""

    path: Path
    overrides: dict[str, str]
    status: str
    error: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None

    def group(self) -> dict[str, Any]:
        return self.summary.get("groups", {}).get("all", {})

    def pass_at(self, k: int | None) -> float | None:
        """pass@k (k=None: pass@n, the job's whole i.i.d. budget), or None when not measured."""
        pk = self.group().get("pass_at_k", {})
        if not pk:
            return None
        key = str(max(int(x) for x in pk)) if k is None else str(k)
        return pk.get(key)


def is_sweep_dir(path: Path) -> bool:
    """A Hydra multirun folder: ``multirun.yaml`` or job folders, and no ``outcomes.jsonl`` of its own."""
    from evals.summary import OUTCOMES

    path = Path(path)
    if (path / OUTCOMES).exists() or not path.is_dir():
        return False
    return (path / "multirun.yaml").exists() or (path / SWEEP_STATUS).exists() or any(_job_dirs(path))


def _job_dirs(sweep: Path) -> list[Path]:
    return sorted(p.parent.parent for p in sweep.glob("*/.hydra/overrides.yaml"))


def _overrides(job: Path) -> dict[str, str]:
    from omegaconf import OmegaConf

    items = OmegaConf.to_container(OmegaConf.load(job / ".hydra" / "overrides.yaml")) or []
    out: dict[str, str] = {}
    for item in items:  # type: ignore[union-attr]
        key, _, value = str(item).partition("=")
        out[key.lstrip("+~")] = value
    return out


def load_sweep(sweep_dir: str | Path) -> list[SweepJob]:
    """Every job folder under ``sweep_dir`` with its overrides, status and summary."""
    from evals.summary import OUTCOMES, SUMMARY, write_summary

    sweep = Path(sweep_dir).expanduser().resolve()
    jobs = []
    for job in _job_dirs(sweep):
        status = read_job_status(job) or {}
        summary: dict[str, Any] = {}
        if (job / SUMMARY).exists():
            summary = json.loads((job / SUMMARY).read_text(encoding="utf-8"))
        elif (job / OUTCOMES).exists():  # a killed job: summarise what it recorded
            summary = write_summary(job)
        state = status.get("status") or ("unfinished" if summary or (job / OUTCOMES).exists() else "not run")
        seconds = status.get("seconds")
        if seconds is None and summary:
            from prover.records import iter_jsonl

            times = [r.get("meta", {}).get("eval_seconds", 0.0) for r in iter_jsonl(job / OUTCOMES)] \
                if (job / OUTCOMES).exists() else []
            seconds = round(sum(times), 2) if times else None
        jobs.append(SweepJob(job, _overrides(job), str(state), str(status.get("error", "")), summary, seconds))
    return jobs


def swept_keys(jobs: list[SweepJob]) -> list[str]:
    """The override keys whose value differs between jobs, in the order the first job lists them."""
    keys: list[str] = []
    for job in jobs:
        keys += [k for k in job.overrides if k not in keys]
    return [k for k in keys if len({j.overrides.get(k) for j in jobs}) > 1]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _rows(jobs: list[SweepJob], keys: list[str]) -> tuple[list[str], list[list[str]]]:
    head = ["job", *keys, "status", "problems", "solved", "pass@1", "pass@n", "n", "budget", "time (s)"]
    rows = []
    for j in jobs:
        g = j.group()
        recorded = len(j.summary.get("problems", []))
        expected = j.summary.get("expected_problems")
        status = j.status if not j.error else f"{j.status}: {j.error}"
        rows.append([j.path.name, *(j.overrides.get(k, "") for k in keys), status,
                     f"{recorded}/{expected}" if j.summary else "-",
                     f"{g['solved']} ({_pct(g['solved_rate'])})" if g else "-",
                     _pct(j.pass_at(1)), _pct(j.pass_at(None)), str(g.get("n", "-")) if g else "-",
                     str(j.summary.get("budget_text", "")), "-" if j.seconds is None else f"{j.seconds:.1f}"])
    return head, rows


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def plot_sweep(jobs: list[SweepJob], keys: list[str], path: Path) -> Path:
    """pass@1 and pass@n against the first swept key; one line per combination of the other keys."""
    from evals.render import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.0), dpi=110, sharey=True)
    x_key = keys[0] if keys else None
    measured = [j for j in jobs if j.pass_at(1) is not None]
    xs_text = sorted({j.overrides.get(x_key, "") for j in measured}) if x_key else [""]
    numeric = all(_number(x) is not None for x in xs_text) and bool(x_key)
    if numeric:
        xs_text = sorted(xs_text, key=lambda x: _number(x) or 0.0)
    series: dict[str, list[SweepJob]] = {}
    for j in measured:
        label = ", ".join(f"{k}={j.overrides.get(k, '')}" for k in keys[1:]) or "all jobs"
        series.setdefault(label, []).append(j)
    for ax, (k, title) in zip(axes, ((1, "pass@1"), (None, "pass@n (each job's whole i.i.d. budget)")),
                              strict=True):
        for label, members in sorted(series.items()):
            members = sorted(members, key=lambda j: xs_text.index(j.overrides.get(x_key, "")) if x_key else 0)
            xs = [(_number(j.overrides[x_key]) if numeric else xs_text.index(j.overrides.get(x_key, "")))
                  if x_key else 0 for j in members]
            ax.plot(xs, [100 * (j.pass_at(k) or 0.0) for j in members], marker="o", label=label)
        if not numeric:
            ax.set_xticks(range(len(xs_text)))
            ax.set_xticklabels(xs_text, rotation=20, ha="right")
        ax.set_xlabel(x_key or "job")
        ax.set_title(title, fontsize=9)
        ax.set_ylim(0, 100)
        ax.grid(True, alpha=0.3)
        if not measured:
            ax.text(0.5, 0.5, "no job recorded outcomes", ha="center", va="center", transform=ax.transAxes)
    axes[0].set_ylabel("problems proved (%)")
    if series:
        axes[1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_sweep_report(sweep_dir: str | Path) -> dict[str, Path]:
    """``sweep_report.md``, ``sweep_report.html`` and ``sweep_pass_at_k.png`` in the sweep folder."""
    from evals.render import ReportError, html_table, img, md_table, page

    sweep = Path(sweep_dir).expanduser().resolve()
    jobs = load_sweep(sweep)
    if not jobs:
        raise ReportError(f"{sweep}: no job folders (no */.hydra/overrides.yaml): not a sweep folder")
    keys = swept_keys(jobs)
    png = plot_sweep(jobs, keys, sweep / SWEEP_PNG)
    head, rows = _rows(jobs, keys)
    failed = [j for j in jobs if j.status not in ("ok",)]
    note = (f"{len(failed)} of {len(jobs)} jobs did not finish ({', '.join(j.path.name for j in failed)}); "
            f"rerun the same sweep command with hydra.sweep.dir={sweep} to resume them."
            if failed else f"All {len(jobs)} jobs finished.")
    fixed = sorted({f"{k}={v}" for j in jobs for k, v in j.overrides.items() if k not in keys})
    md = sweep / SWEEP_MD
    md.write_text("\n".join([
        f"# Sweep report: {sweep.name}", "",
        f"Swept: {', '.join(f'`{k}`' for k in keys) or '(nothing differs between jobs)'}; "
        f"fixed overrides: {', '.join(f'`{o}`' for o in fixed) or 'none'}.", "",
        note, "", f"![pass@k against the swept values]({SWEEP_PNG})", "", md_table(head, rows), "",
        "pass@1 and pass@n use the unbiased estimator over each job's i.i.d. first-round samples "
        "(n = that job's budget); 'solved' counts any attempt within the whole budget. "
        f"Each job's own report is in its folder; a failed job's error and traceback are in its {JOB_STATUS}.", "",
    ]), encoding="utf-8")
    html_path = sweep / SWEEP_HTML
    html_path.write_text(page(f"ProofForge sweep: {sweep.name}", [
        f"<h1>Sweep report: {html.escape(sweep.name)}</h1>",
        f"<p>Swept: {html.escape(', '.join(keys) or '(nothing differs between jobs)')}; fixed overrides: "
        f"{html.escape(', '.join(fixed) or 'none')}.</p>", f"<p>{html.escape(note)}</p>",
        img(png, "pass@k against the swept values"), html_table(head, rows)]), encoding="utf-8")
    return {"markdown": md, "html": html_path, "curve": png}
