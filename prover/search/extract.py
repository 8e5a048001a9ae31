"""Pull a proof out of model output and build the candidate Lean sends judgement on.

Real outputs come in many shapes (Goedel-Prover #18: 40% had no Lean block at all):
a continuation of a prompt that ended inside a code block, one or several fenced
```` ```lean4 ```` / ```` ```lean ```` blocks, a block cut off by the token limit, prose
only. A block may hold only tactic lines, or restate the header and theorem (often
with helper lemmas first). Whatever the shape, the candidate is always

    problem header + [model's helper lemmas] + problem's exact statement + model's proof

so the model can never prove an easier theorem: its restated statement is thrown away
and replaced by the problem's, and only when it names the same theorem. Output with no
usable proof becomes a ``failed`` candidate with a verdict built here, without Lean.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any

from prover.lean import text as lex
from prover.records import Candidate, Problem, Verdict
from prover.search.prompts import header_text, statement_by

NO_PROOF = "no proof in model output"

_FENCED = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)```", re.DOTALL)
_OPEN_FENCE = re.compile(r"```[ \t]*(lean4?|)[ \t]*\n", re.IGNORECASE)
#: A declaration at the start of (comment-masked) text: what makes a continuation a restatement.
_DECL = re.compile(
    r"^[ \t]*(?:@\[[^\]]*\][ \t\n]*)?(?:(?:private|protected|noncomputable|nonrec)\s+)*(?:theorem|lemma|example)\b"
)
#: Attributes and modifiers in front of a declaration keyword (on masked text, anchored at its end).
_DECL_PREFIX = re.compile(r"(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable|nonrec)\s+)*$")
#: Lines that end the main theorem's proof when they start at column 0.
_TOP_LEVEL = re.compile(
    r"^(?:theorem|lemma|example|def|abbrev|instance|structure|inductive|class|namespace|section|end\b|"
    r"open|#|@\[|/--|set_option|noncomputable|private|protected)",
    re.MULTILINE,
)
_HEADER_LINE = re.compile(r"^(?:import\s|open\s|set_option\s(?!.*\sin\s*$))")


@dataclass
class Extraction:
    """What was found in one output. ``proof`` is the ``by`` block's body (indented lines)."""

    proof: str | None
    code: str
    reason: str = ""
    preamble: str = ""
    source: str = "none"  # continuation | block | truncated-block | none

    @property
    def ok(self) -> bool:
        return self.proof is not None


def theorem_name(statement: str) -> str | None:
    """The name a statement declares (``theorem foo ...`` -> ``foo``; ``«a b»`` kept quoted)."""
    return lex.theorem_name(statement)


def _has_content(proof: str) -> bool:
    return bool(lex.strip_comments(proof).strip())


