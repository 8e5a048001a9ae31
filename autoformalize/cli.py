"""``proofforge-formalize``: the Hydra app over ``configs/formalize.yaml``.

Modes: ``formalize`` (input JSONL -> ``results.jsonl``), ``herald_eval`` (Herald's protocol on
miniF2F's informal statements -> ``results.jsonl`` + ``herald_eval.json``), ``abstain_eval`` (the
labelled set -> ``results.jsonl`` + ``abstain_eval.json``), ``library`` (a Lean file's declarations in
dependency order -> ``library.jsonl``). Every mode writes its resolved ``config.yaml`` into the run folder,
appends one record per item as soon as its batch is done, and skips finished items when rerun with the
same folder. Tests and notebooks call :func:`run_formalize` with a generator / verifier injected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from autoformalize.abstain_eval import LabelledError, abstain_report, default_labelled, load_labelled
from autoformalize.declarations import Declaration, DeclarationError
from autoformalize.formalizer import FormalizationItem, FormalizationResult, Formalizer, ItemError
from autoformalize.herald_eval import HeraldEvalError, check_ks, herald_summary, minif2f_items
from autoformalize.library import (
    LibraryError,
    ainformalize_library,
    extract_with_repl,
    load_declarations,
    translation_order,
)
from autoformalize.prompts import (
    DEFAULT_EXEMPLARS,
    TINY_TEMPLATES,
    PromptError,
    load_exemplars,
    stage_style,
    template_path,
)
from autoformalize.retrieval import RetrievalError
from prover.config import check_run_manifest, run_dir_for, to_container, write_run_manifest
from prover.lean.verifier import Verifier
from prover.llm.generator import Generator, SamplingParams
from prover.llm.sampling import sampling_from_config
from prover.records import JsonlWriter, RecordError, json_lines, read_jsonl

RESULTS = "results.jsonl"
CONFIG = "config.yaml"
MODES = ("formalize", "herald_eval", "abstain_eval", "library")
PACKAGED_DECLARATIONS = Path(__file__).resolve().parent / "data" / "declarations.jsonl"


class FormalizeConfigError(ValueError):
    """The formalize config is unusable; the message names the key."""


#: A bad or empty input file (exit 3); FormalizeConfigError, PromptError and RetrievalError are config errors (exit 2).
INPUT_ERRORS = (ItemError, RecordError, DeclarationError, LabelledError, HeraldEvalError, LibraryError)
USER_ERRORS = (FormalizeConfigError, PromptError, RetrievalError, *INPUT_ERRORS)


# ---------------------------------------------------------------------------- run folder
def resolve_run_dir(cfg: DictConfig) -> Path:
    """``cfg.out_dir`` if set, else Hydra's run folder (inside a Hydra app)."""
    return run_dir_for(cfg, error=FormalizeConfigError, prog="proofforge-formalize")


def _fingerprint(cfg: DictConfig) -> dict[str, Any]:
    """What must not change between a run and its resume (limit and batch_size may)."""
    keys = ("mode", "input", "n", "threshold", "header", "exemplars", "num_exemplars", "templates", "prompt_style",
            "sampling", "backtranslate", "judge", "judge_model", "retrieval", "model")
    fp = {k: to_container(cfg.get(k)) for k in keys}
    fp[cfg.mode] = to_container(cfg.get(cfg.mode))
    return fp  # check_run_manifest records non-JSON values as text


def _check_manifest(run_dir: Path, cfg: DictConfig) -> None:
    check_run_manifest(
        run_dir, _fingerprint(cfg), error=FormalizeConfigError, write=False,  # written once the run starts
        describe=lambda changed: (
            f"{run_dir} holds results of a different config ({', '.join(changed)}); "
            "resume with the same config or use a new run folder (out_dir=...)"
        ),
    )


# ---------------------------------------------------------------------------- components
def _sampling(node: Any, what: str = "sampling", **defaults: Any) -> SamplingParams:
    return sampling_from_config(node, what=what, defaults=defaults, error=FormalizeConfigError)


def build_retriever(cfg: DictConfig) -> Any:
    """The declaration retriever the ``retrieval`` node describes, or None when disabled."""
    r = cfg.get("retrieval") or {}
    if not r.get("enabled"):
        return None
    from autoformalize.retrieval import DeclarationRetriever, build_encoder

    decls = load_declarations(r.get("declarations") or PACKAGED_DECLARATIONS)
    return DeclarationRetriever(
        decls, build_encoder(str(r.get("encoder", "hashing")), dim=int(r.get("dim", 768))),
        reduced_dim=int(r.get("reduced_dim", 128)), projection=str(r.get("projection", "ood")),
        rerank=int(r.get("rerank", 50)),
    )


def _style(cfg: DictConfig) -> str:
    return stage_style(cfg.get("prompt_style"))


