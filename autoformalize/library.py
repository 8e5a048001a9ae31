"""Library -> NL: informalise a Lean library's declarations in dependency order (Herald's hierarchy).

Herald translates Mathlib declarations in topological order of their dependencies, so the prompt for a
declaration can carry the natural-language versions of what it uses. Here:

* **extraction**, three ways: :func:`scan_lean_source` (a simple declaration scanner over ``.lean``
  text: the offline fallback, no Lean needed); :func:`extract_with_repl` (runs the file through a
  :class:`~prover.lean.pool.LeanPool` session with ``allTactics`` and adds each tactic's
  ``usedConstants`` to the enclosing declaration's dependencies); :func:`extract_with_dojo` (a
  LeanDojo trace, when ``lean-dojo`` is installed);
* **ordering**: :func:`dependency_graph` builds a networkx DAG (edge ``dep -> decl``) over the
  declarations of the set; a cycle is an error naming it;
* **translation**: :func:`informalize_library` walks the DAG layer by layer (one batched generate call
  per layer), writing one JSONL record per declaration keyed by name, so a rerun resumes and reuses the
  translations already written as context.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import networkx as nx

from autoformalize.declarations import Declaration
from autoformalize.prompts import render
from prover.lean import text as lex
from prover.lean.header import split_header
from prover.llm.base import Generator, SamplingParams
from prover.records import JsonlWriter, iter_jsonl


class LibraryError(ValueError):
    """The library could not be extracted or ordered; the message names the input."""


class DependencyCycleError(LibraryError):
    """The declarations' dependencies contain a cycle (named in the message and in ``cycle``)."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join([*cycle, cycle[0]]))


# ---------------------------------------------------------------------------- scanning
_KINDS = ("theorem", "lemma", "def", "abbrev", "structure", "class", "instance", "inductive", "axiom",
          "opaque", "example")
_ITEM = re.compile(
    r"^(?:/--(?P<doc>.*?)-/\s*)?"
    r"(?P<mods>(?:@\[[^\]]*\]\s*)*(?:(?:private|protected|noncomputable|partial|nonrec|unsafe)\s+)*)"
    rf"(?P<kind>{'|'.join(_KINDS)})\b"
    r"|^(?P<scope>namespace|section|end|noncomputable\s+section|mutual)\b[ \t]*(?P<scope_name>[^\s]*)",
    re.MULTILINE | re.DOTALL,
)


def _blank_comments(text: str) -> str:
    """``--``, ``/- -/`` and ``/-! -/`` comments blanked as Lean's scanner reads them (docstrings and
    strings kept; offsets and newlines unchanged)."""
    return lex.mask(text, (lex.COMMENT, lex.MODDOC))


def _split_signature(rest: str) -> tuple[str, str]:
    """``(signature, body)`` split at the first top-level ``:=``, ``where`` or ``|``."""
    depth = 0
    for i, ch in enumerate(rest):
        if ch in "([{⟨⦃":
            depth += 1
        elif ch in ")]}⟩⦄":
            depth = max(0, depth - 1)
        elif depth == 0:
            if rest.startswith(":=", i) or (rest.startswith("where", i) and (i == 0 or rest[i - 1].isspace())):
                return rest[:i], rest[i:]
            if ch == "|" and (i == 0 or rest[i - 1] == "\n" or rest[max(0, i - 2):i].strip() == ""):
                return rest[:i], rest[i:]
    return rest, ""