def normalize_proof(text: str) -> str:
    """A ``by`` block body: dedented, then every line indented two spaces; blank edges dropped."""
    lines = textwrap.dedent(text.expandtabs(2)).strip("\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(("  " + ln.rstrip()) if ln.strip() else "" for ln in lines)


def fenced_blocks(output: str) -> tuple[list[str], str | None]:
    """Complete Lean blocks (tagged ``lean``/``lean4``; untagged ones only if no tagged) and a trailing
    unclosed Lean block, if the output was cut off inside one."""
    tagged: list[str] = []
    untagged: list[str] = []
    end = 0
    for m in _FENCED.finditer(output):
        lang = m.group(1).lower()
        if lang in ("lean", "lean4"):
            tagged.append(m.group(2))
        elif not lang:
            untagged.append(m.group(2))
        end = m.end()
    truncated = None
    m = _OPEN_FENCE.search(output, end)
    if m:
        truncated = output[m.end():]
    return (tagged or untagged), truncated


def _find_assign(text: str, start: int) -> int:
    """Index of the first ``:=`` at bracket depth 0 from ``start`` (-1 if none)."""
    depth = 0
    i = start
    opens, closes = "([{⟨⦃", ")]}⟩⦄"
    while i < len(text) - 1:
        c = text[i]
        if c in opens:
            depth += 1
        elif c in closes:
            depth = max(0, depth - 1)
        elif c == ":" and text[i + 1] == "=" and depth == 0:
            return i
        i += 1
    return -1


def _clean_preamble(text: str) -> str:
    """Helper lemmas before the main theorem, without header lines or a dangling docstring."""
    kept = [ln for ln in text.split("\n") if not _HEADER_LINE.match(ln)]
    pre = "\n".join(kept).strip()
    # a docstring right before the theorem belongs to the restated statement
    tokens = lex.scan(pre).tokens
    if tokens and tokens[-1].kind == lex.DOC:
        pre = pre[: tokens[-1].start].rstrip()
    return pre


def _split_block(block: str, problem: Problem, name: str | None) -> tuple[str, str] | str:
    """``(preamble, proof_body)`` from a block, or the reason it holds no usable proof."""
    tokens = lex.scan(block).tokens
    clean = lex.mask(block, tokens=tokens)  # comments and literals blanked, offsets unchanged
    decls = lex.declarations(block, ("theorem", "lemma", "example"), tokens=tokens)
    if not decls:
        body = block
        stripped = body.lstrip()
        if stripped.startswith(":="):
            stripped = stripped[2:].lstrip()
        if re.match(r"by\b", stripped):
            body = stripped[2:]
        body = "\n".join(ln for ln in body.split("\n") if not _HEADER_LINE.match(ln))
        return ("", body)
    want = lex.name_value(name) if name else None
    main = next((d for d in decls if d.keyword != "example" and d.value == want), None)
    if main is None:
        named = decls[-1].name or decls[-1].keyword
        return f"model output proves {named!r}, not the problem's theorem {name!r}"
    # the declaration starts at its attributes/modifiers, from the start of their line
    start = _DECL_PREFIX.search(clean, 0, main.start).start()  # type: ignore[union-attr]
    start = block.rfind("\n", 0, start) + 1
    preamble = _clean_preamble(block[:start])
    assign = _find_assign(clean, main.name_end)
    if assign < 0:
        return f"model output restates {name!r} without a proof"
    rest = block[assign + 2:]
    nxt = _TOP_LEVEL.search(rest, 1)
    if nxt:
        rest = rest[: nxt.start()]
    stripped = rest.lstrip(" \t")
    if re.match(r"by\b", stripped):
        after = stripped[2:]
        first, _, tail = after.partition("\n")
        body = (first.strip() + "\n" + textwrap.dedent(tail)) if first.strip() else tail
        return (preamble, body)
    term = stripped.strip()
    if not term:
        return f"model output restates {name!r} without a proof"
    return (preamble, "exact " + term.replace("\n", "\n  "))


def extract(output: str, problem: Problem, continuation: bool = False) -> Extraction:
    """The proof in ``output`` and the candidate's code.

    ``continuation``: the prompt ended inside a code block right after ``:= by\\n``, so the
    text up to the first closing fence (or the end, if cut off) is the proof itself.
    Otherwise the last complete Lean block is used, else a trailing unclosed one.
    """
    name = theorem_name(problem.formal_statement)
    base = header_text(problem) + statement_by(problem)
    tried: list[tuple[str, str]] = []
    search_text = output
    if continuation:
        head, sep, tail = output.partition("```")
        if not _DECL.match(lex.strip_comments(head).lstrip(" \t\n")):
            cut = _TOP_LEVEL.search(head)  # a column-0 line ends the tactic block
            head = head[: cut.start()] if cut else head
        tried.append(("continuation", head))
        search_text = tail if sep else ""
    blocks, truncated = fenced_blocks(search_text)
    tried += [("block", b) for b in reversed(blocks)]
    if truncated is not None:
        tried.append(("truncated-block", truncated))
    reason = NO_PROOF
    for source, text in tried:
        split = _split_block(text, problem, name)
        if isinstance(split, str):
            reason = split
            break  # a restated different theorem is a failed candidate, not a reason to look elsewhere
        preamble, body = split
        proof = normalize_proof(body)
        if not _has_content(proof):
            continue
        pre = (preamble + "\n\n") if preamble else ""
        code = header_text(problem) + pre + statement_by(problem) + proof + "\n"
        return Extraction(proof=proof, code=code, preamble=preamble, source=source)
    return Extraction(proof=None, code=base, reason=reason, source="none")


def make_candidate(
    problem: Problem,
    extraction: Extraction,
    origin: dict[str, Any],
    *,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    seconds: float = 0.0,
) -> Candidate:
    """The candidate for one extraction; ``statement`` is set so the verifier checks integrity."""
    return Candidate(
        problem=problem.name,
        code=extraction.code,
        origin=dict(origin),
        statement=problem.formal_statement,
        header=problem.header,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        seconds=seconds,
    )


def failed_verdict(candidate: Candidate, reason: str) -> Verdict:
    """The verdict for a candidate that never reaches Lean (no proof, wrong theorem)."""
    return Verdict(status="failed", reason=reason, candidate=candidate.id, problem=candidate.problem)
