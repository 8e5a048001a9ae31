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
