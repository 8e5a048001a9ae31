"""``proofforge-synth``: the DeepSeek-Prover synthetic-data pipeline with expert iteration.

    proofforge-synth                                   # configs/synth.yaml: tiny model, local Lean
    proofforge-synth rounds=3 prove.samples=64 input=problems.jsonl
    proofforge-synth hydra.run.dir=outputs/synth/run1  # rerun with the same folder to resume

:func:`run_synth` is the programmatic entry (tests pass a scripted generator, a scripted verifier,
and optionally their own formaliser or strategy). The run folder holds ``config.yaml`` (the
resolved config), one folder per round (see :mod:`prover.synthetic.iterate`), the accumulated
dataset and the summary.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from prover.config import check_run_manifest, to_container, write_run_manifest
from prover.lean.verifier import Verifier
from prover.llm.generator import Generator, SamplingParams
from prover.llm.wrappers import LazyGenerator
from prover.records import RecordError
from prover.search.strategy import Budget, Strategy
from prover.synthetic.formalize import FormalizerLike, default_input, load_informal
from prover.synthetic.iterate import RoundServices, arun_rounds, close_quietly
from prover.synthetic.quality import TINY_PROMPT, QualityGrader

log = logging.getLogger(__name__)


def _model_cfg(cfg: DictConfig, path: str | None) -> dict[str, Any]:
    m = dict(to_container(cfg.model) or {})
    if path:
        m["path"] = path
    return m


def base_model_path(cfg: DictConfig) -> str | None:
    """The local checkpoint fine-tuning starts from: ``finetune.base_model``, ``model.path``, or the tiny model."""
    ft = cfg.get("finetune") or {}
    if ft.get("base_model"):
        return str(ft["base_model"])
    m = _model_cfg(cfg, None)
    if m.get("backend", "hf") not in ("hf", "vllm"):
        return m.get("path")
    from prover.llm.generator_factory import resolve_model_path

    path = resolve_model_path(m)
    return path if Path(path).exists() else None


def build_strategy(cfg: DictConfig, generator: Generator, verifier: Verifier) -> tuple[Strategy, Budget]:
    """The configured prover strategy and its base budget."""
    import agents  # noqa: F401  (registers the MA-LoT strategy)
    from prover.search.strategy_factory import budget_from_cfg
    from prover.search.strategy_factory import build_strategy as factory_build

    return factory_build(cfg.prover, generator, verifier), budget_from_cfg(cfg.prover)


def stage_style(cfg: DictConfig) -> str:
    """The stages' own prompt style: ``tiny`` (the tiny model's short templates) or ``full``."""
    from autoformalize.prompts import stage_style as style_of

    return style_of(cfg.get("prompt_style"))


def build_formalizer(cfg: DictConfig, generator: Generator, verifier: Verifier) -> FormalizerLike:
    from autoformalize.formalizer import Formalizer

    f = cfg.formalize
    sampling = SamplingParams(
        temperature=float(f.get("temperature", 0.99)), max_tokens=int(f.get("max_tokens", 512))
    )
    from autoformalize.prompts import DEFAULT_EXEMPLARS, TINY_TEMPLATES, load_exemplars

    tiny = stage_style(cfg) == "tiny"
    exemplars = load_exemplars(f.get("exemplars") or (None if tiny else DEFAULT_EXEMPLARS))
    if f.get("num_exemplars") is not None:
        exemplars = exemplars[: int(f.num_exemplars)]
    return Formalizer(
        generator,
        verifier,
        n=int(f.n),
        threshold=float(f.threshold),
        header=cfg.header,
        sampling=sampling,
        exemplars=exemplars,
        templates=dict(TINY_TEMPLATES) if tiny else None,
    )


def build_grader(cfg: DictConfig, generator: Generator) -> QualityGrader:
    q = cfg.quality
    return QualityGrader(
        generator,
        prompt=q.get("prompt") or (TINY_PROMPT if stage_style(cfg) == "tiny" else None),
        keep=list(q.keep),
        keep_unparsed=bool(q.keep_unparsed),
        n=int(q.n),
        temperature=float(q.temperature),
        max_tokens=int(q.max_tokens),
    )


#: What a run folder's records depend on: a resume must not change these (limit, rounds, concurrency,
#: fine-tuning settings and the Lean backend may change; fine-tuning keeps its own marker per round).
FINGERPRINT_KEYS = ("input", "header", "formalize", "quality", "consistency", "prove", "export", "prover", "prompt_style")
MODEL_KEYS = ("name", "backend", "path")


def fingerprint(cfg: DictConfig) -> dict[str, Any]:
    fp = {k: to_container(cfg.get(k)) for k in FINGERPRINT_KEYS}
    model = to_container(cfg.get("model")) or {}
    fp["model"] = {k: model.get(k) for k in MODEL_KEYS}
    return fp  # check_run_manifest records non-JSON values as text


def check_manifest(out: Path, cfg: DictConfig) -> dict[str, Any] | None:
    """Refuse to resume a run folder with a different config (its records would mix two configs).

    Returns the fingerprint to record when the folder has none yet, else None.
    """
    return check_run_manifest(
        out, fingerprint(cfg), error=ValueError, write=False,
        describe=lambda changed: (
            f"{out} holds results of a different config ({', '.join(changed)}); "
            "resume with the same config or use a new run folder (out_dir=... or hydra.run.dir=...)"
        ),
    )


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def check_settings(cfg: DictConfig) -> None:
    """Refuse unusable counts before any model, Lean process or stage starts (one line naming the key)."""
    from prover.validate import LEAN_BOUNDS, check_values

    check_values(cfg, LEAN_BOUNDS, ValueError)
    at_least_one = {
        "rounds": cfg.get("rounds"),
        "concurrency": cfg.get("concurrency", 4),
        "formalize.n": cfg.formalize.get("n"),
        "formalize.batch_size": cfg.formalize.get("batch_size", 8),
        "quality.n": cfg.quality.get("n", 1),
        "quality.batch_size": cfg.quality.get("batch_size", 8),
        "consistency.samples": cfg.consistency.get("samples"),
        "consistency.chunk": _or(cfg.consistency.get("chunk"), cfg.consistency.get("samples")),
        "prove.samples": cfg.prove.get("samples"),
        "prove.chunk": _or(cfg.prove.get("chunk"), cfg.prove.get("samples")),
    }
    for key, value in at_least_one.items():
        try:
            ok = int(value) >= 1
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
    threshold = cfg.formalize.get("threshold", 0.5)
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"formalize.threshold must be in [0, 1], got {threshold}")
    if cfg.get("limit") is not None and int(cfg.limit) < 1:
        raise ValueError(f"limit must be >= 1 or null, got {cfg.limit}")
    import agents  # noqa: F401  (registers the MA-LoT strategy, so its spec is known)
    from prover.search.strategy_factory import check_strategy_fits

    check_strategy_fits(cfg.get("prover") or {}, cfg.get("lean"))  # e.g. prover=bestfirst lean=ray


async def arun_synth(
    cfg: DictConfig,
    *,
    generator: Generator | None = None,
    verifier: Verifier | None = None,
    formalizer: FormalizerLike | None = None,
    strategy: Strategy | None = None,
    progress: bool = True,
) -> Path:
    if not cfg.get("out_dir"):
        raise ValueError("out_dir is not set (the Hydra app sets it to the run folder)")
    check_settings(cfg)
    out = Path(str(cfg.out_dir)).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    manifest = check_manifest(out, cfg)
    OmegaConf.save(cfg, out / "config.yaml", resolve=True)
    items = load_informal(cfg.get("input") or default_input(stage_style(cfg)), limit=cfg.get("limit"))
    if not items:
        raise RecordError(f"{cfg.get('input') or 'the packaged problems'}: no informal problems to work on")

    own_verifier = verifier is None
    if verifier is None:
        from prover.lean.verifier_factory import build_verifier

        verifier = build_verifier(cfg.lean)
    from prover.lean.selftest import record_in_manifest, start_checks

    try:  # Mathlib on a Lean-core REPL, or Lean disagreeing with the smoke self-check: stop before judging
        checked = await start_checks(verifier, cfg.get("lean"), headers=[cfg.get("header")],
                                     injected=not own_verifier)
    except BaseException:
        if own_verifier:
            await verifier.aclose()
        raise
    record_in_manifest(out, checked)
    if manifest is not None:  # a new folder: record what its results depend on, now that Lean is up
        write_run_manifest(out, manifest)
    base_gen: Generator = generator or LazyGenerator(lambda: _build_generator(cfg, None), "base")
    built: list[Generator] = [] if generator else [base_gen]

    def make_services(round_: int, model_path: str | None) -> RoundServices:
        if generator is not None or model_path is None:
            prover_gen = base_gen
        else:
            # One fine-tuned prover in memory at a time: the previous round's is released first.
            while len(built) > 1:  # built[0] is the base generator
                close_quietly(built.pop())
            prover_gen = LazyGenerator(lambda: _build_generator(cfg, model_path), f"round{round_}")
            built.append(prover_gen)
        if strategy is not None:
            strat, budget = strategy, strategy.budget_type()
        else:
            strat, budget = build_strategy(cfg, prover_gen, verifier)
        return RoundServices(
            formalizer=formalizer or build_formalizer(cfg, base_gen, verifier),
            grader=build_grader(cfg, base_gen),
            strategy=strat,
            base_budget=budget,
        )

    try:
        await arun_rounds(cfg, out, items, make_services, base_model=lambda: base_model_path(cfg), progress=progress)
    finally:
        for g in built:
            close_quietly(g)
        if own_verifier:
            await verifier.aclose()
    return out


def _build_generator(cfg: DictConfig, path: str | None) -> Generator:
    from prover.llm.generator_factory import build_generator

    return build_generator(_model_cfg(cfg, path))


def run_synth(
    cfg: DictConfig,
    *,
    generator: Generator | None = None,
    verifier: Verifier | None = None,
    formalizer: FormalizerLike | None = None,
    strategy: Strategy | None = None,
    progress: bool = True,
) -> Path:
    """Run (or resume) the pipeline in ``cfg.out_dir``; return that folder.

    ``generator`` replaces ``cfg.model`` for every stage and round (so no fine-tuned model is
    loaded for later rounds); ``verifier`` replaces ``cfg.lean`` (and is not closed here);
    ``formalizer`` / ``strategy`` replace the configured autoformaliser / prover strategy.
    """
    return asyncio.run(
        arun_synth(
            cfg, generator=generator, verifier=verifier, formalizer=formalizer, strategy=strategy, progress=progress
        )
    )


def synth_task(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    if not cfg.get("out_dir"):
        OmegaConf.set_struct(cfg, False)
        cfg.out_dir = HydraConfig.get().runtime.output_dir
    out = run_synth(cfg)
    print(f"proofforge-synth: results in {out} (summary.md, dataset.jsonl, dataset/)")
