"""``proofforge-eval``: run a prover strategy over a benchmark, write Outcomes, pass@k and a report.

The run folder holds everything needed to read or resume the run:
``config.yaml`` (the resolved config; Hydra adds ``.hydra/``), ``outcomes.jsonl`` (one
Outcome per problem, appended as each problem finishes, keyed by problem name),
``summary.json`` (pass@k per split and category, with the budget) and the report
(``report.md``, ``report.html`` and the PNGs). Rerunning with the same folder
(``hydra.run.dir=...``) skips the problems already in ``outcomes.jsonl``, so a crash
loses at most the problems in flight and never writes one twice.

``run_eval(cfg, generator=..., verifier=...)`` is the same job as a plain function, so
tests and the notebook can inject a scripted generator and the scripted verifier.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

import agents  # noqa: F401  (registers the MA-LoT strategy with prover.search.registry)
from evals.components import build_components, eval_meta
from evals.data import Dataset, dataset_from_cfg
from evals.errors import EvalConfigError, config_errors, fatal_errors
from evals.loop import prove_all
from evals.passk import SampleCounts
from evals.summary import OUTCOMES, print_summary, summary_of_fresh_run, write_summary
from prover.config import (
    add_to_manifest,
    check_run_manifest,
    run_dir_for,
    to_container,
    write_run_manifest,
)
from prover.lean.verifier import Verifier
from prover.llm.generator import Generator
from prover.records import JsonlWriter, RecordError
from prover.tracking import Tracker, TrackerError, open_tracker

CONFIG = "config.yaml"
ERRORS = "errors.jsonl"


# -------------------------------------------------------------------- run folder


def resolve_run_dir(cfg: DictConfig) -> Path:
    """``cfg.out_dir`` if set, else Hydra's run folder (inside a Hydra app)."""
    return run_dir_for(cfg, error=EvalConfigError, prog="proofforge-eval")


def _fingerprint(cfg: DictConfig, dataset: Dataset) -> dict[str, Any]:
    """What must not change between a run and its resume (limit/names may: they only add problems)."""
    return {
        "dataset": {k: getattr(dataset.info, k) for k in ("name", "version", "split", "sha256")},
        "model": to_container(cfg.get("model")),
        "prover": to_container(cfg.get("prover")),
    }


def _check_manifest(run_dir: Path, fingerprint: dict[str, Any]) -> None:
    check_run_manifest(
        run_dir, fingerprint, error=EvalConfigError, write=False,  # written once the run starts
        describe=lambda changed: (
            f"{run_dir} holds results of a different {'/'.join(changed)} config; "
            "resume with the same config or use a new run folder (hydra.run.dir=... or out_dir=...)"
        ),
    )


def save_config(cfg: DictConfig, run_dir: Path) -> Path:
    """The resolved config beside the results (Hydra's ``.hydra/`` holds the unresolved one)."""
    path = run_dir / CONFIG
    path.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return path


# ------------------------------------------------------------------------ loop


def _open_outcomes(run_dir: Path) -> JsonlWriter:
    """The run's resumable ``outcomes.jsonl``; a line that is not an Outcome (other than a torn last
    line, which the writer cuts off) is one line naming the file and line, not a traceback."""
    path = run_dir / OUTCOMES
    try:
        return JsonlWriter(path, key=lambda d: d["problem"]["name"])
    except (RecordError, KeyError, TypeError) as e:
        what = e if isinstance(e, RecordError) else f"{path}: a record without problem.name"
        raise EvalConfigError(
            f"cannot resume from {what}; repair or delete that line, or use a new run folder"
        ) from None


def _open_tracker(cfg: DictConfig, run_dir: Path, writer: JsonlWriter) -> Tracker:
    """The ``logger`` group's tracker with the resolved config logged; a missing extra is one line."""
    try:
        tracker = open_tracker(to_container(cfg.get("logger")), run_dir=run_dir, run_name=run_dir.name)
    except TrackerError as e:
        writer.close()
        raise EvalConfigError(str(e)) from None
    tracker.log_config(to_container(cfg))
    return tracker


