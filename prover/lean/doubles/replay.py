"""A stand-in for the Lean REPL that answers from the REPL's own recorded transcripts.

    python -m prover.lean.doubles.replay --transcripts DIR [--name X]

Why: the transcripts (``X.in`` -> ``X.expected.out``, from leanprover-community/repl's
tests) are real Lean output, so replaying them byte for byte tests the client's
framing and parsing against the true pretty-printed format, without Lean.

Each ``X.in`` is parsed with the REPL's own ``getLines`` rule, each ``X.expected.out``
is split into its blank-line-terminated responses, and request *i* of the session is
paired with response *i*. Incoming requests are compared as parsed JSON. Without
``--name`` every transcript whose first requests equal the session so far stays a
candidate (the first is answered from); ``--name X`` (e.g. ``readme`` or
``Mathlib/exact``) pins one. A request no candidate expects is fatal: the double
prints why on stderr and exits 3, so a client bug cannot pass silently.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.lean.doubles.protocol import get_lines, main_guard, serve


@dataclass
class Transcript:
    name: str
    requests: list[Any]  # parsed JSON, as the REPL would decode each query
    responses: list[str]  # raw response text, without the terminating blank line


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


def load_transcripts(folder: str | Path) -> list[Transcript]:
    """Every ``X.in`` with its ``X.expected.out`` under ``folder`` (recursively), in sorted order."""
    root = Path(folder)
    out = []
    for src in sorted(root.rglob("*.in")):
        expected = src.with_name(src.name[: -len(".in")] + ".expected.out")
        if not expected.exists():
            continue
        name = src.relative_to(root).as_posix()[: -len(".in")]
        out.append(
            Transcript(
                name,
                parse_requests(src.read_text(encoding="utf-8")),
                split_responses(expected.read_text(encoding="utf-8")),
            )
        )
    return out


class Replay:
    def __init__(self, transcripts: list[Transcript]) -> None:
        self.candidates = transcripts
        self.index = 0

    def handle(self, kind: str, req: dict[str, Any]) -> None:
        i = self.index
        alive = [t for t in self.candidates if i < len(t.requests) and t.requests[i] == req]
        if not alive:
            names = ", ".join(t.name for t in self.candidates[:5])
            sys.stderr.write(f"replay: request {i} {json.dumps(req)} is not in the transcript(s) {names}\n")
            sys.stderr.flush()
            raise SystemExit(3)
        self.candidates = alive
        self.index += 1
        t = alive[0]
        text = t.responses[i] if i < len(t.responses) else '{"message": "replay: no recorded response"}'
        sys.stdout.write(text + "\n\n")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m prover.lean.doubles.replay", description=__doc__)
    ap.add_argument("--transcripts", required=True, help="folder of X.in / X.expected.out pairs")
    ap.add_argument("--name", default=None, help="replay only this transcript (e.g. readme, Mathlib/exact)")
    args = ap.parse_args(argv)
    transcripts = load_transcripts(args.transcripts)
    if args.name:
        transcripts = [t for t in transcripts if t.name == args.name]
    if not transcripts:
        raise SystemExit(f"replay double: no transcript {args.name or '*.in'} in {args.transcripts}")
    main_guard(lambda: serve(Replay(transcripts).handle))


if __name__ == "__main__":
    main()