def build_formalizer(cfg: DictConfig, generator: Generator, verifier: Verifier,
                     judge_generator: Generator | None = None) -> Formalizer:
    tiny = _style(cfg) == "tiny"
    # the tiny style is zero-shot unless an exemplar file is named (its prompts must fit the tiny context)
    exemplars = load_exemplars(cfg.get("exemplars") or (None if tiny else DEFAULT_EXEMPLARS))
    k = cfg.get("num_exemplars")
    if k is not None:
        exemplars = exemplars[: int(k)]
    return Formalizer(
        generator, verifier,
        judge_generator=judge_generator,
        n=int(cfg.n), threshold=float(cfg.threshold), header=str(cfg.header),
        retriever=build_retriever(cfg), retrieve_k=int((cfg.get("retrieval") or {}).get("k", 5)),
        exemplars=exemplars,
        sampling=_sampling(cfg.get("sampling"), "sampling", temperature=0.99, max_tokens=256),
        backtranslate_sampling=_sampling(cfg.get("backtranslate"), "backtranslate", temperature=0.1, max_tokens=256),
        judge_sampling=_sampling(cfg.get("judge"), "judge", temperature=0.0, max_tokens=128),
        templates={**(TINY_TEMPLATES if tiny else {}),
                   **{str(k): str(v) for k, v in (to_container(cfg.get("templates")) or {}).items() if v}},
    )


def load_items(cfg: DictConfig) -> list[FormalizationItem]:
    """The items the mode works on, ids unique, ``limit`` applied."""
    mode = cfg.mode
    limit = cfg.get("limit")
    if mode == "herald_eval":
        h = cfg.get("herald_eval") or {}
        if not h.get("input"):
            raise FormalizeConfigError(
                "mode=herald_eval needs herald_eval.input=<minif2f.jsonl>: DeepSeek-Prover-V1.5's "
                "datasets/minif2f.jsonl (with informal_prefix); docs/autoformalize.md gives the pinned download command"
            )
        check_ks(h.get("ks"), int(cfg.n))
        items = minif2f_items(str(h["input"]), split=h.get("split"), limit=limit)
    else:
        if mode == "abstain_eval":
            path = (cfg.get("abstain_eval") or {}).get("input") or default_labelled(_style(cfg))
            rows = load_labelled(path)
        else:
            path = Path(str(cfg.get("input") or default_labelled(_style(cfg)))).expanduser()
            if not path.is_file():
                raise FormalizeConfigError(f"input {path}: no such file")
            # strict: a bad last line of an input is an error, not a torn write to skip
            rows = [row for _, row in json_lines(path, RecordError)]
            if not rows:
                raise FormalizeConfigError(f"input {path} holds no items")
        items = []
        for i, row in enumerate(rows):
            try:
                items.append(FormalizationItem.coerce(row, i))
            except ItemError as e:
                raise ItemError(f"{path}: {e}") from None
        items = items[:limit] if limit is not None else items
    seen: set[str] = set()
    for x in items:
        if x.id in seen:
            raise ItemError(f"duplicate item id {x.id!r}: ids key the results file and must be unique")
        seen.add(x.id)
    return items


# ---------------------------------------------------------------------------- running
async def _formalize_pending(formalizer: Formalizer, items: list[FormalizationItem], writer: JsonlWriter,
                             batch_size: int, progress: bool) -> int:
    from tqdm import tqdm

    todo = [x for x in items if not writer.done(x.id)]
    written = 0
    with tqdm(total=len(items), initial=len(items) - len(todo), desc="formalize", disable=not progress) as bar:
        for s in range(0, len(todo), batch_size):
            chunk = todo[s:s + batch_size]
            for result in await formalizer.aformalize(chunk):
                written += writer.write(result)
            bar.update(len(chunk))
    return written


def _summary(results: list[FormalizationResult]) -> dict[str, Any]:
    formalized = sum(r.formalized for r in results)
    return {"items": len(results), "formalized": formalized, "abstained": len(results) - formalized,
            "typechecked_any": sum(any(c.typechecks for c in r.candidates) for r in results)}


def _check_prompt_files(cfg: DictConfig) -> None:
    """The exemplar file and template overrides exist and read, before any model or Lean process starts."""
    load_exemplars(cfg.get("exemplars") or DEFAULT_EXEMPLARS)
    for stage, path in (to_container(cfg.get("templates")) or {}).items():
        if not path:
            continue
        if stage not in ("translate", "backtranslate", "judge"):
            raise FormalizeConfigError(f"templates.{stage}: unknown stage; expected translate, backtranslate or judge")
        if not template_path(str(path)).is_file():
            raise PromptError(f"templates.{stage}: prompt template {template_path(str(path))} does not exist")


