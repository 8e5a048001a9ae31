"""Lean -> NL: back-translate a type-checked candidate so a judge can compare it with the original.

Herald back-translates every compiled candidate (InternLM2-Math-Plus-7B at temperature 0.1) and only
then asks whether the two problems are the same; comparing NL with NL is something general LLMs do far
more reliably than reading Lean directly.
"""

from __future__ import annotations

import re

from autoformalize.prompts import render

_FENCE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)


def backtranslation_prompt(statement: str, *, template: str = "backtranslate") -> str:
    return render(template, statement=statement.strip())


def clean_backtranslation(output: str) -> str:
    """The model's paragraph without code fences or a leading label; empty output stays empty."""
    text = _FENCE.sub("", output).strip()
    text = re.sub(r"^\s*\**\s*informal statement\s*\**\s*:?\s*", "", text, flags=re.IGNORECASE)
    return " ".join(text.split())
