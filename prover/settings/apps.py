"""Each app's own config (``configs/<app>.yaml``): its top-level keys, with the shared groups typed.

Registered as the schema of the app's primary config (``- /schema/app@_here_: <app>`` first in its defaults),
so every key of every app is checked when the config is composed: ``progres=false`` or ``n=many`` stops with
Hydra's message before anything starts. ``prover`` is ``Any`` here because its type is the strategy's
(``configs/prover/<name>.yaml`` brings its own schema).
"""

# OmegaConf 2.3 reads ``Optional[X]``/``Union`` but not PEP 604 ``X | None`` in a structured config.
# ruff: noqa: UP007, UP045

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from prover.settings.sampling import SamplingSettings
from prover.settings.services import DatasetSettings, LeanSettings, LoggerSettings, ModelSettings

__all__ = [
    "CheckSettings",
    "EvalSettings",
    "FinetuneSettings",
    "FormalizeSettings",
    "LeanServerSettings",
    "ServeSettings",
    "SynthSettings",
]

_MATHLIB_HEADER = "import Mathlib\n\nopen BigOperators Real Nat Topology Rat\n\n"
_SYNTH_HEADER = ("import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\n"
                 "open BigOperators Real Nat Topology Rat\n\n")


# --------------------------------------------------------------------------------------------- eval


@dataclass
class EvalSettings:
    """``configs/eval.yaml`` (``proofforge-eval``)."""

    out_dir: Optional[str] = None  # results folder; None = Hydra's run folder
    concurrency: int = 1  # problems in flight at once
    report: bool = True  # write report.md / report.html at the end
    seed: int = 0  # recorded with the run
    protocol: Optional[dict[str, Any]] = None  # set by the paper presets: {name, source}
    model: ModelSettings = field(default_factory=ModelSettings)
    prover: Any = None  # the strategy's own settings class (configs/prover/)
    dataset: DatasetSettings = field(default_factory=DatasetSettings)
    lean: LeanSettings = field(default_factory=LeanSettings)
    logger: LoggerSettings = field(default_factory=LoggerSettings)


# --------------------------------------------------------------------------------------------- check


@dataclass
class CheckSettings:
    """``configs/check.yaml`` (``proofforge-check``)."""

    inputs: list[str] = field(default_factory=list)  # .lean files and/or candidate .jsonl files
    out: str = "verdicts.jsonl"  # relative = inside the run folder
    progress: bool = True
    recheck: list[str] = field(default_factory=list)  # statuses to judge again on resume
    lean: LeanSettings = field(default_factory=LeanSettings)


# --------------------------------------------------------------------------------------------- servers


