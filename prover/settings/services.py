"""The services' settings: the verifier (``lean``), the generator (``model``), the benchmark (``dataset``)
and the experiment tracker (``logger``)."""

# OmegaConf 2.3 reads ``Optional[X]``/``Union`` but not PEP 604 ``X | None`` in a structured config.
# ruff: noqa: UP007, UP045

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from prover.records import STANDARD_AXIOMS
from prover.settings.sampling import SamplingSettings

__all__ = ["DatasetSettings", "LeanSettings", "LoggerSettings", "ModelSettings", "VLLMSettings"]


@dataclass
class LeanSettings:
    """``configs/lean/*.yaml``: which verifier and its limits. Backend-specific keys say so."""

    backend: str = "local"  # local | scripted | replay | ray
    project_dir: Optional[str] = None  # Lake project; None = $PROOFFORGE_LEAN_PROJECT or the checkout's
    mathlib: Any = "auto"  # True | False | "auto"
    workers: Optional[int] = None  # REPL processes; None = cpu_count - 1 (min 1)
    timeout: float = 60.0  # seconds per candidate body (wall clock; the REPL has no timeout of its own)
    header_timeout: float = 600.0  # seconds to load a header (import Mathlib can take minutes)
    memory_limit_gb: Optional[float] = 12.0  # RLIMIT_AS per REPL (with mmapped .oleans); 0 or None = none
    max_uses: Optional[int] = 200  # retire a REPL after this many bodies; None = never
    max_rss_gb: Optional[float] = None  # retire a REPL whose RSS (with children) passes this; None = no check
    selftest: bool = True  # the 3-case smoke self-check when an app starts its pool
    allowed_axioms: list[str] = field(default_factory=lambda: sorted(STANDARD_AXIOMS))
    # scripted (the REPL double: tests and offline demos; its verdicts are not real Lean)
    rules: list[dict[str, Any]] = field(default_factory=list)
    rules_file: Optional[str] = None
    core_only: bool = False
    # replay (the recorded REPL transcripts)
    transcripts: Optional[str] = None
    transcript: Optional[str] = None
    # ray (Lean workers as Ray actors)
    address: Optional[str] = None
    actors: Optional[int] = None
    actor_backend: str = "local"
    actor_cpus: Optional[float] = None
    max_restarts: int = 1
    max_task_retries: int = 1

    def __post_init__(self) -> None:
        for key in ("workers", "max_uses", "actors"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ValueError(f"{key} must be >= 1 (or null), got {value}")
        for key in ("timeout", "header_timeout"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key} must be > 0 seconds, got {getattr(self, key)}")




@dataclass
class VLLMSettings:
    """``model.vllm`` (``configs/vllm/default.yaml``): the in-process vLLM engine's settings."""

    attention_backend: Optional[str] = "CUSTOM"  # LeanAttention's plugin; None = vLLM's default
    max_model_len: Optional[int] = None  # None = the model's context_length
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    seed: int = 0
    enable_prefix_caching: bool = True
    extra_args: dict[str, Any] = field(default_factory=dict)  # more vllm.LLM(...) keyword arguments


@dataclass
class ModelSettings:
    """``configs/model/*.yaml``: which generator backend and its settings. Backend-specific keys say so."""

    name: Optional[str] = "tiny"  # model id (results, served name); "tiny" with no path = the tiny model
    backend: str = "hf"  # hf | vllm | openai | scripted
    path: Optional[str] = None  # checkpoint folder; None = the tiny model (trained on first use) or the hub id
    prompt_style: str = "tiny"  # read by the strategies and stages to pick their templates
    chat: bool = False  # send prompts as chats (chat template / chat completions)
    system_prompt: Optional[str] = None
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)
    context_length: Optional[int] = None  # prompt + completion tokens; None = ask the backend
    sampling: SamplingSettings = field(default_factory=SamplingSettings)  # defaults a stage may start from
    # hf (in-process transformers) and vllm
    dtype: str = "auto"
    device: str = "auto"
    attn_implementation: str = "lean_attention"  # hf only: lean_attention | sdpa | eager
    max_batch_size: int = 32
    threads: Optional[int] = None  # torch CPU threads (process-wide); None = torch's default
    vllm: VLLMSettings = field(default_factory=VLLMSettings)
    # openai (any OpenAI-compatible server)
    base_url: Optional[str] = None
    served_name: Optional[str] = None  # the server's model id when it differs from name
    api_key: Optional[str] = None  # None = $OPENAI_API_KEY, else "EMPTY"
    max_concurrency: int = 32
    max_retries: int = 4
    timeout: float = 600.0
    extra_body: dict[str, Any] = field(default_factory=dict)
    # scripted (a test double answering from regex rules)
    script: list[Any] = field(default_factory=list)  # [regex, output] pairs
    default: str = ""




@dataclass
class DatasetSettings:
    """``configs/dataset/*.yaml``: which benchmark file, which split, which problems."""

    name: str = "demo"  # demo | minif2f_v424 | minif2f_deepseek | any label with path=<file.jsonl>
    path: Optional[str] = None  # a local JSONL overrides the built-in/downloaded file
    split: Optional[str] = None  # None = all
    limit: Optional[int] = None  # only the first N problems (smoke runs)
    names: Optional[list[str]] = None  # only these problem names
    download: bool = True  # download a missing miniF2F file into the cache
    informal_from: Optional[str] = None  # fill missing informal statements from a DeepSeek-format file

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"limit must be >= 0 (or null), got {self.limit}")


@dataclass
class LoggerSettings:
    """``configs/logger/*.yaml``: the experiment tracker (prover/tracking.py). Backend-specific keys say so."""

    backend: str = "none"  # none | tensorboard | mlflow | wandb
    dir: Optional[str] = None  # tensorboard, wandb: None = the run folder (tensorboard: its tensorboard/)
    run_name: Optional[str] = None  # mlflow, wandb: None = the run folder's name
    tracking_uri: Optional[str] = None  # mlflow: None = the file store ./mlruns
    experiment: str = "proofforge"  # mlflow
    project: str = "proofforge"  # wandb
    entity: Optional[str] = None  # wandb
    mode: str = "offline"  # wandb: offline | online | disabled
    tags: list[str] = field(default_factory=list)  # wandb
