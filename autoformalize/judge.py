"""The faithfulness judge: is the back-translation the same problem as the original?

Herald asks an LLM for ``||same||`` / ``||different||``; we ask for a label and a score so a threshold
can trade recall for precision (and so abstention has a knob). Judges are chatty and inconsistent, so
:func:`parse_judgement` accepts the requested format, Herald's markers, JSON, "same"/"different",
yes/no, and scores written as 0.8, 80% or 8/10. Anything it cannot read counts as *unfaithful with
score 0* and keeps the raw text: a parse failure must never let a statement through.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from autoformalize.prompts import render

FAITHFUL = "faithful"
UNFAITHFUL = "unfaithful"


@dataclass
class Judgement:
    """The judge's verdict on one (original, back-translation) pair; ``parsed`` is False when the raw
    text could not be read, in which case label is unfaithful and score 0."""

    label: str
    score: float
    raw: str
    parsed: bool = True
    reason: str = ""

    def accepts(self, threshold: float) -> bool:
        return self.label == FAITHFUL and self.score >= threshold


def judge_prompt(original: str, back_translation: str, *, template: str = "judge") -> str:
    return render(template, original=original.strip(), back_translation=back_translation.strip())


_POS_WORDS = r"(?:faithful|same|equivalent|identical|consistent|yes|correct)"
_NEG_WORDS = r"(?:unfaithful|different|not\s+faithful|not\s+the\s+same|inequivalent|not\s+equivalent|" \
    r"inconsistent|no|incorrect|differ)"
_LABEL_LINE = re.compile(r"(?im)^\W*(?:label|verdict|answer|judg(?:e)?ment|result)\W*[:=]?\s*(.+)$")
_SCORE_LINE = re.compile(
    r"(?im)(?:score|confidence|probability)\W*[:=]?\s*(\d+(?:\.\d+)?)\s*(%|/\s*(?:10|100|1(?:\.0)?))?"
)


def _label_of(text: str) -> str | None:
    t = text.strip().lower()
    if re.search(r"faithful\s*(?:or|/|\|)\s*unfaithful", t):
        return None  # the model echoed the answer format instead of answering
    if re.search(r"\|\|\s*different\s*\|\|", t):
        return UNFAITHFUL
    if re.search(r"\|\|\s*same\s*\|\|", t):
        return FAITHFUL
    if re.match(rf"^\W*{_NEG_WORDS}\b", t):
        return UNFAITHFUL
    if re.match(rf"^\W*{_POS_WORDS}\b", t):
        return FAITHFUL
    return None


def _score_of(number: str, unit: str | None) -> float | None:
    try:
        x = float(number)
    except ValueError:
        return None
    unit = (unit or "").replace(" ", "")
    if unit == "%" or unit == "/100":
        x /= 100.0
    elif unit == "/10":
        x /= 10.0
    elif not unit and 1.0 < x <= 100.0:
        x = x / 10.0 if x <= 10.0 else x / 100.0
    if not 0.0 <= x <= 1.0:
        return None
    return x


def parse_judgement(raw: str) -> Judgement:
    """Read a label and a score from a judge's reply (see module docstring for the accepted forms)."""
    text = raw or ""
    label: str | None = None
    score: float | None = None
    reason = ""

    # JSON object anywhere in the reply
    m = re.search(r"\{.*?\}", text, re.DOTALL)
    if m:
        try:
            obj = json.loads(m.group(0))
            if isinstance(obj, dict):
                if isinstance(obj.get("label"), str):
                    label = _label_of(obj["label"])
                if isinstance(obj.get("score"), (int, float)) and not isinstance(obj.get("score"), bool):
                    score = _score_of(str(obj["score"]), None)
                reason = str(obj.get("reason", ""))
        except json.JSONDecodeError:
            pass

    if label is None:
        lm = _LABEL_LINE.search(text)
        if lm:
            label = _label_of(lm.group(1))
    if label is None:
        label = _label_of(text)  # Herald markers or a reply that starts with the verdict
    if label is None:
        # a bare verdict word somewhere, only if exactly one polarity appears
        neg = re.search(rf"\b{_NEG_WORDS}\b", text, re.IGNORECASE)
        pos = re.search(r"\b(?:faithful|same|equivalent)\b", text, re.IGNORECASE)
        if neg and not pos:
            label = UNFAITHFUL
        elif pos and not neg:
            label = FAITHFUL
    if score is None:
        sm = _SCORE_LINE.search(text)
        if sm:
            score = _score_of(sm.group(1), sm.group(2))
    if not reason:
        rm = re.search(r"(?im)^\W*reason\W*[:=]?\s*(.+)$", text)
        reason = rm.group(1).strip() if rm else ""

    if label is None:
        return Judgement(UNFAITHFUL, 0.0, raw, parsed=False, reason="judge output not understood")
    if score is None:
        score = 1.0 if label == FAITHFUL else 0.0
    return Judgement(label, score, raw, parsed=True, reason=reason)
