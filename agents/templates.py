"""Prompt templates for the agents, kept as files in ``agents/prompts/``.

``prover_{style}.md`` and ``corrector_{style}.md`` use :class:`string.Template`
placeholders (``$header``, ``${statement}`` ...), so the Lean braces in them need no
escaping. A file's single final newline is dropped (editors add one; the tiny model's
prompt must end exactly after ``:= by\\n``). A template with ``=== system ===`` /
``=== user ===`` marker lines is a chat; one without markers is a raw-text prompt.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from string import Template

from prover.llm.base import Prompt
from prover.search.prompts import check_style

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
_MARKER = re.compile(r"^=== (system|user|assistant) ===\n", re.MULTILINE)


class TemplateError(ValueError):
    """A template is missing or refers to an unknown placeholder; the message names the file."""


@cache
def _read(path: Path) -> str:
    if not path.is_file():
        raise TemplateError(f"prompt template {path} does not exist")
    text = path.read_text(encoding="utf-8")
    return text[:-1] if text.endswith("\n") else text


def template_path(role: str, style: str) -> Path:
    return PROMPTS_DIR / f"{role}_{check_style(style)}.md"


def render(role: str, style: str, **values: str) -> Prompt:
    """Fill ``agents/prompts/{role}_{style}.md`` with ``values``."""
    path = template_path(role, style)
    text = _read(path)
    try:
        if not _MARKER.search(text):
            return Template(text).substitute(values)
        parts = _MARKER.split(text)
        chat = []
        for i in range(1, len(parts), 2):
            body = parts[i + 1]
            if i + 2 < len(parts) and body.endswith("\n"):
                body = body[:-1]  # the newline before the next marker line
            chat.append({"role": parts[i], "content": Template(body).substitute(values)})
        return chat
    except KeyError as e:
        raise TemplateError(f"prompt template {path} uses unknown placeholder ${e.args[0]}") from None
    except ValueError as e:
        raise TemplateError(f"prompt template {path}: {e}") from None
