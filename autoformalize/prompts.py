"""Prompt templates and few-shot exemplars, loaded from files so they can be edited without touching code.

Templates live in ``autoformalize/prompts/*.txt`` and are filled by the project's one renderer
(:mod:`prover.templates`: ``$name`` placeholders, since Lean text is full of braces). A template can be
overridden by passing a path to any file with the same placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.records import json_lines
from prover.templates import TemplateError, render_text
from prover.tinylm import formats as tiny_formats

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
DEFAULT_EXEMPLARS = PROMPTS_DIR / "exemplars.jsonl"
#: ``prompt_style=tiny``: short versions of the three templates for the embedded tiny model, with the same
#: placeholders and section markers, and its exemplar file (used only when named: the tiny style is zero-shot
#: by default). They live with the model trained on them (``prover/tinylm/prompts/``), which renders the same
#: files for its training corpus.
TINY_TEMPLATES: dict[str, str] = {role: str(tiny_formats.TEMPLATES[role]) for role in ("translate", "backtranslate", "judge")}
TINY_EXEMPLARS = tiny_formats.EXEMPLARS_FILE
PROMPT_STYLES = ("tiny", "full")


def stage_style(style: object) -> str:
    """``tiny`` for the tiny model's prompt style, ``full`` (Herald's prompts) for anything else."""
    return "tiny" if str(style or "") == "tiny" else "full"


#: The one template error (:class:`prover.templates.TemplateError`); the stage's name for it.
PromptError = TemplateError


def template_path(name_or_path: str | Path) -> Path:
    """A bare name (``"translate"``) means the packaged template; anything else is a file path."""
    s = str(name_or_path)
    if "/" not in s and not s.endswith(".txt"):
        return PROMPTS_DIR / f"{s}.txt"
    return Path(s).expanduser()


def render(name_or_path: str | Path, **values: Any) -> str:
    """Fill a template (:func:`prover.templates.render_text`); a placeholder without a value names the key."""
    return render_text(template_path(name_or_path), **values)


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