def _scan(text: str, source: str = "") -> list[tuple[Declaration, int, int]]:
    """Declarations with their 1-based start and end lines (end exclusive), names fully qualified."""
    clean = _blank_comments(text)
    items = list(_ITEM.finditer(clean))
    scopes: list[tuple[str, str]] = []  # (kind, name)
    found: list[tuple[Declaration, int, int, list[str], str]] = []
    for idx, m in enumerate(items):
        end = items[idx + 1].start() if idx + 1 < len(items) else len(clean)
        if m.group("scope"):
            kind, name = m.group("scope").split()[-1], m.group("scope_name")
            if kind == "end":
                if scopes:
                    if name:
                        while scopes and scopes[-1][1] != name:
                            scopes.pop()
                    if scopes:
                        scopes.pop()
            else:
                scopes.append((kind, name))
            continue
        kind = m.group("kind")
        if kind == "example":
            continue
        rest = clean[m.end():end]
        first = next(lex.iter_tokens(rest), None)  # the declared name, as Lean reads it («» names too)
        nm = first if first is not None and first.kind == lex.IDENT and not first.error else None
        if kind != "instance" and nm is None:
            continue
        local = rest[nm.start : nm.end] if nm is not None and rest[nm.start : nm.end] != "where" else ""
        if local:
            rest = rest[nm.end :]
        ns = [s[1] for s in scopes if s[0] == "namespace" and s[1]]
        if not local:
            local = f"instance_{clean.count(chr(10), 0, m.start()) + 1}"
        full = local[len("_root_."):] if local.startswith("_root_.") else ".".join([*ns, local])
        signature, body = _split_signature(rest)
        doc = " ".join((m.group("doc") or "").split())
        code = clean[m.start():end].strip()
        start_line = clean.count("\n", 0, m.start()) + 1
        end_line = clean.count("\n", 0, end) + 1
        decl = Declaration(name=full, kind="theorem" if kind == "lemma" else kind,
                           signature=" ".join(signature.split()), docstring=doc, code=code, source=source)
        found.append((decl, start_line, end_line, ns, signature + body))
    # dependencies: identifiers that resolve to another declaration of the file (namespace-relative too)
    names = {d.name for d, *_ in found}
    out = []
    for decl, start, stop, ns, sig_body in found:
        deps: list[str] = []
        for tok in (sig_body[t.start : t.end] for t in lex.iter_tokens(sig_body) if t.kind == lex.IDENT):
            for k in range(len(ns), -1, -1):
                cand = ".".join([*ns[:k], tok])
                if cand in names:
                    if cand != decl.name and cand not in deps:
                        deps.append(cand)
                    break
        decl.deps = deps
        out.append((decl, start, stop))
    return out


def scan_lean_source(text: str, *, source: str = "") -> list[Declaration]:
    """Declarations of a ``.lean`` file with their in-file dependencies, by a simple scanner.

    It knows namespaces, sections, docstrings, attributes and modifiers; dependencies are identifiers
    in the signature and body that resolve to another declaration of the same text. It does not
    elaborate: ``open`` scopes, notation and auto-bound names are not resolved (use
    :func:`extract_with_repl` for Lean's own ``usedConstants``).
    """
    return [d for d, _, _ in _scan(text, source)]


def _split_imports(text: str, source: str = "") -> tuple[str, str]:
    """(header, body) as Lean parses the header; a header Lean rejects is a :class:`LibraryError`."""
    split = split_header(text)
    if split.error is not None:
        pos = split.error.pos
        where = f"{pos.line}:{pos.column}: " if pos else ""
        raise LibraryError(f"{source or 'library'}: {where}{split.error.data}")
    return split.header, split.body


async def extract_with_repl(pool: Any, text: str, *, source: str = "", timeout: float | None = None
                            ) -> list[Declaration]:
    """Scan ``text`` and add Lean's ``usedConstants`` (from ``allTactics``) to each declaration's deps.

    ``pool`` is a :class:`~prover.lean.pool.LeanPool` (or anything with the same ``session``). The body
    runs once on the header's environment; each tactic is attributed to the declaration whose lines
    contain it. Term-mode proofs report no tactics, so their dependencies come from the scanner alone.
    """
    header, body = _split_imports(text, source)
    scanned = _scan(body, source)
    async with pool.session(header) as session:
        kw: dict[str, Any] = {"all_tactics": True}
        if timeout is not None:
            kw["timeout"] = timeout
        resp = await session.command(body, **kw)
    if not hasattr(resp, "tactics"):
        raise LibraryError(f"{source or 'library'}: the REPL refused the file: {getattr(resp, 'message', resp)}")
    errors = [m for m in resp.messages if m.severity == "error"]
    if errors:
        raise LibraryError(f"{source or 'library'}: Lean reports errors, first: {errors[0].data[:200]}")
    for tac in resp.tactics:
        line = int((tac.get("pos") or {}).get("line", 0))
        for decl, start, stop in scanned:
            if start <= line < stop:
                for c in tac.get("usedConstants") or []:
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


