"""Prompt templates and few-shot exemplars, loaded from files so they can be edited without touching code.

Templates live in ``autoformalize/prompts/*.txt`` and use ``string.Template`` placeholders (``$name``)
rather than ``str.format`` because Lean text is full of braces (``{x | p x}``) that ``format`` would
misread. A template can be overridden by passing a path to any file with the same placeholders.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from prover.records import json_lines

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
DEFAULT_EXEMPLARS = PROMPTS_DIR / "exemplars.jsonl"
#: ``prompt_style=tiny``: short versions of the three templates for the embedded tiny model (``prover/tinylm``),
#: with the same placeholders and section markers, and its exemplar file (used only when named: the tiny style
#: is zero-shot by default). ``prover.tinylm.formats`` builds the same strings for the model's training corpus.
TINY_TEMPLATES: dict[str, str] = {"translate": "tiny_translate", "backtranslate": "tiny_backtranslate",
                                  "judge": "tiny_judge"}
TINY_EXEMPLARS = PROMPTS_DIR / "tiny_exemplars.jsonl"
PROMPT_STYLES = ("tiny", "full")


def stage_style(style: object) -> str:
    """``tiny`` for the tiny model's prompt style, ``full`` (Herald's prompts) for anything else."""
    return "tiny" if str(style or "") == "tiny" else "full"


class PromptError(ValueError):
    """A template or exemplar file is missing or malformed; the message names the file."""


@lru_cache(maxsize=64)
def _read(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise PromptError(f"prompt template {p} does not exist")
    return p.read_text(encoding="utf-8")


def template_path(name_or_path: str | Path) -> Path:
    """A bare name (``"translate"``) means the packaged template; anything else is a file path."""
    s = str(name_or_path)
    if "/" not in s and not s.endswith(".txt"):
        return PROMPTS_DIR / f"{s}.txt"
    return Path(s).expanduser()


def render(name_or_path: str | Path, **values: Any) -> str:
    """Fill a template; a placeholder without a value is an error naming the template and the key."""
    path = template_path(name_or_path)
    try:
        return string.Template(_read(str(path))).substitute(**{k: str(v) for k, v in values.items()})
    except KeyError as e:
        raise PromptError(f"prompt template {path} needs a value for ${e.args[0]}") from None
    except ValueError as e:
        raise PromptError(f"prompt template {path}: {e}") from None


@dataclass(frozen=True)
class Exemplar:
    """One solved translation shown to the model before the real one."""

    name: str
    informal: str
    formal: str


def load_exemplars(path: str | Path | None = DEFAULT_EXEMPLARS, limit: int | None = None) -> list[Exemplar]:
    """Read few-shot exemplars from JSONL (fields ``name``, ``informal``, ``formal``); ``None`` means none."""
    if path is None or str(path) == "":
        return []
    p = Path(path).expanduser()
    if not p.is_file():
        raise PromptError(f"exemplar file {p} does not exist")
    out: list[Exemplar] = []
    for i, row in json_lines(p, PromptError):
        try:
            out.append(Exemplar(str(row["name"]), str(row["informal"]), str(row["formal"])))
        except (KeyError, TypeError) as e:
            raise PromptError(
                f"{p}:{i}: an exemplar must be a JSON object with name, informal, formal ({e})"
            ) from None
    return out[:limit] if limit is not None else out
