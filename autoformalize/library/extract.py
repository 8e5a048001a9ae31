"""Extraction with Lean's help: the REPL's ``usedConstants`` (``allTactics``) or a LeanDojo trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoformalize.declarations import Declaration
from autoformalize.library.errors import LibraryError
from autoformalize.library.scan import _scan, split_library_header
from prover.lean.repl import ReplError
from prover.lean.session import TacticSessions
from prover.records import errors_in


async def extract_with_repl(pool: TacticSessions, text: str, *, source: str = "", timeout: float | None = None
                            ) -> list[Declaration]:
    """Scan ``text`` and add Lean's ``usedConstants`` (from ``allTactics``) to each declaration's deps.

    ``pool`` lends tactic sessions (:class:`~prover.lean.session.TacticSessions`: the LeanPool). The body
    runs once on the header's environment; each tactic is attributed to the declaration whose lines
    contain it. Term-mode proofs report no tactics, so their dependencies come from the scanner alone.
    """
    header, body = split_library_header(text, source)
    scanned = _scan(body, source)
    async with pool.session(header) as session:
        kw: dict[str, Any] = {"all_tactics": True}
        if timeout is not None:
            kw["timeout"] = timeout
        resp = await session.command(body, **kw)
    if isinstance(resp, ReplError):
        raise LibraryError(f"{source or 'library'}: the REPL refused the file: {resp.message}")
    errors = errors_in(resp.messages)
    if errors:
        raise LibraryError(f"{source or 'library'}: Lean reports errors, first: {errors[0].data[:200]}")
    for tac in resp.tactic_infos:
        line = tac.pos.line if tac.pos else 0
        for decl, start, stop in scanned:
            if start <= line < stop:
                for c in tac.used_constants:
                    if c != decl.name and c not in decl.deps:
                        decl.deps.append(c)
                break
    return [d for d, _, _ in scanned]


def extract_with_dojo(repo: str, commit: str, file_path: str, *, traced: Any = None) -> list[Declaration]:
    """Declarations of one file of a LeanDojo-traced repo (``pip install 'proofforge[dojo]'``).

    lean-dojo needs Python < 3.13, a Lean toolchain and the network, and pulls in Ray (docs/autoformalize.md).
    ``traced``: an already traced repo (``lean_dojo.trace(...)``'s ``TracedRepo``), e.g. one loaded from its
    cache; otherwise the repo is traced here. See :func:`declarations_from_traced_file`.
    """
    if traced is None:
        try:
            from lean_dojo import LeanGitRepo, trace
        except ImportError:
            raise LibraryError("extract_with_dojo needs LeanDojo: pip install 'proofforge[dojo]'") from None
        traced = trace(LeanGitRepo(repo, commit))
    return declarations_from_traced_file(traced, file_path, source=f"{repo}@{commit}:{file_path}")


def declarations_from_traced_file(traced: Any, file_path: str, *, source: str = "") -> list[Declaration]:
    """One traced file's premises as :class:`Declaration` s, keeping LeanDojo's names and kinds.

    Read in lean-dojo/LeanDojo, ``src/lean_dojo/data_extraction/traced_data.py``:
    ``TracedRepo.get_traced_file`` indexes the file graph and raises ``KeyError`` for a file that is not
    traced (it never returns None); ``TracedFile.get_premise_definitions`` returns dicts with ``full_name``
    (fully qualified), ``code`` (comments, doc comments included, stripped), ``start``/``end``
    (``[line, column]``, lines from 1) and ``kind`` (the AST node class, e.g. ``commanddeclaration``,
    ``mathlibtacticlemma``). So names come from ``full_name``; docstrings, the source text and the
    keyword come from the traced file itself (matched to each premise by its lines); dependencies are the
    identifiers of a declaration that resolve to another premise of the file, by full name.
    """
    try:
        tf = traced.get_traced_file(file_path)
    except KeyError:
        raise LibraryError(f"{file_path} is not in the traced repo {source or traced}") from None
    text = Path(tf.abs_path).read_text(encoding="utf-8")
    lines = text.splitlines()
    scanned = _scan(text, source)
    premises = list(tf.get_premise_definitions())
    full_names = {str(p["full_name"]) for p in premises}
    matched: list[tuple[dict[str, Any], Declaration | None]] = []
    for p in premises:
        first, last = int(p["start"][0]), int(p["end"][0])
        overlapping = [d for d, a, b in scanned if a <= last and first < b]  # scanner lines: end exclusive
        by_name = [d for d in overlapping if d.name == p["full_name"]]
        matched.append((p, (by_name or overlapping or [None])[0]))
    renamed = {d.name: str(p["full_name"]) for p, d in matched if d is not None}  # scanner name -> LeanDojo's
    out = []
    for p, d in matched:
        first, last = int(p["start"][0]), int(p["end"][0])
        kind = str(p.get("kind") or "")
        if kind == "commanddeclaration" and d is not None:  # the generic node: say which keyword it was
            kind = d.kind
        deps = [] if d is None else [renamed.get(x, x) for x in d.deps]
        out.append(Declaration(
            name=str(p["full_name"]), kind=kind, signature=d.signature if d else "",
            docstring=d.docstring if d else "", code="\n".join(lines[first - 1:last]).strip(),
            deps=[x for x in dict.fromkeys(deps) if x in full_names and x != p["full_name"]], source=source))
    return out
