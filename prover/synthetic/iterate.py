"""Expert iteration: run the five stages for a round, fine-tune on everything verified, repeat.

Round ``r`` lives in ``<out>/round_<r>/``::

    formalized.jsonl   stage 1  one record per informal problem (formalized | abstained | error)
    quality.jsonl      stage 2  grade and keep/drop per formalized statement
    consistency.jsonl  stage 3  whether False follows from the hypotheses
    proofs.jsonl       stage 4  proved | disproved | open, with both sides' attempts
    sft.jsonl          stage 5  this round's deduplicated SFT rows
    checkpoint/        the prover fine-tuned on ``<out>/dataset.jsonl`` after this round
    report.json, report.md

and ``<out>/dataset.jsonl`` + ``<out>/dataset/`` (HF ``save_to_disk``) hold the deduplicated data
of all rounds so far; ``<out>/summary.{json,md}`` compare the rounds. Statement formalisation and
grading always use the configured base model; the prover of round ``r > 1`` is the checkpoint of
round ``r - 1`` (the paper's expert iteration).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from prover.config import to_container
from prover.lean.verifier import Verifier
from prover.search.strategy import Budget, Strategy
from prover.synthetic import dataset as ds
from prover.synthetic.explain import why_round_is_empty
from prover.synthetic.finetune import finetune, finetune_settings
from prover.synthetic.formalize import FormalizerLike, formalize_batch
from prover.synthetic.prove import ConsistencyProbe, NegationRace
from prover.synthetic.quality import QualityGrader
from prover.synthetic.report import round_stats, write_round_report, write_summary
from prover.synthetic.runner import run_stage

log = logging.getLogger(__name__)


@dataclass
class RoundServices:
    """What a round needs: the formaliser and grader (base model) and the prover strategy."""

    formalizer: FormalizerLike
    grader: QualityGrader
    strategy: Strategy
    base_budget: Budget


def _c(cfg: Any, key: str, default: Any = None) -> Any:
    if cfg is None:
        return default
    v = cfg.get(key, default) if hasattr(cfg, "get") else getattr(cfg, key, default)
    return default if v is None else v


async def arun_round(
    cfg: DictConfig,
    round_: int,
    round_dir: Path,
    items: list[dict[str, Any]],
    services: RoundServices,
    *,
    progress: bool = True,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Stages 1–5 of one round (resumable); returns the round's stats and its SFT rows."""
    round_dir.mkdir(parents=True, exist_ok=True)
    header = cfg.header
    conc = int(_c(cfg, "concurrency", 4))

    fcfg = cfg.formalize
    formalized = await run_stage(
        "formalize",
        round_dir / "formalized.jsonl",
        items,
        lambda batch: formalize_batch(services.formalizer, batch, header=header),
        batch_size=int(_c(fcfg, "batch_size", 8)),
        concurrency=1,
        progress=progress,
    )
    ok = [formalized[it["id"]] for it in items if formalized.get(it["id"], {}).get("status") == "formalized"]

    graded = await run_stage(
        "quality",
        round_dir / "quality.jsonl",
        ok,
        services.grader.agrade,
        batch_size=int(_c(cfg.quality, "batch_size", 8)),
        concurrency=1,
        progress=progress,
    )
    good = [r for r in ok if graded.get(r["id"], {}).get("keep")]

    probe = ConsistencyProbe(
        services.strategy,
        samples=int(cfg.consistency.samples),
        chunk=int(_c(cfg.consistency, "chunk", cfg.consistency.samples)),
        base_budget=services.base_budget,
    )
    consistency = await run_stage(
        "consistency",
        round_dir / "consistency.jsonl",
        good,
        probe.abatch,
        concurrency=conc,
        progress=progress,
    )
    consistent = [r for r in good if consistency.get(r["id"], {}).get("consistent")]

    racer = NegationRace(
        services.strategy,
        samples=int(cfg.prove.samples),
        chunk=int(_c(cfg.prove, "chunk", cfg.prove.samples)),
        base_budget=services.base_budget,
    )
    proofs = await run_stage(
        "prove", round_dir / "proofs.jsonl", consistent, racer.abatch, concurrency=conc, progress=progress
    )

    by_id = {r["id"]: r for r in ok}
    rows = ds.dedup(
        ds.sft_rows(
            [proofs[r["id"]] for r in consistent if r["id"] in proofs],
            by_id,
            round_=round_,
            split=str(_c(cfg.export, "split", "train")),
        )
    )
    ds.append_unique(round_dir / "sft.jsonl", rows)
    stats = round_stats(
        round_=round_, items=items, formalized=formalized, graded=graded, consistency=consistency, proofs=proofs
    )
    stats["sft_rows"] = len(rows)
    return stats, rows


