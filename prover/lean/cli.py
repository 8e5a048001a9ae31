"""``proofforge-check``: check Lean files or a candidates JSONL with the verifier, resumably.

    proofforge-check 'inputs=[proofs/a.lean,proofs/b.lean]'
    proofforge-check inputs=[candidates.jsonl] lean.workers=4 hydra.run.dir=runs/check/mine

Why a Hydra app: the same ``lean`` config group as every other entry point picks the
backend, the resolved config is saved in the run folder, and rerunning with the same
``hydra.run.dir`` skips candidates whose verdict is already in ``verdicts.jsonl``.
A ``.lean`` file becomes one candidate whose problem is the file's stem; a ``.jsonl``
holds one :class:`~prover.records.Candidate` per line.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from prover.config import hydra_app, to_container
from prover.lean.base import Verifier
from prover.records import STATUSES, Candidate, JsonlWriter, RecordError, Verdict, iter_jsonl


class CheckInputError(ValueError):
    """Bad input for proofforge-check; the message names the file (and line)."""


def load_candidates(inputs: Sequence[str | Path]) -> list[Candidate]:
    """Candidates from ``.lean`` files and candidate ``.jsonl`` files, de-duplicated by id, in order."""
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if not inputs:
        raise CheckInputError("no inputs: pass inputs=[file.lean,...] or inputs=[candidates.jsonl]")
    out: list[Candidate] = []
    seen: set[str] = set()
    for item in inputs:
        path = Path(str(item)).expanduser()
        if not path.is_file():
            raise CheckInputError(f"{path}: no such file")
        if path.suffix == ".lean":
            try:
                found = [Candidate(problem=path.stem, code=path.read_text(encoding="utf-8"), origin={"file": str(path)})]
            except UnicodeDecodeError:
                raise CheckInputError(f"{path}: not UTF-8 text") from None
        elif path.suffix == ".jsonl":
            found = []
            try:
                for i, obj in enumerate(iter_jsonl(path), 1):
                    try:
                        found.append(Candidate.from_dict(obj))
                    except (RecordError, TypeError) as e:
                        raise CheckInputError(f"{path}: record {i}: not a candidate ({e})") from None
            except RecordError as e:
                raise CheckInputError(str(e)) from None
        else:
            raise CheckInputError(f"{path}: expected a .lean file or a candidates .jsonl file")
        for c in found:
            if c.id not in seen:
                seen.add(c.id)
                out.append(c)
    return out


async def check(
    verifier: Verifier, candidates: Sequence[Candidate], writer: JsonlWriter, *, progress: bool = True
) -> list[Verdict]:
    """Verify the candidates not yet in ``writer``, appending each verdict as soon as it is known."""
    from tqdm import tqdm

    todo = [c for c in candidates if not writer.done(c.id)]
    verdicts: list[Verdict] = []
    bar = tqdm(total=len(todo), desc="checking", unit="cand", disable=not progress)

    async def one(c: Candidate) -> Verdict:
        (v,) = await verifier.verify([c])
        v.candidate, v.problem = c.id, c.problem
        return v

    try:
        for fut in asyncio.as_completed([one(c) for c in todo]):
            v = await fut
            writer.write(v)
            verdicts.append(v)
            bar.update(1)
            bar.set_postfix_str(v.status)
    finally:
        bar.close()
        await verifier.aclose()
    return verdicts


def summary(path: Path) -> Counter[str]:
    return Counter(str(obj.get("status")) for obj in iter_jsonl(path)) if path.exists() else Counter()


def print_summary(counts: Counter[str], out: Path, new: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="proofforge-check")
    table.add_column("status")
    table.add_column("candidates", justify="right")
    for status in STATUSES:
        table.add_row(status, str(counts.get(status, 0)))
    table.add_row("total", str(sum(counts.values())))
    console = Console()
    console.print(table)
    console.print(f"{new} checked this run; verdicts in {out}")


def run_check(cfg: DictConfig | dict[str, Any], run_dir: Path) -> Counter[str]:
    """The app's work, callable without Hydra: returns the status counts of the whole output file."""
    from prover.lean.factory import build_verifier

    run_dir.mkdir(parents=True, exist_ok=True)
    conf = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(conf, resolve=True), encoding="utf-8")
    inputs = to_container(conf.get("inputs")) or []
    candidates = load_candidates(inputs)
    out = Path(str(conf.get("out") or "verdicts.jsonl"))
    if not out.is_absolute():
        out = run_dir / out
    verifier = build_verifier(conf.get("lean"))
    with JsonlWriter(out, key=lambda d: str(d.get("candidate", ""))) as writer:
        new = asyncio.run(check(verifier, candidates, writer, progress=bool(conf.get("progress", True))))
    counts = summary(out)
    print_summary(counts, out, len(new))
    return counts


def _task(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    run_check(cfg, Path(HydraConfig.get().runtime.output_dir))


def main() -> None:
    """Hydra entry point over ``configs/check.yaml``."""
    from prover.lean.project import LeanMissingError
    from prover.lean.ray_pool import ClusterMissingError

    errors = {(LeanMissingError, ClusterMissingError): 2, (CheckInputError, ValueError): 1}
    hydra_app("check", _task, prefix="proofforge-check: ", errors=errors)()


if __name__ == "__main__":
    main()
