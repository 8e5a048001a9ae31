"""The tiny model's prompt formats: the contract between the tiny model, the strategies and the agents.

Prover format (DeepSeek-Prover-V1.5, non-CoT)::

    "Complete the following Lean 4 code:\\n\\n```lean4\\n" + header
    + "/-- " + informal + " -/\\n"            (only when there is an informal statement)
    + formal_statement                        (ends with ":= by\\n")

Corrector format (MA-LoT corrector)::

    "Fix the following Lean 4 proof.\\n\\n```lean4\\n" + header + formal_statement + failed_proof
    + "\\n```\\n\\nLean reported:\\n" + first_error_line
    + "\\n\\nCorrected Lean 4 code:\\n\\n```lean4\\n" + header + formal_statement

In both, the completion is the proof's tactic lines (two-space indent) followed by ``"\\n```"``.
The formats live here, with the model trained on them, so a strategy or agent that talks to the
tiny model builds its prompts with these functions rather than re-typing the strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from prover.templates import render_text

#: The end marker: a completion stops at the closing code fence.
END = "```"

#: First line of the error shown to the corrector is cut to this many characters.
MAX_ERROR_CHARS = 200

PROVER_PREFIX = "Complete the following Lean 4 code:\n\n```lean4\n"
CORRECTOR_PREFIX = "Fix the following Lean 4 proof.\n\n```lean4\n"


def prover_prompt(header: str, informal: str | None, formal_statement: str) -> str:
    """The prover prompt; the docstring line is omitted when there is no informal statement."""
    doc = f"/-- {informal} -/\n" if informal else ""
    return PROVER_PREFIX + header + doc + formal_statement


def first_error_line(message: str) -> str:
    """The first line of an error message, cut to 200 characters (what the corrector is shown)."""
    lines = message.strip("\n").splitlines()
    return (lines[0] if lines else "")[:MAX_ERROR_CHARS]


def corrector_prompt(header: str, formal_statement: str, failed_proof: str, first_error_line_: str) -> str:
    """The corrector prompt.

    ``failed_proof`` is the previous attempt's text after ``":= by\\n"``; trailing newlines are
    dropped so the fence always follows the last tactic line, as in training. The error is reduced
    to its first line (at most 200 characters), so passing a whole Lean message is also fine.
    """
    return (
        CORRECTOR_PREFIX
        + header
        + formal_statement
        + failed_proof.rstrip("\n")
        + "\n"
        + END
        + "\n\nLean reported:\n"
        + first_error_line(first_error_line_)
        + "\n\nCorrected Lean 4 code:\n\n```lean4\n"
        + header
        + formal_statement
    )


def completion(proof: str) -> str:
    """The training target for a proof: its tactic lines, then ``"\\n```"``."""
    return proof.rstrip("\n") + "\n" + END


def extract_proof(text: str) -> str:
    """The proof part of a model completion: everything before the end marker, trailing newlines dropped."""
    cut = text.find(END)
    body = text if cut < 0 else text[:cut]
    return body.rstrip("\n").rstrip()


# ---------------------------------------------------------------------------------------------------------
# The stages' tiny prompt styles (``prompt_style=tiny``): short versions of the Herald and DeepSeek-Prover
# prompts that fit the tiny model's context and keep each prompt's shape (its section markers and its output
# format), so the same stage code reads the tiny model's answers as it reads a real model's. The template
# files live here, with the model trained on them (``prover/tinylm/prompts/``: translate, backtranslate,
# judge, quality, and the exemplars), and are filled by the project's one renderer (``prover.templates``):
# the stages (``autoformalize``, ``prover.synthetic.quality``) render the same files with the same values, so
# the corpus and the stages cannot drift apart.

#: The tiny prompt templates; ``autoformalize.prompts.TINY_TEMPLATES`` and ``prover.synthetic.quality`` use them.
PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
TEMPLATES: dict[str, Path] = {role: PROMPTS_DIR / f"{role}.txt"
                              for role in ("translate", "backtranslate", "judge", "quality")}
#: Few-shot exemplars for the tiny translation prompt (name, informal, formal; type-free, so they fit the
#: core and the Mathlib header alike). The tiny style is zero-shot unless a run names this file.
EXEMPLARS_FILE = PROMPTS_DIR / "exemplars.jsonl"


#: What the tiny translator writes for an ill-posed informal statement: no Lean statement, so the
#: formaliser abstains ("none of n samples type-checks").
ABSTAIN_TEXT = "Cannot faithfully formalize: the statement is ill-posed."


def translate_example(name: str, informal: str, formal: str) -> str:
    """One few-shot exemplar, as ``autoformalize/prompts/translate_example.txt`` renders it."""
    return f"**Name**\n{name}\n**Informal statement**\n{informal}\n**Lean 4 statement**\n```lean4\n{formal}\n```\n\n"


def translate_prompt(header: str, name: str, informal: str, exemplars: Sequence[tuple[str, str, str]] = ()) -> str:
    """The tiny translation prompt, as ``autoformalize.translate.translation_prompt`` renders ``translate.txt``."""
    examples = "".join(translate_example(*e) for e in exemplars)
    return render_text(TEMPLATES["translate"], header=header.strip(), examples=("\n" + examples) if examples else "\n",
                       name=name, informal=informal.strip())


def translate_completion(statement: str | None) -> str:
    """The translator's answer: the statement as an ``example`` (``example binders : goal := by sorry``) in one
    lean4 block, or :data:`ABSTAIN_TEXT` when ``statement`` is None (ill-posed input).

    An ``example``, not ``theorem <name>``: the formaliser names the statement itself (it renames any theorem
    to the item's name, and turns an ``example`` into ``theorem <name>``), and copying an arbitrary name was
    what derailed the tiny translator (with names it wrote the wrong template on most held-out inputs)."""
    if statement is None:
        return ABSTAIN_TEXT
    body = re.sub(r"^theorem \S+", "example", statement.strip(), count=1)
    return f"```lean4\n{body} := by sorry\n{END}"


def backtranslate_prompt(statement: str) -> str:
    """The tiny back-translation prompt (``backtranslate.txt``); ``statement`` without ``:= by sorry``."""
    return render_text(TEMPLATES["backtranslate"], statement=statement.strip())


def judge_prompt(original: str, back_translation: str) -> str:
    """The tiny judge prompt (``judge.txt``)."""
    return render_text(TEMPLATES["judge"], original=original.strip(), back_translation=back_translation.strip())


def judge_second_problem_start(prompt: str) -> int:
    """Where problem B's text begins in a :func:`judge_prompt` (training can put a loss on it: predicting B
    from A is the copy the judge needs to notice where they differ)."""
    return prompt.index("\n\nProblem B:\n") + len("\n\nProblem B:\n")


_NUMERAL = re.compile(r"\d+")


def numbers_line(text: str) -> str:
    """The numerals of ``text`` in order, space-separated (``none`` when it has none)."""
    return " ".join(_NUMERAL.findall(text)) or "none"


#: The judge's scratchpads (``corpus.judge_numbers``): none, each problem's numbers on a line of its own, the
#: numbers side by side with a verdict per pair, or each of B's numbers with whether A has it.
JUDGE_SCRATCHPADS = ("none", "lists", "pairs", "found")


def pairs_line(original: str, back_translation: str) -> str:
    """The two problems' numerals side by side, each pair with its verdict: ``15 15 same, 28 29 differ``
    (``none`` stands for a missing number; the line is ``none`` when neither problem has one)."""
    a, b = _NUMERAL.findall(original), _NUMERAL.findall(back_translation)
    pairs = [(a[i] if i < len(a) else "none", b[i] if i < len(b) else "none") for i in range(max(len(a), len(b)))]
    return ", ".join(f"{x} {y} {'same' if x == y else 'differ'}" for x, y in pairs) or "none"


def found_line(original: str, back_translation: str) -> str:
    """Each numeral of problem B in order, ``seen`` when problem A has it and ``new`` when not:
    ``2 seen, 3 seen, 6 new`` (``none`` when B has no numeral)."""
    a = set(_NUMERAL.findall(original))
    return ", ".join(f"{n} {'seen' if n in a else 'new'}" for n in _NUMERAL.findall(back_translation)) or "none"


def judge_completion(faithful: bool, reason: str, original: str | None = None, back_translation: str | None = None,
                     scratchpad: str = "lists") -> str:
    """The judge's answer in the format ``autoformalize.judge.parse_judgement`` reads (its ``Label:`` line).

    With both texts, the answer first works on the numbers (the parser ignores these lines). ``lists``:
    ``Numbers A: 2 3 5`` / ``Numbers B: 2 3 6``, which turns "do these differ in a number" into copying and
    comparing two lines. ``pairs``: ``Numbers: 2 2 same, 3 3 same, 5 6 differ``, where each comparison is of two
    adjacent numbers, so the only long-range step left is the copy, and the label reads the verdicts.
    ``found``: ``Numbers: 2 seen, 3 seen, 6 new``, B's numbers each with whether A has it anywhere: a lookup
    by the number itself, where ``pairs`` must line the two problems up.
    """
    if scratchpad not in JUDGE_SCRATCHPADS:
        raise ValueError(f"judge scratchpad must be one of {', '.join(JUDGE_SCRATCHPADS)}, got {scratchpad!r}")
    label, score = ("faithful", "1.0") if faithful else ("unfaithful", "0.0")
    scratch = ""
    if original is not None and back_translation is not None and scratchpad == "lists":
        scratch = f"Numbers A: {numbers_line(original)}\nNumbers B: {numbers_line(back_translation)}\n"
    elif original is not None and back_translation is not None and scratchpad == "pairs":
        scratch = f"Numbers: {pairs_line(original, back_translation)}\n"
    elif original is not None and back_translation is not None and scratchpad == "found":
        scratch = f"Numbers: {found_line(original, back_translation)}\n"
    return f"{scratch}Label: {label}\nScore: {score}\nReason: {reason}"


def decision_span(role: str, completion_text: str) -> tuple[int, int] | None:
    """The characters of ``completion_text`` that carry a judging role's decision: the judge's label word,
    the grader's grade; None for other roles (training can weigh these tokens' loss up)."""
    if role == "judge":
        m = re.search(r"Label: (\w+)", completion_text)
        return m.span(1) if m else None
    if role == "quality":
        return (0, len(completion_text))
    return None


def quality_prompt(informal: str, statement: str) -> str:
    """The tiny quality prompt (``quality.txt``, as ``prover.synthetic.quality`` renders it); the model
    continues after ``Grade:``."""
    return render_text(TEMPLATES["quality"], informal=informal.strip(), statement=statement.strip()).rstrip()