@dataclass
class _Services:
    """The processes a run uses: the generator, the verifier (not for ``library`` without the REPL), a judge."""

    generator: Generator
    verifier: Verifier | None
    judge_generator: Generator | None


@contextlib.asynccontextmanager
async def _services(cfg: DictConfig, run_dir: Path, generator: Generator | None, verifier: Verifier | None,
                    *, needs_lean: bool, headers: list[str | None]) -> AsyncIterator[_Services]:
    """Start what the caller did not pass in (Lean first: a missing Lean is reported before a model
    loads; then the smoke self-check), record the run as started, and close what was started here."""
    own_gen, own_ver = generator is None, verifier is None
    judge_generator = None
    try:
        if verifier is None and needs_lean:
            from prover.lean.selftest import record_in_manifest, start_checks
            from prover.lean.verifier_factory import build_verifier

            verifier = build_verifier(cfg.lean)
            # Mathlib on a Lean-core REPL, or Lean disagreeing with the smoke self-check: stop before judging
            record_in_manifest(run_dir, await start_checks(verifier, cfg.get("lean"), headers=headers))
        from prover.llm.generator_factory import build_generator

        if generator is None:
            generator = build_generator(cfg.model)
        if cfg.get("judge_model"):
            judge_generator = build_generator(cfg.judge_model)
        write_run_manifest(run_dir, _fingerprint(cfg))  # Lean and the model are up: the run has started
        yield _Services(generator, verifier, judge_generator)
    finally:
        if own_ver and verifier is not None:
            await verifier.aclose()
        if own_gen and generator is not None:
            generator.close()
        if judge_generator is not None:
            judge_generator.close()


async def _formalize_items(cfg: DictConfig, run_dir: Path, svc: _Services,
                           items: list[FormalizationItem]) -> list[FormalizationResult]:
    """Formalize the items not yet in ``results.jsonl``; write ``summary.json``; return this input's results."""
    assert svc.verifier is not None
    formalizer = build_formalizer(cfg, svc.generator, svc.verifier, svc.judge_generator)
    with JsonlWriter(run_dir / RESULTS, key=lambda r: str(r["id"])) as writer:
        written = await _formalize_pending(formalizer, items, writer, int(cfg.get("batch_size", 4)),
                                           bool(cfg.get("progress", True)))
    wanted = {x.id for x in items}
    results = [r for r in read_jsonl(run_dir / RESULTS, FormalizationResult) if r.id in wanted]
    summary = {**_summary(results), "written_this_run": written}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"formalized {summary['formalized']}/{summary['items']} "
          f"(abstained {summary['abstained']}; {written} new) -> {run_dir / RESULTS}")
    return results


async def _mode_formalize(cfg: DictConfig, run_dir: Path, svc: _Services, items: list[FormalizationItem]) -> None:
    """``mode=formalize``: translate, type-check, back-translate, judge, abstain."""
    await _formalize_items(cfg, run_dir, svc, items)