@dataclass
class ServeSettings:
    """``configs/serve.yaml`` (``proofforge-serve``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    backend: str = "hf"  # hf: the built-in server | vllm: launch `vllm serve`
    served_model_name: Optional[str] = None
    max_batch_size: int = 16
    batch_wait_ms: float = 10
    log_requests: bool = True
    log_level: str = "info"
    vllm_args: list[str] = field(default_factory=list)
    dry_run: bool = False
    model: ModelSettings = field(default_factory=ModelSettings)


@dataclass
class LeanServerSettings:
    """``configs/lean_server.yaml`` (``proofforge-lean-server``)."""

    host: str = "127.0.0.1"
    port: int = 8010
    api_key: Optional[str] = None
    max_pending: int = 256
    max_body_bytes: int = 16777216
    max_snippet_bytes: int = 262144
    max_snippets: int = 256
    max_timeout: float = 300
    cache_size: int = 100000
    switch_interval_ms: Optional[float] = 1
    log_level: str = "info"
    dry_run: bool = False
    lean: LeanSettings = field(default_factory=LeanSettings)


# --------------------------------------------------------------------------------------------- formalize


@dataclass
class TemplateFiles:
    """``templates``: prompt files overriding the packaged ones; None = packaged."""

    translate: Optional[str] = None
    backtranslate: Optional[str] = None
    judge: Optional[str] = None


@dataclass
class RetrievalSettings:
    """``retrieval``: LeanVec-style premise retrieval into the translation prompt."""

    enabled: bool = False
    declarations: Optional[str] = None
    encoder: str = "hashing"
    dim: int = 768
    reduced_dim: int = 128
    projection: str = "ood"  # ood | pca | none
    rerank: int = 50
    k: int = 5


@dataclass
class HeraldEvalSettings:
    """``herald_eval`` (mode=herald_eval)."""

    input: Optional[str] = None
    split: Optional[str] = "test"
    ks: list[int] = field(default_factory=lambda: [1, 8])


@dataclass
class AbstainEvalSettings:
    """``abstain_eval`` (mode=abstain_eval)."""

    input: Optional[str] = None


@dataclass
class LibrarySettings:
    """``library`` (mode=library)."""

    source: Optional[str] = None
    use_repl: bool = False


@dataclass
class FormalizeSettings:
    """``configs/formalize.yaml`` (``proofforge-formalize``)."""

    mode: str = "formalize"  # formalize | herald_eval | abstain_eval | library
    input: Optional[str] = None
    prompt_style: str = "full"
    out_dir: Optional[str] = None
    n: int = 8
    threshold: float = 0.5
    header: str = _MATHLIB_HEADER
    batch_size: int = 4
    limit: Optional[int] = None
    progress: bool = True
    exemplars: Optional[str] = None
    num_exemplars: Optional[int] = 3
    templates: TemplateFiles = field(default_factory=TemplateFiles)
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    backtranslate: SamplingSettings = field(default_factory=SamplingSettings)
    judge: SamplingSettings = field(default_factory=SamplingSettings)
    judge_model: dict[str, Any] = field(default_factory=dict)  # a model mapping for a separate judge; {} = same
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    herald_eval: HeraldEvalSettings = field(default_factory=HeraldEvalSettings)
    abstain_eval: AbstainEvalSettings = field(default_factory=AbstainEvalSettings)
    library: LibrarySettings = field(default_factory=LibrarySettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    lean: LeanSettings = field(default_factory=LeanSettings)


# --------------------------------------------------------------------------------------------- synth


@dataclass
class SynthFormalizeSettings:
    """``formalize``: stage 1."""

    n: int = 4
    threshold: float = 0.5
    temperature: float = 0.99
    max_tokens: int = 512
    batch_size: int = 8
    exemplars: Optional[str] = None
    num_exemplars: Optional[int] = None


@dataclass
class QualitySettings:
    """``quality``: stage 2's grader."""

    prompt: Optional[str] = None
    keep: list[str] = field(default_factory=lambda: ["excellent", "good", "above average"])
    keep_unparsed: bool = False
    n: int = 1
    temperature: float = 0.0
    max_tokens: int = 16
    batch_size: int = 8


@dataclass
class SearchSpend:
    """``consistency`` (stage 3) and ``prove`` (stage 4): samples in all, and per attempt."""

    samples: int = 4
    chunk: int = 4


@dataclass
class ExportSettings:
    """``export``: stage 5."""

    split: str = "train"


@dataclass
class FinetuneSettings:
    """``finetune``: expert iteration's SFT step (``prover.synthetic.finetune`` trains with it)."""

    enabled: bool = True
    base_model: Optional[str] = None
    continue_training: bool = False
    max_steps: int = 50
    batch_size: int = 4
    grad_accum: int = 1
    lr: float = 5.0e-5
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_length: int = 1024
    seed: int = 0
    save_steps: int = 100
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    prompt_style: Optional[str] = None  # None = the prover's prompt style, then tiny
    cot: bool = False


@dataclass
class SynthSettings:
    """``configs/synth.yaml`` (``proofforge-synth``)."""

    input: Optional[str] = None
    prompt_style: str = "full"
    limit: Optional[int] = None
    out_dir: Optional[str] = None
    rounds: int = 1
    concurrency: int = 4
    header: str = _SYNTH_HEADER
    formalize: SynthFormalizeSettings = field(default_factory=SynthFormalizeSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    consistency: SearchSpend = field(default_factory=SearchSpend)
    prove: SearchSpend = field(default_factory=lambda: SearchSpend(samples=16, chunk=4))
    export: ExportSettings = field(default_factory=ExportSettings)
    finetune: FinetuneSettings = field(default_factory=FinetuneSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    prover: Any = None  # the strategy's own settings class (configs/prover/)
    lean: LeanSettings = field(default_factory=LeanSettings)
    logger: LoggerSettings = field(default_factory=LoggerSettings)
