"""Whole-proof and tactic prompts, per ``prompt_style``.

A prompt format is a contract between a model and the code that reads its output, so
each style reproduces what its model was trained on:

* ``tiny``: the offline tiny model (``prover/tinylm``). Exactly DeepSeek-Prover-V1.5's
  non-CoT prompt, which ends *inside* a ```` ```lean4 ```` block right after ``:= by\\n``;
  the model continues with indented tactic lines and closes the fence.
* ``deepseek``: DeepSeek-Prover-V1.5 (arXiv 2408.08152, released ``quick_start.py``):
  the same raw-text prompt, or with ``cot=True`` the CoT variant "with explanatory
  comments preceding each line of code".
* ``goedel``: Goedel-Prover-V2 model card: a single user chat turn with the statement
  closed by ``sorry`` and a request for a proof plan before the code.
* ``kimina``: Kimina-Prover model card: system "You are an expert in mathematics and
  Lean 4." and a user turn "Think about and solve the following problem step by step
  in Lean 4." with ``# Problem:`` and ``# Formal statement:`` sections.

Raw-text styles end inside a code block (the output is a *continuation*); chat styles
are answered with fenced blocks (see :mod:`prover.search.extract`).
"""

from __future__ import annotations

import re
from pathlib import Path

from prover.llm.generator import Prompt
from prover.records import Problem
from prover.templates import render_file

PROMPT_STYLES: tuple[str, ...] = ("tiny", "deepseek", "goedel", "kimina")
CHAT_STYLES: frozenset[str] = frozenset({"goedel", "kimina"})

FENCE = "```"
#: The prompt templates (``prover_{style}.md``, ``tactic_{style}.md``), filled by :mod:`prover.templates`.
PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"


def _render(name: str, **values: str) -> Prompt:
    return render_file(PROMPTS_DIR / f"{name}.md", strip_final_newline=True, **values)


class PromptError(ValueError):
    """A problem or style cannot be turned into a prompt; the message names the input."""


def check_style(style: str) -> str:
    if style not in PROMPT_STYLES:
        raise PromptError(f"unknown prompt_style {style!r}; expected one of {', '.join(PROMPT_STYLES)}")
    return style


def header_text(problem: Problem) -> str:
    """The problem's header, ending with a newline when it is not empty."""
    h = problem.header or ""
    return h if not h or h.endswith("\n") else h + "\n"


_SORRY_TAIL = re.compile(r"(:=)\s*(?:by\s+)?sorry\s*$")
_BY_TAIL = re.compile(r":=\s*by$")


def statement_by(problem: Problem) -> str:
    """The formal statement ending in ``:= by`` and a newline, ready for tactic lines.

    Accepts statements ending at ``:=``, ``:= by`` or (leniently) ``:= by sorry``. Text
    before the tail is kept byte for byte so the verifier's integrity check still finds
    the problem's statement in the candidate.
    """
    s = (problem.formal_statement or "").rstrip()
    s = _SORRY_TAIL.sub(r"\1", s)
    if s.endswith(":="):
        s += " by"
    if not _BY_TAIL.search(s):
        raise PromptError(
            f"problem {problem.name!r}: formal_statement must end with ':=' or ':= by', "
            f"got ...{s[-40:]!r}"
        )
    return s + "\n"


def docstring(problem: Problem) -> str:
    """The informal statement as a ``/-- ... -/`` docstring line, or '' when there is none.

    A statement that already is a docstring (DeepSeek's ``informal_prefix``) is kept as is.
    """
    text = (problem.informal_statement or "").strip()
    if not text:
        return ""
    if text.startswith("/-"):
        return text + "\n"
    return f"/-- {text} -/\n"


def informal_text(problem: Problem) -> str:
    """The informal statement without docstring markers."""
    text = (problem.informal_statement or "").strip()
    if text.startswith("/--"):
        text = text[3:]
    elif text.startswith("/-"):
        text = text[2:]
    if text.endswith("-/"):
        text = text[:-2]
    return text.strip()


def code_prefix(problem: Problem, *, with_docstring: bool = True) -> str:
    """``header + docstring + statement := by\\n``: the Lean text a proof continues."""
    return header_text(problem) + (docstring(problem) if with_docstring else "") + statement_by(problem)


def prover_prompt(problem: Problem, style: str = "tiny", cot: bool = False) -> Prompt:
    """The whole-proof prompt for ``problem`` in ``style`` (``cot`` only changes ``deepseek``)."""
    check_style(style)
    name = "prover_deepseek_cot" if (style == "deepseek" and cot) else f"prover_{style}"
    return _render(name, code=code_prefix(problem), informal=informal_text(problem))


def ends_inside_code(prompt: Prompt) -> bool:
    """Whether a raw prompt stops inside an open code fence, so the output is a continuation."""
    return isinstance(prompt, str) and prompt.count(FENCE) % 2 == 1


def stop_strings(style: str, continuation: bool) -> list[str]:
    """Stop strings for a prompt: a continuation ends at the closing fence."""
    check_style(style)
    return [FENCE] if continuation else []


def tactic_stop_strings(style: str) -> list[str]:
    """Raw-text styles produce one tactic line; chat styles answer with a fenced block."""
    check_style(style)
    return ["\n", FENCE] if style in ("tiny", "deepseek") else []


def indent_tactics(tactics: list[str], indent: str = "  ") -> str:
    """Tactic steps as the body of a ``by`` block: each line indented, multi-line steps kept together."""
    lines: list[str] = []
    for tac in tactics:
        for line in tac.split("\n"):
            lines.append(indent + line if line.strip() else "")
    return "\n".join(lines) + ("\n" if lines else "")


def tactic_prompt(problem: Problem, tactics: list[str], goals: list[str], style: str = "tiny") -> Prompt:
    """A prompt for the next tactic at a proof state, given the tactics that led there.

    Raw-text styles reuse the whole-proof prompt plus the proof so far, the
    truncate-and-resume shape of DeepSeek-Prover-V1.5's RMaxTS, so a whole-proof model
    needs no separate tactic training; ``deepseek`` adds the ``/- tactic state: -/``
    comment it was trained with. The model's next line (cut at a newline) is the next
    tactic; see :func:`tactic_stop_strings`. Chat styles
    ask for exactly one tactic in a fenced block.
    """
    check_style(style)
    state = "\n\n".join(goals) if goals else "no goals"
    if style in ("tiny", "deepseek"):
        prompt = prover_prompt(problem, style)
        assert isinstance(prompt, str)
        prompt += indent_tactics(tactics)
        if style == "deepseek":
            prompt += indent_tactics(["/- tactic state:", *state.split("\n"), "-/"])
        return prompt
    so_far = indent_tactics(tactics) or "  (no tactics yet)\n"
    return _render(f"tactic_{style}", code=code_prefix(problem), so_far=so_far, state=state)
