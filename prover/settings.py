"""Typed settings of the shared config groups (``lean``, ``model``, ``prover``): one dataclass per node.

Why here, at the bottom: the config is turned into these objects once, at the edge (the Hydra apps;
``prover.config`` registers every class below in Hydra's ConfigStore as the schema of its group, so a
wrong key or a wrong type fails when the config is composed, with Hydra's own message), and everything
below the edge (the verifier, generator and strategy factories, the strategies) takes them as typed,
documented parameters. Nothing here imports Hydra or OmegaConf.

The field types are the ones OmegaConf can check (``Optional[...]``, ``list``, ``dict``, nested
dataclasses, ``Any``): these classes are Hydra's schemas as well as Python's parameters.

:func:`settings_from` builds any of them from a plain mapping (a notebook's dict, a composed
``DictConfig`` node, a JSON object), naming the key in every error, so code that is handed a mapping
reads it the same way the apps do.
"""

# OmegaConf 2.3 reads ``Optional[X]``/``Union`` but not PEP 604 ``X | None`` in a structured config.
# ruff: noqa: UP007, UP045

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, TypeVar, Union

from prover.records import STANDARD_AXIOMS

__all__ = [
    "BestFirstBudget",
    "BestFirstSettings",
    "Budget",
    "DatasetSettings",
    "LoggerSettings",
    "LeanSettings",
    "MALoTBudget",
    "MALoTSettings",
    "ModelSettings",
    "SamplingParams",
    "SamplingSettings",
    "SettingsError",
    "VLLMSettings",
    "WholeProofBudget",
    "WholeProofSettings",
    "settings_from",
]

class SettingsError(ValueError):
    """A settings node is unusable; the message names the key (``lean.timeout must be a number``)."""


# --------------------------------------------------------------------------------------------- sampling


