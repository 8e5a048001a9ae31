"""An eval's components (strategy, verifier, generator) built from its config, and the meta every Outcome records.

Built in the order that fails fastest: the prover config, then the verifier (a missing Lean), then the
model (possibly slow to load or train).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from omegaconf import DictConfig

from evals.data import Dataset
from evals.passk import budget_description
from prover.config import to_container
from prover.lean.project import project_pins
from prover.lean.verifier import Verifier
from prover.llm.generator import Generator
from prover.llm.wrappers import SerializedGenerator
from prover.search.strategy import Budget, Strategy

IN_PROCESS_BACKENDS = ("hf", "vllm")


def build_components(
    cfg: DictConfig, generator: Generator | None, verifier: Verifier | None
) -> tuple[Generator, Verifier, Strategy, Budget]:
    """Prover config, then verifier: a typo or a missing Lean must fail before the (possibly slow) model
    is loaded or trained."""
    from prover.lean.verifier_factory import lean_settings
    from prover.llm.generator_factory import model_settings
    from prover.search.strategy_factory import build_strategy, check_strategy_fits, prover_settings

    # The config becomes typed settings here, once (prover/settings/): everything below takes them.
    prover = prover_settings(cfg.prover)
    lean = lean_settings(cfg.get("lean")) if verifier is None else None
    if verifier is None:  # an injected verifier is the caller's choice
        check_strategy_fits(prover, lean)
    built = verifier is None
    if verifier is None:
        from prover.lean.verifier_factory import build_verifier

        verifier = build_verifier(lean)
    try:
        if generator is None:
            from prover.llm.generator_factory import build_generator

            model = model_settings(cfg.model)
            generator = build_generator(model)
            if int(cfg.get("concurrency", 1) or 1) > 1 and model.backend in IN_PROCESS_BACKENDS:
                generator = SerializedGenerator(generator)
        strategy = build_strategy(prover, generator, verifier)
    except BaseException:
        if built:  # the model could not be built: the REPL processes started for it go too
            close = getattr(verifier, "close", None)
            if callable(close):
                close()
        raise
    budget = prover.budget
    return generator, verifier, strategy, budget


def lean_meta(lean: dict[str, Any]) -> dict[str, Any]:
    """The verifier's backend and the Lean/Mathlib/REPL pins of the project it runs (doubles say so)."""
    backend = str(lean.get("backend", "local"))
    if backend in ("scripted", "replay"):
        return {"backend": backend, "pins": {"note": f"{backend} REPL double: verdicts are not real Lean"},
                **lean_limits(lean)}
    return {"backend": backend, "mathlib": lean.get("mathlib", "auto"),
            "pins": project_pins(lean.get("project_dir")), **lean_limits(lean)}


def lean_limits(lean: dict[str, Any]) -> dict[str, Any]:
    """The verifier settings a pass@k depends on (a 60 s and a 300 s timeout are different protocols)."""
    return {k: lean.get(k) for k in ("timeout", "header_timeout", "memory_limit_gb") if k in lean}


def eval_meta(
    cfg: DictConfig,
    dataset: Dataset,
    generator: Generator,
    strategy: Strategy,
    budget: Budget,
    verifier: Verifier | None = None,
) -> dict:
    """What every Outcome records about the run that made it (``verifier``: one the caller passed in)."""
    model = to_container(cfg.get("model")) or {}
    prover = to_container(cfg.get("prover")) or {}
    lean = to_container(cfg.get("lean")) or {}
    sampling = prover.get("sampling") if isinstance(prover, dict) else None
    strategy_name = str(getattr(strategy, "name", "") or prover.get("name", "strategy"))
    return {
        "dataset": dataset.info.to_dict(),
        "lean": lean_meta(lean) if verifier is None else {
            "backend": "injected", "class": type(verifier).__name__,
            "pins": {"note": "verifier passed in by the caller; the config's lean node was not used"}},
        "model": str(model.get("name") or model.get("path") or getattr(generator, "name", "model")),
        "strategy": strategy_name,
        "budget": asdict(budget),
        "sampling": sampling,
        "budget_text": budget_description(strategy_name, asdict(budget), sampling),
        # which paper's protocol an experiment preset follows (configs/experiment/), with its source file
        "protocol": to_container(cfg.get("protocol")) or None,
    }
