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
# format), so the same stage code reads the tiny model's answers as it reads a real model's. The stages own
# the template files (``autoformalize/prompts/tiny_*.txt``, ``prover/synthetic/prompts/quality_tiny.txt``)
# and render them with their own renderers; these functions build the same strings for the corpus, from this
# layer, and ``tests/test_tinylm_roles.py`` checks that the two agree byte for byte.

TRANSLATE_PREAMBLE = (
    "Translate the informal statement into a Lean 4 theorem statement for the header below, ending with "
    "`:= by sorry`.\n\nHeader:\n"
)
BACKTRANSLATE_PREAMBLE = "Explain in plain mathematical English what the following Lean 4 theorem states.\n\n```lean4\n"
JUDGE_PREAMBLE = "You are checking whether two problems are the same.\n\nProblem A:\n"
QUALITY_PREAMBLE = "Grade the formal statement on this scale: excellent, good, above average, fair, poor.\n\n"

#: What the tiny translator writes for an ill-posed informal statement: no Lean statement, so the
#: formaliser abstains ("none of n samples type-checks").
ABSTAIN_TEXT = "Cannot faithfully formalize: the statement is ill-posed."


def translate_example(name: str, informal: str, formal: str) -> str:
    """One few-shot exemplar, as ``autoformalize/prompts/translate_example.txt`` renders it."""
    return f"**Name**\n{name}\n**Informal statement**\n{informal}\n**Lean 4 statement**\n```lean4\n{formal}\n```\n\n"


def translate_prompt(header: str, name: str, informal: str, exemplars: Sequence[tuple[str, str, str]] = ()) -> str:
    """The tiny translation prompt (``autoformalize.translate.translation_prompt`` with ``tiny_translate.txt``)."""
    examples = "".join(translate_example(*e) for e in exemplars)
    return (TRANSLATE_PREAMBLE + header.strip() + "\n" + ("\n" + examples if examples else "\n")
            + f"**Name**\n{name}\n**Informal statement**\n{informal.strip()}\n**Lean 4 statement**\n")


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
    """The tiny back-translation prompt (``tiny_backtranslate.txt``); ``statement`` without ``:= by sorry``."""
    return BACKTRANSLATE_PREAMBLE + statement.strip() + "\n```\n**Informal statement**\n"


def judge_prompt(original: str, back_translation: str) -> str:
    """The tiny judge prompt (``tiny_judge.txt``)."""
    return JUDGE_PREAMBLE + original.strip() + "\n\nProblem B:\n" + back_translation.strip() + "\n\nAnswer:\n"


def judge_second_problem_start(prompt: str) -> int:
    """Where problem B's text begins in a :func:`judge_prompt` (training can put a loss on it: predicting B
    from A is the copy the judge needs to notice where they differ)."""
    return prompt.index("\n\nProblem B:\n") + len("\n\nProblem B:\n")


def judge_completion(faithful: bool, reason: str) -> str:
    """The judge's answer in the format ``autoformalize.judge.parse_judgement`` reads first."""
    label, score = ("faithful", "1.0") if faithful else ("unfaithful", "0.0")
    return f"Label: {label}\nScore: {score}\nReason: {reason}"


def quality_prompt(informal: str, statement: str) -> str:
    """The tiny quality prompt (``quality_tiny.txt``, rendered by ``prover.synthetic.quality``); the model
    continues after ``Grade:``."""
    return (QUALITY_PREAMBLE + "Natural-language problem:\n" + informal.strip() + "\nFormal statement:\n"
            + statement.strip() + "\nGrade:")