# ---------------------------------------------------------------------------- ordering
def dependency_graph(decls: Sequence[Declaration]) -> nx.DiGraph:
    """A DAG with an edge ``dep -> decl`` for each dependency inside the set; a cycle raises, naming it."""
    g = nx.DiGraph()
    names = [d.name for d in decls]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LibraryError(f"declared more than once: {', '.join(dupes)}")
    for d in decls:
        g.add_node(d.name)
    for d in decls:
        for dep in d.deps:
            if dep in g and dep != d.name:
                g.add_edge(dep, d.name)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return g
    raise DependencyCycleError([u for u, _ in cycle])


def translation_order(decls: Sequence[Declaration]) -> list[list[str]]:
    """Layers of names: every declaration comes after everything it depends on (sorted within a layer)."""
    return [sorted(layer) for layer in nx.topological_generations(dependency_graph(decls))]


# ---------------------------------------------------------------------------- translation
def informalize_prompt(decl: Declaration, context: dict[str, str], *, template: str = "informalize") -> str:
    """The prompt for one declaration, carrying the NL translations of its in-set dependencies."""
    lines = [f"- `{name}`: {context[name]}" for name in decl.deps if name in context]
    ctx = ("\nInformal meanings of the declarations it uses:\n" + "\n".join(lines) + "\n") if lines else ""
    doc = f"Docstring: {decl.docstring}\n" if decl.docstring else ""
    code = decl.code or f"{decl.kind} {decl.name} {decl.signature}"
    return render(template, context=ctx, name=decl.name, kind=decl.kind, code=code, docstring=doc)


async def ainformalize_library(
    decls: Sequence[Declaration],
    generator: Generator,
    out_path: str | Path,
    *,
    sampling: SamplingParams | None = None,
    template: str = "informalize",
    progress: bool = True,
) -> dict[str, str]:
    """Translate every declaration in dependency order into ``out_path`` (JSONL keyed by ``name``).

    Returns name -> informal text for the whole set (resumed records included).
    """
    from tqdm import tqdm

    by_name = {d.name: d for d in decls}
    layers = translation_order(decls)
    sampling = sampling or SamplingParams(temperature=0.0, max_tokens=256)
    out_path = Path(out_path)
    done: dict[str, str] = {}
    if out_path.exists():
        for row in iter_jsonl(out_path):
            if row.get("name") in by_name:
                done[row["name"]] = str(row.get("informal", ""))
    with JsonlWriter(out_path, key=lambda r: r["name"]) as writer, \
            tqdm(total=len(decls), initial=len(done), desc="informalize", disable=not progress) as bar:
        for depth, layer in enumerate(layers):
            todo = [by_name[n] for n in layer if not writer.done(n)]
            if not todo:
                continue
            prompts = [informalize_prompt(d, done, template=template) for d in todo]
            outs = await generator.agenerate(prompts, sampling)
            for d, o in zip(todo, outs, strict=True):
                text = " ".join(o[0].text.split())
                writer.write({"name": d.name, "kind": d.kind, "informal": text, "depth": depth,
                              "deps": [x for x in d.deps if x in by_name],
                              "context": [x for x in d.deps if x in done], "signature": d.signature})
                done[d.name] = text
                bar.update(1)
    return done


def informalize_library(decls: Sequence[Declaration], generator: Generator, out_path: str | Path,
                        **kw: Any) -> dict[str, str]:
    """Synchronous :func:`ainformalize_library`."""
    return asyncio.run(ainformalize_library(decls, generator, out_path, **kw))
