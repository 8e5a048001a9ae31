"""One resumable pipeline stage: items in, one JSONL record per item out, keyed by statement id.

Every stage of a round goes through :func:`run_stage`: it opens the stage's JSONL with
:class:`~prover.records.JsonlWriter` (which cuts a torn last line), skips items whose id is already
there, runs the rest in batches with bounded concurrency, and appends each record as soon as its
batch finishes. Killing the process at any point loses at most the batches in flight; rerunning
finishes the rest and never writes an id twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from prover.records import JsonlWriter, iter_jsonl

BatchFn = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]


def _key(record: dict[str, Any]) -> str:
    return str(record["id"])


def read_stage(path: str | Path) -> dict[str, dict[str, Any]]:
    """The records of a stage file by id (empty when the stage has not run)."""
    path = Path(path)
    if not path.exists():
        return {}
    return {_key(r): r for r in iter_jsonl(path)}


async def run_stage(
    name: str,
    path: str | Path,
    items: Sequence[dict[str, Any]],
    fn: BatchFn,
    *,
    batch_size: int = 1,
    concurrency: int = 1,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Run ``fn`` over the items not yet in ``path``; return every record of the stage by id.

    ``fn`` gets a batch of items and must return one record (a dict with the item's ``id``) per
    item. Records for ids outside ``items`` are ignored in the return value but kept in the file.
    """
    if batch_size < 1 or concurrency < 1:
        raise ValueError(f"stage {name}: batch_size and concurrency must be >= 1")
    writer = JsonlWriter(path, key=_key)
    try:
        todo = [it for it in items if not writer.done(_key(it))]
        batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
        sem = asyncio.Semaphore(concurrency)

        async def one(batch: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            async with sem:
                return batch, await fn(batch)

        tasks = [asyncio.create_task(one(b)) for b in batches]
        bar = tqdm(total=len(todo), desc=name, unit="stmt", disable=not progress or not todo, leave=False)
        try:
            for fut in asyncio.as_completed(tasks):
                batch, records = await fut
                if len(records) != len(batch):
                    raise RuntimeError(f"stage {name}: {len(batch)} items gave {len(records)} records")
                for rec in records:
                    writer.write(rec)
                bar.update(len(batch))
        finally:
            bar.close()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        writer.close()
    wanted = {_key(it) for it in items}
    return {k: r for k, r in read_stage(path).items() if k in wanted}