def prover_model_for_round(out_dir: Path, round_: int, base_model: str | None) -> str | None:
    """The prover checkpoint a round starts from: the previous round's fine-tuned model, if any."""
    for r in range(round_ - 1, 0, -1):
        ckpt = out_dir / f"round_{r}" / "checkpoint"
        if (ckpt / "config.json").is_file():
            return str(ckpt)
    return base_model


async def arun_rounds(
    cfg: DictConfig,
    out_dir: Path,
    items: list[dict[str, Any]],
    make_services: Callable[[int, str | None], RoundServices],
    *,
    base_model: Callable[[], str | None],
    progress: bool = True,
) -> list[dict[str, Any]]:
    """All rounds: stages, dataset accumulation, fine-tuning, reports. Returns every round's stats."""
    rounds = int(cfg.rounds)
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    settings = finetune_settings(cfg.get("finetune"), prompt_style=_c(cfg.prover, "prompt_style"))
    all_stats: list[dict[str, Any]] = []
    dataset_path = out_dir / "dataset.jsonl"
    for r in range(1, rounds + 1):
        round_dir = out_dir / f"round_{r}"
        model_path = prover_model_for_round(out_dir, r, None)
        services = make_services(r, model_path)
        stats, rows = await arun_round(cfg, r, round_dir, items, services, progress=progress)
        stats["prover_model"] = model_path or "base"
        # Cross-round dedup: the accumulated dataset keeps each statement's first proof.
        ds.append_unique(dataset_path, rows)
        accumulated = ds.read_rows(dataset_path)
        # Counted from the file, not from this call's appends, so a resumed round reports the same.
        stats["new_rows"] = sum(1 for row in accumulated if row.get("round") == r)
        stats["dataset_total"] = len(accumulated)
        ds.save_hf(accumulated, out_dir / "dataset")
        previous = prover_model_for_round(out_dir, r, None)
        if settings.enabled and accumulated and stats["new_rows"] == 0 and previous is not None:
            stats["finetune"] = {"skipped": f"no new data this round; the prover stays {previous}"}
        elif settings.enabled and accumulated:
            base = (previous if settings.continue_training else None) or (
                settings.base_model or base_model()
            )
            if base is None:
                stats["finetune"] = {"skipped": "no local base model to fine-tune (set finetune.base_model)"}
            else:
                stats["finetune"] = await asyncio.to_thread(
                    finetune, base, accumulated, round_dir, settings, progress=progress,
                    logger=to_container(cfg.get("logger")),
                )
        else:
            stats["finetune"] = {"skipped": "disabled" if not settings.enabled else "no verified data yet"}
        write_round_report(round_dir, stats)
        all_stats.append(stats)
        write_summary(out_dir, all_stats)
        log.info("round %d: %d proved, %d disproved of %d attempted", r, stats["proved"], stats["disproved"],
                 stats["attempted"])
        why = why_round_is_empty(round_dir, stats)
        if why:
            log.warning("round %d produced nothing: %s", r, why)
    return all_stats


def close_quietly(obj: Any) -> None:
    try:
        if isinstance(obj, Verifier):
            return
        close = getattr(obj, "close", None)
        if callable(close):
            close()
    except Exception:  # pragma: no cover - best effort at shutdown
        log.debug("close failed", exc_info=True)
