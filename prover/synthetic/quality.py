"""Stage 2: a model grades each formal statement; low grades are dropped.

DeepSeek-Prover V1 prompts a model few-shot to grade every autoformalised statement on the scale
excellent / good / above average / fair / poor and drops "fair" and "poor". Model output is free
text (a tiny model's especially), so :func:`parse_grade` looks for an explicit ``Grade: X`` first,
then for the first grade word, and returns ``None`` rather than guess when there is none.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prover.llm.generator import Generator, SamplingParams
from prover.templates import TemplateError, placeholders, render_text
from prover.tinylm import formats as tiny_formats

#: The paper's scale, best first.
GRADES: tuple[str, ...] = ("excellent", "good", "above average", "fair", "poor")
DEFAULT_KEEP: tuple[str, ...] = ("excellent", "good", "above average")
DEFAULT_PROMPT = Path(__file__).resolve().parent / "prompts" / "quality.txt"
#: ``prompt_style=tiny``: the same question, short enough for the tiny model (``prover.tinylm.formats``).
TINY_PROMPT = tiny_formats.TEMPLATES["quality"]  # prover/tinylm/prompts/quality.txt: the tiny model's grader prompt

_GRADE_WORD = r"(excellent|good|above[\s_-]*average|fair|poor)"
_EXPLICIT = re.compile(r"(?:grade|rating|quality|score)\s*(?:is)?\s*[:=\-]?\s*\**\s*" + _GRADE_WORD, re.I)
_ANY = re.compile(r"(?<![a-z])" + _GRADE_WORD + r"(?![a-z])", re.I)
_NEGATED = re.compile(r"\bnot\s+(?:very\s+)?$", re.I)


def _canon(word: str) -> str:
    w = " ".join(re.split(r"[\s_-]+", word.lower()))
    return w


def parse_grade(text: str) -> str | None:
    """The grade a completion gives, or ``None`` when it gives none.

    ``"Grade: Above-average"`` → ``"above average"``; ``"**Good**. The statement…"`` → ``"good"``;
    ``"not good, poor"`` → ``"poor"`` (a negated grade word is skipped); ``"average"`` alone → None.
    """
    if not text:
        return None
    m = _EXPLICIT.search(text)
    if m:
        return _canon(m.group(1))
    for m in _ANY.finditer(text):
        if _NEGATED.search(text[: m.start()]):
            continue
        return _canon(m.group(1))
    return None


def combine_grades(grades: Sequence[str | None]) -> str | None:
    """One grade from several samples: the most common parsed grade, ties going to the worse one."""
    parsed = [g for g in grades if g is not None]
    if not parsed:
        return None
    counts = Counter(parsed)
    best = max(counts.values())
    tied = [g for g in GRADES if counts.get(g) == best]
    return tied[-1]


def load_prompt(path: str | Path | None) -> Path:
    """The grading template (``$informal``, ``$statement``), checked before any model call."""
    p = Path(path) if path else DEFAULT_PROMPT
    missing = {"informal", "statement"} - placeholders(p)
    if missing:
        raise TemplateError(f"quality prompt {p} lacks the ${sorted(missing)[0]} placeholder")
    return p


def render_prompt(template: str | Path, informal: str, statement: str) -> str:
    # the model continues right after "Grade:", so the rendered text ends there
    return render_text(template, informal=informal.strip(), statement=statement.strip()).rstrip()


class QualityGrader:
    """Grades statements with a generator and decides which to keep."""

    def __init__(
        self,
        generator: Generator,
        *,
        prompt: str | Path | None = None,
        keep: Sequence[str] = DEFAULT_KEEP,
        keep_unparsed: bool = False,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 16,
    ) -> None:
        bad = [g for g in keep if _canon(g) not in GRADES]
        if bad:
            raise ValueError(f"quality.keep has unknown grade(s) {bad}; the scale is {list(GRADES)}")
        self.generator = generator
        self.template = load_prompt(prompt)
        self.keep = {_canon(g) for g in keep}
        self.keep_unparsed = keep_unparsed
        self.sampling = SamplingParams(n=n, temperature=temperature, max_tokens=max_tokens, stop=["\n\n"])

    async def agrade(self, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """One record per item (``id``, ``informal``, ``statement``): grade, raw outputs, keep."""
        prompts = [render_prompt(self.template, it.get("informal") or "", it["statement"]) for it in items]
        outs = await self.generator.agenerate(prompts, self.sampling) if prompts else []
        records = []
        for it, comps in zip(items, outs, strict=True):
            raw = [c.text for c in comps]
            grade = combine_grades([parse_grade(t) for t in raw])
            keep = grade in self.keep if grade is not None else self.keep_unparsed
            records.append({"id": it["id"], "grade": grade, "keep": keep, "raw": raw})
        return records