@dataclass
class SamplingParams:
    """How to sample. ``n`` completions per prompt; ``seed`` makes a backend repeatable.

    The generator seam's record (``prover.llm.generator`` re-exports it); a config node is a
    :class:`SamplingSettings`.
    """

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 512
    stop: list[str] = field(default_factory=list)
    seed: Optional[int] = None
    logprobs: bool = False

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"SamplingParams.n must be >= 1, got {self.n}")
        if not (self.temperature >= 0 and math.isfinite(self.temperature)):  # also catches NaN
            raise ValueError(f"SamplingParams.temperature must be a finite number >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams.top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"SamplingParams.max_tokens must be >= 1, got {self.max_tokens}")


@dataclass
class SamplingSettings:
    """A ``sampling`` node of the config (``prover.sampling``, ``model.sampling``, ...): what a user sets.

    ``n`` and ``logprobs`` are not here: the strategy sets them (whole-proof sampling's n is its
    budget's ``samples``, best-first's is ``tactics_per_expansion``). :meth:`params` gives the
    generator's :class:`SamplingParams`.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: Optional[int] = None
    stop: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.params()  # the same range checks, at conversion

    def params(self, **more: Any) -> SamplingParams:
        """These settings as the generator's SamplingParams, with ``more`` (``n=4, logprobs=True``)."""
        return SamplingParams(**{**dataclasses.asdict(self), "stop": list(self.stop), **more})


# --------------------------------------------------------------------------------------------- budgets


def _check_budget(budget: Any, spent: str) -> None:
    for f in dataclasses.fields(budget):
        value = getattr(budget, f.name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{f.name} must be an integer, got {value!r}")
        if value < 0:
            raise ValueError(f"{f.name} must be >= 0, got {value}")
    if getattr(budget, spent) < 1:
        raise ValueError(f"{spent} must be >= 1 for a {type(budget).__name__}, got {getattr(budget, spent)}")


@dataclass
class WholeProofBudget:
    """Whole-proof sampling: ``samples`` whole proofs per problem (pass@k's n), verified in one batch."""

    samples: int = 8

    def __post_init__(self) -> None:
        _check_budget(self, "samples")


@dataclass
class MALoTBudget:
    """MA-LoT: ``samples`` first-round proofs, then up to ``rounds`` correction rounds of ``corrections``
    revisions per failed attempt (agents/loop.py)."""

    samples: int = 4
    rounds: int = 5
    corrections: int = 2

    def __post_init__(self) -> None:
        _check_budget(self, "samples")


@dataclass
class BestFirstBudget:
    """Best-first tactic search: ``expansions`` node expansions per problem (one search)."""

    expansions: int = 64

    def __post_init__(self) -> None:
        _check_budget(self, "expansions")


#: What a strategy may spend on one problem; each strategy takes its own kind.
Budget = Union[WholeProofBudget, MALoTBudget, BestFirstBudget]


# --------------------------------------------------------------------------------------------- prover


@dataclass
class WholeProofSettings:
    """``configs/prover/wholeproof.yaml``: DeepSeek-Prover-V1.5's whole-proof sampling."""

    name: str = "wholeproof"
    prompt_style: str = "tiny"  # tiny | deepseek | goedel | kimina
    cot: bool = False  # deepseek style only: the "with explanatory comments" prompt
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    budget: WholeProofBudget = field(default_factory=WholeProofBudget)


@dataclass
class MALoTSettings:
    """``configs/prover/malot.yaml``: the MA-LoT prover agent, then chained corrector rounds."""

    name: str = "malot"
    prompt_style: str = "tiny"
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    corrector_sampling: Optional[SamplingSettings] = None  # None: the same as ``sampling``
    budget: MALoTBudget = field(default_factory=MALoTBudget)


@dataclass
class BestFirstSettings:
    """``configs/prover/bestfirst.yaml``: best-first search over REPL proof states."""

    name: str = "bestfirst"
    prompt_style: str = "tiny"
    tactics_per_expansion: int = 4  # tactics sampled per expanded node (sampling.n)
    max_depth: int = 50  # branches deeper than this are cut
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    budget: BestFirstBudget = field(default_factory=BestFirstBudget)

    def __post_init__(self) -> None:
        if self.tactics_per_expansion < 1:
            raise ValueError(f"tactics_per_expansion must be >= 1, got {self.tactics_per_expansion}")
        if self.max_depth < 1:
            raise ValueError(f"max_depth must be >= 1, got {self.max_depth}")


# --------------------------------------------------------------------------------------------- lean


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


# --------------------------------------------------------------------------------------------- model


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


# --------------------------------------------------------------------------------------------- dataset, logger


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


# --------------------------------------------------------------------------------------------- reading

T = TypeVar("T")


def settings_from(cls: type[T], data: Any, where: str) -> T:
    """``cls`` from ``data``: an instance of it (returned as is), ``None`` (the defaults) or a mapping.

    A mapping's unknown key, a value of the wrong type and a value a class refuses (``__post_init__``)
    raise :class:`SettingsError` naming the key under ``where`` (``prover.budget.samples``). A null
    value keeps the field's default unless the field is optional. Nested dataclasses are read the same
    way; lists and mappings (a ``ListConfig``/``DictConfig`` too) become plain lists and dicts.
    """
    if isinstance(data, cls):
        return data
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise SettingsError(f"{where} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(str(k) for k in data if k not in fields)
    if unknown:
        raise SettingsError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(fields)}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        hint = hints[key]
        optional = _is_optional(hint)
        if value is None and not optional:
            continue  # null keeps the default
        values[key] = None if value is None else _coerce(_strip_optional(hint), value, f"{where}.{key}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        message = str(e).replace("SamplingParams.", "")  # the class's own wording; ``where`` names the node
        first = message.split(" ", 1)[0]
        raise SettingsError(f"{where}.{message}" if first in fields else f"{where}: {message}") from None


def _is_optional(hint: Any) -> bool:
    return typing.get_origin(hint) is Union and type(None) in typing.get_args(hint)


def _strip_optional(hint: Any) -> Any:
    if _is_optional(hint):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else Any
    return hint


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """``value`` as ``hint`` (the few kinds the settings use), or a SettingsError naming ``where``."""
    if dataclasses.is_dataclass(hint):
        return settings_from(hint, value, where)  # type: ignore[arg-type]
    origin = typing.get_origin(hint)
    if origin is list:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise SettingsError(f"{where} must be a list, got {value!r}")
        (item,) = typing.get_args(hint) or (Any,)
        return [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise SettingsError(f"{where} must be a mapping, got {value!r}")
        return {str(k): _plain(v) for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise SettingsError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise SettingsError(f"{where} must be an integer, got {value!r}")
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"{where} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if isinstance(value, (Mapping, list, tuple)):
            raise SettingsError(f"{where} must be a string, got {value!r}")
        return str(value)
    return _plain(value)


def _plain(value: Any) -> Any:
    """Plain Python containers (a DictConfig/ListConfig node becomes a dict/list; values resolved)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_plain(v) for v in value]
    return value
