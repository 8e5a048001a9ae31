"""Prompt templates for the agents, kept as files in ``agents/prompts/``.

``prover_{style}.md`` and ``corrector_{style}.md`` use :class:`string.Template`
placeholders (``$header``, ``${statement}`` ...), so the Lean braces in them need no
escaping. A file's single final newline is dropped (editors add one; the tiny model's
prompt must end exactly after ``:= by\\n``). A template with ``=== system ===`` /
``=== user ===`` marker lines is a chat; one without markers is a raw-text prompt.
"""

from __future__ import annotations

from pathlib import Path

from prover.llm.generator import Prompt
from prover.search.prompts import check_style
from prover.templates import TemplateError, render_file

__all__ = ["PROMPTS_DIR", "TemplateError", "render", "template_path"]

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"


def template_path(role: str, style: str) -> Path:
    return PROMPTS_DIR / f"{role}_{check_style(style)}.md"


def render(role: str, style: str, **values: str) -> Prompt:
    """Fill ``agents/prompts/{role}_{style}.md`` with ``values`` (:func:`prover.templates.render_file`)."""
    return render_file(template_path(role, style), strip_final_newline=True, **values)
