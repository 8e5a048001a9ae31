"""The REPL's stdin/stdout loop, reproduced exactly, for the test doubles.

Why: the doubles must fail where the real REPL fails, or a client bug that the real
REPL would punish (a second blank line, a raw newline in a string, bad JSON) passes
unnoticed. This mirrors ``REPL/Main.lean``: ``getLines`` reads lines until a
whitespace-only line, strips trailing whitespace from each line and joins them with
no separator; an empty query (EOF) ends the loop; queries starting with ``#`` or
``--`` are skipped; a query that is not JSON, or JSON of no request shape, kills the
process with ``uncaught exception: {"message": ...}`` on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

#: Request shapes in the order ``REPL/Main.lean:parse`` tries them.
SHAPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tactic", ("tactic", "proofState")),
    ("pickle_env", ("pickleTo", "env")),
    ("unpickle_env", ("unpickleEnvFrom",)),
    ("pickle_proof_state", ("pickleTo", "proofState")),
    ("unpickle_proof_state", ("unpickleProofStateFrom",)),
    ("command", ("cmd",)),
    ("file", ("path",)),
)


#: ``Char.isWhitespace`` in Lean, which ``String.trim``/``trimRight`` use (Python's strip() takes more).
_LEAN_WS = " \t\r\n"


class Fatal(Exception):
    """An input the real REPL dies on."""


def get_lines(stream: TextIO) -> str:
    """``REPL/Main.lean:getLines``: lines up to a whitespace-only line, right-stripped, joined."""
    parts: list[str] = []
    while True:
        line = stream.readline()
        if not line.strip(_LEAN_WS):
            # a blank line (or EOF) ends the query; a leading blank line is itself the query
            return "".join(parts) if parts else line
        parts.append(line.rstrip(_LEAN_WS))


def request_kind(obj: Any) -> str:
    """The request shape the REPL would decode ``obj`` as; raises :class:`Fatal` if none."""
    if isinstance(obj, dict):
        for kind, keys in SHAPES:
            if all(k in obj for k in keys):
                return kind
    raise Fatal("Could not parse as a valid JSON command")


def parse_query(query: str) -> tuple[str, dict[str, Any]]:
    try:
        obj = json.loads(query)
    except json.JSONDecodeError as e:
        raise Fatal(f"Could not parse JSON:\n{e.msg}") from None
    return request_kind(obj), obj


def write_response(obj: Any, out: TextIO = sys.stdout) -> None:
    """Pretty-printed (multi-line) JSON then an empty line, flushed, as the REPL does."""
    out.write(json.dumps(obj, indent=1, ensure_ascii=False) + "\n\n")
    out.flush()


def serve(handle: Callable[[str, dict[str, Any]], None]) -> int:
    """Run the REPL loop, calling ``handle(kind, request)`` for each request; return the exit code."""
    sys.stdin.reconfigure(encoding="utf-8", newline="\n")  # type: ignore[attr-defined]  # Lean's getLine: '\n' only
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[attr-defined]
    stdin = sys.stdin
    while True:
        query = get_lines(stdin)
        if query == "":
            return 0
        if query.startswith("#") or query.startswith("--"):
            continue
        try:
            kind, obj = parse_query(query)
        except Fatal as e:
            sys.stderr.write("uncaught exception: " + json.dumps({"message": str(e)}) + "\n")
            sys.stderr.flush()
            return 1
        handle(kind, obj)


def main_guard(run: Callable[[], int]) -> None:
    """Exit with ``run()``'s code; a broken pipe (the client killed us mid-write) is a quiet exit."""
    try:
        code = run()
    except BrokenPipeError:
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush = lambda: None  # type: ignore[method-assign]  # avoid a second BrokenPipe at exit
    raise SystemExit(code)
