"""``proofforge-check``: check Lean files or a candidates JSONL with the verifier, resumably.

    proofforge-check 'inputs=[proofs/a.lean,proofs/b.lean]'
    proofforge-check inputs=[candidates.jsonl] lean.workers=4 hydra.run.dir=runs/check/mine

Why a Hydra app: the same ``lean`` config group as every other entry point picks the
backend, the resolved config is saved in the run folder, and rerunning with the same
``hydra.run.dir`` skips candidates whose verdict is already in ``verdicts.jsonl``.
A ``.lean`` file becomes one candidate whose problem is the file's stem; a ``.jsonl``
holds one :class:`~prover.records.Candidate` per line.

Resume rules (as the other apps): the run folder's ``manifest.json`` records the ``lean`` settings
verdicts depend on, and a rerun with different ones is refused, unless ``recheck=[timeout,crashed]``
asks for the verdicts of those statuses to be judged again under the new settings (the others are
kept; the manifest records the change). Inputs are read strictly: a line that is not a candidate,
the last one included, stops the run naming file and line, and inputs holding no candidate stop it too.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from prover.config import MANIFEST, check_run_manifest, hydra_app, to_container, write_run_manifest
from prover.lean.verifier import Verifier
from prover.records import STATUSES, Candidate, JsonlWriter, RecordError, Verdict, iter_jsonl, json_lines


class CheckInputError(ValueError):
    """Bad input for proofforge-check; the message names the file (and line)."""


class CheckConfigError(ValueError):
    """A proofforge-check setting is unusable or conflicts with the run folder; the message names the key."""


#: ``lean`` keys that do not change a verdict, so a resume may change them.
_FREE_LEAN_KEYS = ("workers", "selftest", "max_uses", "max_rss_gb", "address", "num_cpus")


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
            # strict, the last line included: a torn input is a broken input, not a crash of ours to skip
            for n, (line, obj) in enumerate(json_lines(path, CheckInputError), 1):
                try:
                    if not isinstance(obj, dict):
                        raise TypeError("expected a JSON object")
                    found.append(Candidate.from_dict(obj))
                except (RecordError, TypeError) as e:
                    raise CheckInputError(f"{path}: record {n} (line {line}): not a candidate ({e})") from None
        else:
            raise CheckInputError(f"{path}: expected a .lean file or a candidates .jsonl file")
        for c in found:
            if c.id not in seen:
                seen.add(c.id)
                out.append(c)
    if not out:
        raise CheckInputError(f"{', '.join(str(i) for i in inputs)}: no candidates to check")
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


def fingerprint(conf: DictConfig) -> dict[str, Any]:
    """What verdicts depend on: the ``lean`` settings except those that only change speed."""
    lean = dict(to_container(conf.get("lean")) or {})
    return {"lean": {k: v for k, v in sorted(lean.items()) if k not in _FREE_LEAN_KEYS}}


def recheck_statuses(conf: DictConfig) -> list[str]:
    """``recheck`` as a list of known statuses, or an error naming the bad one."""
    raw = to_container(conf.get("recheck")) or []
    if isinstance(raw, str):
        raw = [raw]
    bad = [s for s in raw if s not in STATUSES]
    if bad:
        raise CheckConfigError(f"recheck: unknown status(es) {bad}; expected some of {list(STATUSES)}")
    return [str(s) for s in raw]


def _drop_statuses(out: Path, statuses: Sequence[str]) -> int:
    """Rewrite ``out`` without the verdicts of ``statuses`` (atomically); return how many went."""
    if not out.exists() or not statuses:
        return 0
    kept, dropped = [], 0
    for obj in iter_jsonl(out):
        if obj.get("status") in statuses:
            dropped += 1
        else:
            kept.append(obj)
    if dropped:
        import json

        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in kept), encoding="utf-8")
        tmp.replace(out)
    return dropped


def _check_folder(run_dir: Path, conf: DictConfig, statuses: list[str]) -> dict[str, Any]:
    """The manifest check of every app; a deliberate re-check accepts changed settings and says so."""
    fp = fingerprint(conf)

    def describe(changed: list[str]) -> str:
        return (f"{run_dir} holds verdicts judged with different {', '.join(changed)} settings; rerun with "
                "the same settings, use a new run folder, or re-judge some statuses under the new ones "
                "with recheck=[timeout,crashed]")

    try:
        check_run_manifest(run_dir, fp, error=CheckConfigError, describe=describe, write=False)
    except CheckConfigError:
        if not statuses or not (run_dir / MANIFEST).exists():
            raise
        import json

        old = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
        changed = sorted(k for k, v in fp["lean"].items() if (old.get("lean") or {}).get(k) != v)
        history = old.get("rechecks") if isinstance(old.get("rechecks"), list) else []
        fp = {**fp, "rechecks": [*history, {"statuses": statuses, "changed": [f"lean.{k}" for k in changed]}]}
        print(f"re-checking {'/'.join(statuses)} verdicts under changed "
              f"{', '.join('lean.' + k for k in changed)}; the others were judged with the earlier settings")
    return fp


def run_check(cfg: DictConfig | dict[str, Any], run_dir: Path) -> Counter[str]:
    """The app's work, callable without Hydra: returns the status counts of the whole output file."""
    from prover.lean.verifier_factory import build_verifier
    from prover.validate import LEAN_BOUNDS, check_values

    conf = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    check_values(conf, LEAN_BOUNDS, CheckConfigError)
    statuses = recheck_statuses(conf)
    inputs = to_container(conf.get("inputs")) or []
    candidates = load_candidates(inputs)  # bad or empty inputs stop the run before anything is written
    run_dir.mkdir(parents=True, exist_ok=True)
    fp = _check_folder(run_dir, conf, statuses)
    out = Path(str(conf.get("out") or "verdicts.jsonl"))
    if not out.is_absolute():
        out = run_dir / out
    verifier = build_verifier(conf.get("lean"))  # a missing Lean stops the run here, before the manifest
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(conf, resolve=True), encoding="utf-8")
    write_run_manifest(run_dir, fp)
    dropped = _drop_statuses(out, statuses)
    if statuses:
        print(f"recheck={statuses}: {dropped} earlier verdict(s) judged again")
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
    from prover.exit_codes import INPUT, SETUP, USAGE
    from prover.lean.project import LeanMissingError
    from prover.lean.ray_pool import ClusterMissingError

    errors = {(LeanMissingError, ClusterMissingError): SETUP, (CheckInputError, RecordError): INPUT,
              (CheckConfigError, ValueError): USAGE}
    hydra_app("check", _task, prefix="proofforge-check: ", errors=errors)()


if __name__ == "__main__":
    main()
