"""The eval loop: prove every problem not yet recorded, a bounded number at a time, appending each Outcome.

A problem whose strategy raises is logged to ``errors.jsonl`` and left for a rerun; a run-ending error
(no Lean, no model) stops the rest and surfaces unwrapped.
"""

from __future__ import annotations

import asyncio
import json
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from evals.errors import fatal_errors
from evals.passk import SampleCounts, counts_from_record
from prover.records import JsonlWriter, Problem
from prover.search.strategy import Budget, Strategy


async def prove_all(
    problems: list[Problem],
    strategy: Strategy,
    budget: Budget,
    writer: JsonlWriter,
    meta: dict[str, Any],
    *,
    concurrency: int,
    errors_path: Path,
    progress: bool,
    counts: dict[str, SampleCounts] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Prove the problems not yet in the writer; return (written now, errors).

    ``counts`` collects each written problem's pass@k counts, so the summary of a fresh run
    needs no second read of ``outcomes.jsonl``. ``on_progress(problems done, proved this run)`` is
    called after each written problem (the tracker's progress curve).
    """
    todo = [p for p in problems if not writer.done(p.name)]
    bar = tqdm(total=len(problems), initial=len(problems) - len(todo), desc="eval", unit="problem",
               disable=not progress)
    sem = asyncio.Semaphore(max(1, concurrency))
    state = {"written": 0, "proved": 0, "errors": 0}
    fatal = fatal_errors()

    async def one(problem: Problem) -> None:
        async with sem:
            t0 = time.perf_counter()
            try:
                outcome = await strategy.aprove(problem, budget)
            except fatal:
                raise
            except Exception as e:  # one problem's failure must not end the run; a rerun retries it
                state["errors"] += 1
                with errors_path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps({"problem": problem.name, "error": f"{type(e).__name__}: {e}",
                                        "traceback": traceback.format_exc(limit=5)}) + "\n")
                tqdm.write(f"[eval] {problem.name}: {type(e).__name__}: {e} (not recorded; rerun to retry)")
                return
            outcome.meta = {**outcome.meta, "eval": meta, "eval_seconds": round(time.perf_counter() - t0, 4)}
            outcome.meta.setdefault("strategy", meta["strategy"])
            record = outcome.to_dict()  # what the writer would build; built once, also for the summary
            if writer.write(record):
                state["written"] += 1
                state["proved"] += int(outcome.proved)
                if counts is not None:
                    counts[record["problem"]["name"]] = counts_from_record(record)
            bar.update(1)
            bar.set_postfix(proved=state["proved"], errors=state["errors"], refresh=False)
            if on_progress is not None:
                on_progress(len(problems) - len(todo) + state["written"], state["proved"])

    tasks = [asyncio.ensure_future(one(p)) for p in todo]
    try:
        if tasks:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            failed = [t for t in done if not t.cancelled() and t.exception() is not None]
            if failed:  # e.g. LeanMissingError: stop the rest, surface it unwrapped
                raise failed[0].exception()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        bar.close()
    return state["written"], state["errors"]
