"""A stand-in for the Lean REPL that answers from the REPL's own recorded transcripts.

    python -m prover.lean.doubles.replay --transcripts DIR [--name X]

Why: the transcripts (``X.in`` -> ``X.expected.out``, the ``test/`` folder of
leanprover-community/repl at tag v4.24.0) are real Lean output, so replaying them
byte for byte tests the client's framing and parsing against the true pretty-printed
format, without Lean.

Each ``X.in`` is parsed with the REPL's own ``getLines`` rule, each ``X.expected.out``
is split into its blank-line-terminated responses, and request *i* of the session is
paired with response *i*. Incoming requests are compared as parsed JSON. Without
``--name`` every transcript whose first requests equal the session so far stays a
candidate (the first is answered from); ``--name X`` (e.g. ``readme`` or
``Mathlib/exact``) pins one. A request no candidate expects is fatal: the double
prints why on stderr and exits 3, so a client bug cannot pass silently.

The double also plays the files the real REPL touches, relative to its working
directory as the REPL does (upstream ``test.sh`` runs from the repl root, the Mathlib
inputs from ``test/Mathlib``; :func:`make_workdir` lays such a folder out):

* a ``path`` request must find the file, with the bytes of the recorded ``.lean``
  of that name (``test/file.lean`` is ``file.lean`` beside ``file.in``);
* ``pickleTo`` writes a marker file at the path (its folder must exist, as for Lean's
  ``IO.FS.writeFile``), naming the transcript that wrote it;
* ``unpickle*From`` must find that marker, written by the input that writes it last
  before this one in upstream order (``LC_COLLATE=C``, core first, then ``Mathlib/``):
  ``pickle_proof_state_2`` reads the ``test/d.olean`` of ``pickle_proof_state_1``, so
  the inputs only replay in sorted order, as upstream.

Inputs with no ``X.expected.out`` (upstream ships none, and ``test.sh`` skips them)
cannot be replayed: there is no recorded response. :func:`inventory` lists them with
that reason.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from prover.lean.doubles.protocol import get_lines, main_guard, serve

#: The sub-folder holding the Mathlib test project's inputs (upstream ``test/Mathlib/test/``).
MATHLIB = "Mathlib"
#: Why an input without an expected output is not replayed.
NO_EXPECTED = "upstream ships no {name}.expected.out (test.sh skips it): no recorded response to replay"
#: What a pickle marker file starts with, so an unpickle can tell a replayed pickle from any other file.
MARKER = "proofforge replay pickle\n"


@dataclass
class Transcript:
    name: str
    requests: list[Any]  # parsed JSON, as the REPL would decode each query
    responses: list[str]  # raw response text, without the terminating blank line

    @property
    def folder(self) -> str:
        """``""`` for the repl's own tests, ``"Mathlib"`` for the Mathlib test project's."""
        return self.name.rsplit("/", 1)[0] if "/" in self.name else ""

    def paths(self, key: str) -> list[str]:
        return [r[key] for r in self.requests if isinstance(r, dict) and key in r]

    @property
    def reads(self) -> list[str]:
        """The files this input unpickles, in request order."""
        return self.paths("unpickleEnvFrom") + self.paths("unpickleProofStateFrom")


def parse_requests(text: str) -> list[Any]:
    """The queries of an ``.in`` file, read exactly as ``REPL/Main.lean`` reads stdin."""
    stream = io.StringIO(text)
    out = []
    while True:
        query = get_lines(stream)
        if query == "":
            return out
        if query.startswith("#") or query.startswith("--"):
            continue
        out.append(json.loads(query))


def split_responses(text: str) -> list[str]:
    """The responses of an ``.expected.out`` file: blocks ended by an empty line."""
    blocks, cur = [], []
    for line in text.split("\n"):
        if line.strip():
            cur.append(line)
        elif cur:
            blocks.append("\n".join(cur))
            cur = []
    if cur:
        blocks.append("\n".join(cur))
    return blocks


def upstream_inputs(folder: str | Path) -> list[Path]:
    """Every ``X.in`` in the order upstream runs them: ``test/*.in`` in C collation, then ``Mathlib/``.

    Python orders strings by code point, which is ``LC_COLLATE=C`` for these ASCII names
    (``pickle_open_scoped.in`` before ``pickle_open_scoped_2.in``: ``.`` < ``_``).
    """
    root = Path(folder)
    return sorted(root.glob("*.in"), key=lambda p: p.name) + sorted(
        (root / MATHLIB).glob("*.in"), key=lambda p: p.name
    )


def _name(root: Path, src: Path) -> str:
    return src.relative_to(root).as_posix()[: -len(".in")]


def _expected(src: Path) -> Path:
    return src.with_name(src.name[: -len(".in")] + ".expected.out")


def inventory(folder: str | Path) -> dict[str, str | None]:
    """Every input, in upstream order, mapped to None (replayed) or the reason it cannot be."""
    root = Path(folder)
    out: dict[str, str | None] = {}
    for src in upstream_inputs(root):
        name = _name(root, src)
        parse_requests(src.read_text(encoding="utf-8"))  # every input must at least parse
        out[name] = None if _expected(src).exists() else NO_EXPECTED.format(name=name)
    return out


def load_transcripts(folder: str | Path) -> list[Transcript]:
    """Every ``X.in`` with its ``X.expected.out`` under ``folder``, in upstream order."""
    root = Path(folder)
    out = []
    for src in upstream_inputs(root):
        expected = _expected(src)
        if not expected.exists():
            continue
        out.append(
            Transcript(
                _name(root, src),
                parse_requests(src.read_text(encoding="utf-8")),
                split_responses(expected.read_text(encoding="utf-8")),
            )
        )
    return out


def writer_before(order: list[Transcript], name: str, path: str) -> str | None:
    """The input that last pickles ``path`` before input ``name`` is read, in upstream order.

    Within one input a pickle before the unpickle counts (``pickle_environment`` reads
    its own ``test/a.olean``); ``Mathlib/`` inputs run in their own folder, so only
    inputs of the same folder are searched.
    """
    me = next(t for t in order if t.name == name)
    last = None
    for t in order:
        if t.folder != me.folder:
            continue
        if t.name == name:
            for r in t.requests:
                if r.get("pickleTo") == path:
                    last = t.name
                if path in (r.get("unpickleEnvFrom"), r.get("unpickleProofStateFrom")):
                    return last
            return last
        if path in t.paths("pickleTo"):
            last = t.name
    return last


def prerequisites(order: list[Transcript], name: str) -> list[str]:
    """The inputs to replay before ``name`` so that the files it unpickles exist (upstream order)."""
    need: set[str] = set()
    todo = [name]
    while todo:
        cur = todo.pop()
        t = next(t for t in order if t.name == cur)
        for path in t.reads:
            w = writer_before(order, cur, path)
            if w is not None and w != cur and w not in need:
                need.add(w)
                todo.append(w)
    return [t.name for t in order if t.name in need]


def make_workdir(transcripts: str | Path, dest: str | Path) -> Path:
    """Lay ``dest`` out as the repl root the inputs expect: ``test/*.lean``, ``test/Mathlib/test/*.lean``."""
    src, root = Path(transcripts), Path(dest)
    for sub, target in (("", root / "test"), (MATHLIB, root / "test" / "Mathlib" / "test")):
        target.mkdir(parents=True, exist_ok=True)
        for lean in sorted((src / sub).glob("*.lean")):
            shutil.copyfile(lean, target / lean.name)
    return root


def workdir_for(root: str | Path, transcript: Transcript) -> Path:
    """Where upstream runs ``transcript``: the repl root, or ``test/Mathlib`` for the Mathlib inputs."""
    return Path(root) / "test" / MATHLIB if transcript.folder == MATHLIB else Path(root)


class Replay:
    def __init__(self, transcripts: list[Transcript], root: str | Path | None = None,
                 order: list[Transcript] | None = None) -> None:
        self.candidates = transcripts
        self.index = 0
        self.root = Path(root) if root is not None else None  # the transcripts folder (recorded .lean files)
        self.order = order if order is not None else transcripts

    def fatal(self, why: str) -> None:
        sys.stderr.write(f"replay: {why}\n")
        sys.stderr.flush()
        raise SystemExit(3)

    def handle(self, kind: str, req: dict[str, Any]) -> None:
        i = self.index
        alive = [t for t in self.candidates if i < len(t.requests) and t.requests[i] == req]
        if not alive:
            names = ", ".join(t.name for t in self.candidates[:5])
            self.fatal(f"request {i} {json.dumps(req)} is not in the transcript(s) {names}")
        self.candidates = alive
        self.index += 1
        t = alive[0]
        self.play_files(t, kind, req)
        text = t.responses[i] if i < len(t.responses) else '{"message": "replay: no recorded response"}'
        sys.stdout.write(text + "\n\n")
        sys.stdout.flush()

    def play_files(self, t: Transcript, kind: str, req: dict[str, Any]) -> None:
        """What the real REPL reads or writes for ``req``, relative to the working directory."""
        if kind == "file":
            self.check_source(t, str(req["path"]))
        elif kind in ("pickle_env", "pickle_proof_state"):
            path = Path(req["pickleTo"])
            if not path.parent.is_dir():
                self.fatal(f"pickleTo {req['pickleTo']}: no folder {path.parent} in the working directory")
            path.write_text(MARKER + json.dumps({"writer": t.name, "request": req}), encoding="utf-8")
        elif kind in ("unpickle_env", "unpickle_proof_state"):
            self.check_pickle(t, str(req.get("unpickleEnvFrom") or req.get("unpickleProofStateFrom")))

    def check_source(self, t: Transcript, path: str) -> None:
        here = Path(path)
        if not here.is_file():
            self.fatal(f"path {path}: no such file in the working directory "
                       f"(upstream runs {t.name}.in where {path} exists; see make_workdir)")
        if self.root is None:
            return
        recorded = self.root / t.folder / PurePosixPath(path).name
        if not recorded.is_file():
            self.fatal(f"path {path}: {t.name} has no recorded {recorded.name}")
        if here.read_bytes() != recorded.read_bytes():
            self.fatal(f"path {path}: differs from the recorded {t.folder + '/' if t.folder else ''}"
                       f"{recorded.name}, so the recorded response does not hold for it")

    def check_pickle(self, t: Transcript, path: str) -> None:
        here = Path(path)
        text = here.read_text(encoding="utf-8") if here.is_file() else ""
        if not text.startswith(MARKER):
            self.fatal(f"unpickle from {path}: no file pickled there in the working directory "
                       "(the pickle inputs only work in sorted order: an earlier input writes it)")
        writer = json.loads(text[len(MARKER):])["writer"]
        if any(o.name == t.name for o in self.order):
            want = writer_before(self.order, t.name, path)
            if want is not None and writer != want:
                self.fatal(f"unpickle from {path}: written by {writer}, but in upstream order "
                           f"{t.name} reads the one {want} writes")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m prover.lean.doubles.replay", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transcripts", required=True, help="folder of X.in / X.expected.out pairs")
    ap.add_argument("--name", default=None, help="replay only this transcript (e.g. readme, Mathlib/exact)")
    args = ap.parse_args(argv)
    order = load_transcripts(args.transcripts)
    transcripts = [t for t in order if t.name == args.name] if args.name else order
    if not transcripts:
        reason = inventory(args.transcripts).get(args.name or "")
        raise SystemExit(f"replay double: no transcript {args.name or '*.in'} in {args.transcripts}"
                         + (f": {reason}" if reason else ""))
    main_guard(lambda: serve(Replay(transcripts, args.transcripts, order).handle))


if __name__ == "__main__":
    main()
