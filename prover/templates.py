"""The one prompt-template renderer: template files with ``string.Template`` placeholders.

Every stage keeps its prompt templates as files beside it (``agents/prompts/*.md``,
``autoformalize/prompts/*.txt``, ``prover/synthetic/prompts/*.txt``) and fills them here, so a
missing file, a placeholder without a value and a malformed ``$`` are the same one-line
:class:`TemplateError` naming the file everywhere. ``$name`` placeholders (not ``str.format``)
because Lean text is full of braces. A template with ``=== system ===`` / ``=== user ===`` /
``=== assistant ===`` marker lines renders to a chat (a list of ``{"role", "content"}``); one
without markers renders to text.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any, Union

#: What a template renders to: text, or a chat's messages.
Rendered = Union[str, list[dict[str, str]]]

_MARKER = re.compile(r"^=== (system|user|assistant) ===\n", re.MULTILINE)


class TemplateError(ValueError):
    """A template is missing, malformed, or needs a value it was not given; the message names the file."""


@lru_cache(maxsize=256)
def read_template(path: str | Path, *, strip_final_newline: bool = False) -> str:
    """The template file's text (cached). ``strip_final_newline`` drops one trailing newline (editors add
    one; a raw prompt that must end exactly after ``:= by\\n`` cannot have it)."""
    p = Path(path)
    if not p.is_file():
        raise TemplateError(f"prompt template {p} does not exist")
    text = p.read_text(encoding="utf-8")
    return text[:-1] if strip_final_newline and text.endswith("\n") else text


def fill(text: str, values: dict[str, Any], *, where: str | Path = "template") -> Rendered:
    """Substitute ``values`` into template text (a chat when it has marker lines)."""
    strings = {k: str(v) for k, v in values.items()}
    try:
        if not _MARKER.search(text):
            return Template(text).substitute(strings)
        parts = _MARKER.split(text)
        chat = []
        for i in range(1, len(parts), 2):
            body = parts[i + 1]
            if i + 2 < len(parts) and body.endswith("\n"):
                body = body[:-1]  # the newline before the next marker line
            chat.append({"role": parts[i], "content": Template(body).substitute(strings)})
        return chat
    except KeyError as e:
        raise TemplateError(f"prompt template {where} needs a value for ${e.args[0]}") from None
    except ValueError as e:
        raise TemplateError(f"prompt template {where}: {e}") from None


def render_file(path: str | Path, *, strip_final_newline: bool = False, **values: Any) -> Rendered:
    """Fill the template file at ``path`` with ``values``."""
    return fill(read_template(str(path), strip_final_newline=strip_final_newline), values, where=path)


def render_text(path: str | Path, **values: Any) -> str:
    """:func:`render_file` for a template that must be plain text (not a chat)."""
    out = render_file(path, **values)
    if not isinstance(out, str):
        raise TemplateError(f"prompt template {path} is a chat (=== role === markers); this stage needs text")
    return out


def placeholders(path: str | Path) -> set[str]:
    """The ``$name`` / ``${name}`` placeholders a template file uses."""
    text = read_template(str(path))
    return {m.group("named") or m.group("braced") for m in Template.pattern.finditer(text)
            if m.group("named") or m.group("braced")}