async def _mode_herald_eval(cfg: DictConfig, run_dir: Path, svc: _Services, items: list[FormalizationItem]) -> None:
    """``mode=herald_eval``: formalize miniF2F's informal statements, then Herald's rates and pass@k."""
    results = await _formalize_items(cfg, run_dir, svc, items)
    h = cfg.get("herald_eval") or {}
    report = herald_summary(results, threshold=float(cfg.threshold), ks=check_ks(h.get("ks"), int(cfg.n)))
    (run_dir / "herald_eval.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "note"}, indent=2))
    print(f"note: {report['note']}")


async def _mode_abstain_eval(cfg: DictConfig, run_dir: Path, svc: _Services, items: list[FormalizationItem]) -> None:
    """``mode=abstain_eval``: formalize a labelled set, then the answerable/unanswerable confusion matrix."""
    results = await _formalize_items(cfg, run_dir, svc, items)
    rows = load_labelled((cfg.get("abstain_eval") or {}).get("input") or default_labelled(_style(cfg)))
    if cfg.get("limit") is not None:
        rows = rows[: int(cfg.limit)]
    rep = abstain_report(rows, results)
    (run_dir / "abstain_eval.json").write_text(json.dumps(rep.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(rep.table())


_ITEM_MODES = {"formalize": _mode_formalize, "herald_eval": _mode_herald_eval, "abstain_eval": _mode_abstain_eval}


async def _run(cfg: DictConfig, run_dir: Path, generator: Generator | None, verifier: Verifier | None) -> None:
    """Read and check the mode's input before any model or Lean process starts, then run the mode."""
    if cfg.mode == "library":
        source = _library_source(cfg)  # with library.use_repl, _run_library starts Lean for the extraction
        async with _services(cfg, run_dir, generator, verifier, needs_lean=False, headers=[]) as svc:
            await _run_library(cfg, run_dir, svc.generator, svc.verifier, source)
        return
    items = load_items(cfg)
    _check_prompt_files(cfg)
    headers = [cfg.get("header"), *(getattr(x, "header", None) for x in items)]
    async with _services(cfg, run_dir, generator, verifier, needs_lean=True, headers=headers) as svc:
        await _ITEM_MODES[str(cfg.mode)](cfg, run_dir, svc, items)


def _library_source(cfg: DictConfig) -> tuple[Path, list[Declaration] | None]:
    """The checked ``library.source`` and, unless the REPL extracts them, its declarations
    (read here so a bad source fails before any model or Lean process starts)."""
    lib = cfg.get("library") or {}
    source = lib.get("source")
    if not source:
        raise FormalizeConfigError("mode=library needs library.source=<file.lean or declarations.jsonl>")
    path = Path(str(source)).expanduser()
    if not lib.get("use_repl"):
        decls = load_declarations(path)
        if not decls:
            raise LibraryError(f"{path}: no declarations found")
        return path, decls
    if path.suffix != ".lean":
        raise FormalizeConfigError(f"library.use_repl needs a .lean source, got {path}")
    if not path.is_file():
        raise FormalizeConfigError(f"library.source {path} does not exist")
    return path, None


async def _run_library(cfg: DictConfig, run_dir: Path, generator: Generator, verifier: Verifier | None,
                       source: tuple[Path, list[Declaration] | None] | None = None) -> None:
    path, decls = source or _library_source(cfg)
    if decls is None:
        own = verifier is None
        if own:
            from prover.lean.verifier_factory import build_verifier

            verifier = build_verifier(cfg.lean)
        try:
            decls = await extract_with_repl(verifier, path.read_text(encoding="utf-8"), source=str(path))
        finally:
            if own:
                await verifier.aclose()
    if not decls:
        raise LibraryError(f"{path}: no declarations found")
    total = len(decls)
    if cfg.get("limit") is not None:
        # the first N in translation order: a prefix of a topological order carries its own dependencies
        keep = set([n for layer in translation_order(decls) for n in layer][: int(cfg.limit)])
        decls = [d for d in decls if d.name in keep]
    out = run_dir / "library.jsonl"
    done = await ainformalize_library(decls, generator, out,
                                      sampling=_sampling(cfg.get("backtranslate"), "backtranslate", temperature=0.1,
                                                         max_tokens=256),
                                      progress=bool(cfg.get("progress", True)))
    of = f" (limit={cfg.limit} of {total})" if len(decls) < total else ""
    print(f"informalized {len(done)}/{len(decls)} declarations{of} in dependency order -> {out}")


def _check_values_and_paths(cfg: DictConfig) -> None:
    """Numbers in range and the files and servers the run needs, before Lean starts or a model loads."""
    from prover.validate import LEAN_BOUNDS, Bound, check_values

    check_values(cfg, (Bound("limit", 1, integer=True, nullable=True), Bound("num_exemplars", 0, integer=True,
                       nullable=True), Bound("retrieval.k", 1, integer=True), *LEAN_BOUNDS), FormalizeConfigError)
    r = cfg.get("retrieval") or {}
    if r.get("enabled") and r.get("declarations") and not Path(str(r["declarations"])).expanduser().is_file():
        raise FormalizeConfigError(f"retrieval.declarations {r['declarations']} does not exist")
    judge = to_container(cfg.get("judge_model")) or {}
    if judge.get("backend") == "openai":
        from prover.llm.reach import check_server

        check_server(str(judge.get("base_url") or ""), what="judge_model.base_url")


def run_formalize(cfg: DictConfig, *, generator: Generator | None = None,
                  verifier: Verifier | None = None) -> Path:
    """Run the configured mode into its run folder and return the folder.

    A rerun with the same folder resumes: finished items are skipped, none is written twice. An
    injected ``generator`` / ``verifier`` is used as is and left open (the caller owns it).
    """
    if cfg.get("mode") not in MODES:
        raise FormalizeConfigError(f"mode={cfg.get('mode')!r}; expected one of {', '.join(MODES)}")
    if int(cfg.get("n", 1)) < 1 or not 0.0 <= float(cfg.get("threshold", 0.5)) <= 1.0:
        raise FormalizeConfigError(f"need n >= 1 and 0 <= threshold <= 1 (got n={cfg.n}, threshold={cfg.threshold})")
    if int(cfg.get("batch_size", 4)) < 1:
        raise FormalizeConfigError(f"batch_size must be >= 1, got {cfg.batch_size}")
    _check_values_and_paths(cfg)
    run_dir = resolve_run_dir(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_manifest(run_dir, cfg)
    (run_dir / CONFIG).write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
    asyncio.run(_run(cfg, run_dir, generator, verifier))
    return run_dir


# ---------------------------------------------------------------------------- CLI