async def arun_eval(
    cfg: DictConfig,
    *,
    generator: Generator | None = None,
    verifier: Verifier | None = None,
    progress: bool = True,
    close_verifier: bool = False,
) -> Path:
    """The eval inside a running event loop (notebooks); see :func:`run_eval`."""
    from prover.validate import LEAN_BOUNDS, Bound, check_values

    check_values(cfg, (Bound("concurrency", 1, integer=True), Bound("dataset.limit", 1, integer=True, nullable=True),
                       *LEAN_BOUNDS), EvalConfigError)  # nonsense values: one line naming the key, first
    run_dir = resolve_run_dir(cfg)
    dataset = dataset_from_cfg(cfg.dataset)  # bad dataset input fails before anything is started
    run_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = _fingerprint(cfg, dataset)
    _check_manifest(run_dir, fingerprint)  # before config.yaml is (re)written
    save_config(cfg, run_dir)
    writer = _open_outcomes(run_dir)  # a damaged results file fails before Lean or the model start
    tracker = _open_tracker(cfg, run_dir, writer)
    owns, owns_generator = verifier is None, generator is None
    injected = verifier
    try:
        generator, verifier, strategy, budget = build_components(cfg, generator, verifier)
    except (*fatal_errors(), *config_errors()):
        writer.close()
        tracker.close()
        raise
    except ValueError as e:  # a bad lean/model/prover value: one line naming the key, not a traceback
        writer.close()
        tracker.close()
        raise EvalConfigError(str(e)) from None
    try:  # Mathlib on a Lean-core REPL, or Lean disagreeing with the smoke self-check: stop before judging
        from prover.lean.selftest import record_in_manifest, start_checks

        checked = await start_checks(verifier, cfg.get("lean"),
                                     headers=sorted({p.header for p in dataset.problems}), injected=not owns)
        record_in_manifest(run_dir, checked)
        write_run_manifest(run_dir, fingerprint)  # Lean and the model are up: the run has started
    except BaseException:
        writer.close()
        if owns or close_verifier:
            await verifier.aclose()
        if owns_generator:
            generator.close()
        raise
    meta = eval_meta(cfg, dataset, generator, strategy, budget, injected)
    counts: dict[str, SampleCounts] = {}
    try:
        with writer:
            fresh = len(writer) == 0  # nothing to resume: the file will hold exactly what this run writes
            written, errors = await prove_all(
                dataset.problems, strategy, budget, writer, meta,
                concurrency=int(cfg.get("concurrency", 1) or 1),
                errors_path=run_dir / ERRORS,
                progress=progress,
                counts=counts,
                on_progress=lambda done, proved: tracker.log_metrics(
                    {"progress/problems_done": done, "progress/proved_this_run": proved}, step=done),
            )
    except BaseException:
        tracker.close()
        raise
    finally:
        if owns or close_verifier:
            await verifier.aclose()
        if owns_generator:
            generator.close()
    _record_attention(run_dir, generator)
    if fresh and counts:
        summary = summary_of_fresh_run(run_dir, dataset.problems, counts, meta)
    else:  # resumed: earlier runs' records are only in the file
        summary = write_summary(run_dir, dataset.problems, meta)
    with tracker:  # final pass@k per split/category against k, with the budget
        tracker.log_eval_summary(summary)
    if cfg.get("report", True):
        from evals.report import write_report

        write_report(run_dir)
    print_summary(summary, run_dir, written, errors)
    return run_dir


def _record_attention(run_dir: Path, generator: Generator) -> None:
    """Which decode attention ran (LeanAttention, or SDPA after a failed kernel self-check) -> manifest.json."""
    implementation = getattr(generator, "attn_implementation", None)
    if implementation is None:
        return
    from prover.attention import attention_report

    add_to_manifest(run_dir, attention={"implementation": implementation, "checks": attention_report()})


def run_eval(
    cfg: DictConfig,
    *,
    generator: Generator | None = None,
    verifier: Verifier | None = None,
    progress: bool = True,
) -> Path:
    """Run the eval described by ``cfg`` (an ``eval`` config) and return the run folder.

    ``generator``/``verifier`` replace the ones the config would build. The verifier is
    used inside this call's event loop, so it is closed when the call returns.
    """
    return asyncio.run(
        arun_eval(cfg, generator=generator, verifier=verifier, progress=progress, close_verifier=True)
    )


# ------------------------------------------------------------------------ CLI


class EvalInterrupted(Exception):
    """Ctrl-C during a run: one line saying what was kept and how to resume, instead of a traceback."""


class EvalPartialFailure(Exception):
    """The run went to its end, but some problems raised: everything else is written (exit 1)."""


def eval_task(cfg: DictConfig) -> None:
    try:
        run_dir = run_eval(cfg)
    except KeyboardInterrupt:
        run_dir = resolve_run_dir(cfg)
        path = run_dir / OUTCOMES
        done = sum(1 for line in path.open(encoding="utf-8") if line.strip()) if path.exists() else 0
        how = f"out_dir={cfg.out_dir}" if cfg.get("out_dir") else f"hydra.run.dir={run_dir}"
        raise EvalInterrupted(
            f"interrupted; {done} problem(s) recorded in {path}; rerun with {how} (same config) to resume"
        ) from None
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    missing = int(summary.get("expected_problems", 0)) - len(summary.get("problems", []))
    if missing > 0:
        how = f"out_dir={cfg.out_dir}" if cfg.get("out_dir") else f"hydra.run.dir={run_dir}"
        raise EvalPartialFailure(
            f"{missing} problem(s) raised instead of being judged (errors in {run_dir / ERRORS}); "
            f"everything else is written; rerun with {how} to retry them"
        )
