"""A scripted stand-in for the Lean REPL executable: answers from rules, injects faults.

    python -m prover.lean.doubles.scripted --rules RULES.json [--state-dir DIR]

Why: every part of ProofForge that talks to Lean (pool, strategies, evals, agents)
needs tests that run without a Lean toolchain yet go through the real process,
framing and pool code. This double speaks the exact REPL protocol
(:mod:`prover.lean.doubles.protocol`) and answers from a JSON list of rules::

    {"match": regex,        # searched in the request's cmd text, tactic text or file contents
     "response": {...},      # REPL JSON; env / proofState ids are assigned if absent
     "delay": seconds,       # sleep first (a large value = hang)
     "die": true,            # write half the response, then exit 1 (crash mid-response)
     "garbage": true,        # answer text that is not JSON
     "bytes": N,             # pad the response with an N-byte info message
     "grow_mb": N,           # allocate and hold N MB first (past RLIMIT_AS: bad_alloc, exit 134)
     "stderr": text,         # written to stderr before answering (or dying)
     "echo": true,           # add an info message whose data is the request's text (framing tests)
     "once": true}           # fire once across all processes sharing --state-dir

The first matching rule wins. Without a matching rule: a header (only blank and
``import`` lines) gets a clean env; ``#print axioms X`` gets the standard-axioms info
message; any other command gets an ``unsolved goals`` error and any tactic an
``unknown tactic`` error, so nothing passes by accident. Unknown env / proof-state
ids get the REPL's own ``Unknown environment.`` / ``Unknown proof state.`` replies.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from prover.lean.doubles.protocol import main_guard, serve, write_response

AXIOMS_RE = re.compile(r"^\s*(?:set_option\s+\S+\s+\S+\s+in\s+)?#print\s+axioms\s+(\S+)\s*$")
STANDARD = "[propext, Classical.choice, Quot.sound]"


def _pos(line: int, col: int) -> dict[str, int]:
    return {"line": line, "column": col}


def is_header(text: str) -> bool:
    """Whether ``text`` is only a module header (``module``, ``prelude``, ``[public|meta] import`` lines), as the
    pool sends it to build a worker's environment: the double answers it like Lean does, with no message."""
    words = ("import ", "public import ", "meta import ", "public meta import ")  # lean4 v4.24.0 Lean/Parser/Module.lean
    return all(not ln.strip() or ln.strip() in ("module", "prelude") or ln.strip().startswith(words)
               for ln in text.splitlines())


class Scripted:
    def __init__(self, rules: list[dict[str, Any]], state_dir: Path) -> None:
        self.rules = rules
        self.state_dir = state_dir
        self.envs: set[int] = set()
        self.proof_states: set[int] = set()
        self._next_env = 0
        self._next_ps = 0
        self._hold: list[bytearray] = []

    # -- ids

    def new_env(self) -> int:
        n = self._next_env
        self._next_env += 1
        self.envs.add(n)
        return n

    def new_ps(self) -> int:
        n = self._next_ps
        self._next_ps += 1
        self.proof_states.add(n)
        return n

    # -- rules

    def find_rule(self, text: str) -> tuple[int, dict[str, Any]] | None:
        for i, rule in enumerate(self.rules):
            if not re.search(rule.get("match", ""), text):
                continue
            if rule.get("once"):
                marker = self.state_dir / f"rule-{i}.fired"
                if marker.exists():
                    continue
                marker.write_text("fired")
            return i, rule
        return None

    # -- defaults

    def default(self, kind: str, text: str) -> dict[str, Any]:
        if kind == "tactic":
            return {"message": "Lean error:\n<input>:1:1: unknown tactic"}
        m = AXIOMS_RE.match(text)
        if m:
            name = m.group(1)
            return {
                "messages": [
                    {
                        "severity": "info",
                        "pos": _pos(1, 0),
                        "endPos": _pos(1, 6),
                        "data": f"'{name}' depends on axioms: {STANDARD}",
                    }
                ]
            }
        if is_header(text):
            return {}
        last = max(1, len(text.splitlines()))
        return {
            "messages": [
                {
                    "severity": "error",
                    "pos": _pos(1, 0),
                    "endPos": _pos(last, 0),
                    "data": "unsolved goals\n⊢ False",
                }
            ]
        }

    def finish(self, kind: str, resp: dict[str, Any]) -> dict[str, Any]:
        """Assign the ids a real REPL would, unless the rule fixed them."""
        if "message" in resp and "env" not in resp and "proofState" not in resp:
            return resp
        for s in resp.get("sorries", []) or []:
            if isinstance(s, dict) and "proofState" not in s:
                s["proofState"] = self.new_ps()
        if kind in ("command", "file", "unpickle_env"):
            if "env" not in resp:
                resp["env"] = self.new_env()
            else:
                self.envs.add(int(resp["env"]))
        elif kind in ("tactic", "pickle_proof_state", "unpickle_proof_state"):
            if "proofState" not in resp:
                resp["proofState"] = self.new_ps()
            else:
                self.proof_states.add(int(resp["proofState"]))
            if kind == "tactic":
                resp.setdefault("goals", [])
                resp.setdefault(
                    "proofStatus", "Completed" if not resp["goals"] else "Incomplete: open goals remain"
                )
        return resp

    # -- one request

    def handle(self, kind: str, req: dict[str, Any]) -> None:
        resp = self.answer(kind, req)
        if resp is not None:
            write_response(resp)

    def answer(self, kind: str, req: dict[str, Any]) -> dict[str, Any] | None:
        if "env" in req and kind != "pickle_env" and req["env"] not in self.envs:
            return {"message": "Unknown environment."}
        if kind == "pickle_env":
            if req["env"] not in self.envs:
                return {"message": "Unknown environment."}
            return {"env": req["env"]}
        if kind == "pickle_proof_state":
            if req["proofState"] not in self.proof_states:
                return {"message": "Unknown proof State."}
            return self.finish(kind, {})
        if kind in ("unpickle_env", "unpickle_proof_state"):
            return self.finish(kind, {})
        if kind == "tactic":
            if req["proofState"] not in self.proof_states:
                return {"message": "Unknown proof state."}
            text = str(req["tactic"])
        elif kind == "file":
            try:
                text = Path(req["path"]).read_text(encoding="utf-8")
            except OSError:
                return {"message": f"no such file or directory (error code: 2)\n  file: {req['path']}"}
        else:
            text = str(req["cmd"])
        found = self.find_rule(text)
        if found is None:
            return self.finish(kind, self.default(kind, text))
        _, rule = found
        return self.apply(kind, text, rule)

    def apply(self, kind: str, text: str, rule: dict[str, Any]) -> dict[str, Any] | None:
        if rule.get("stderr"):
            sys.stderr.write(str(rule["stderr"]) + "\n")
            sys.stderr.flush()
        if rule.get("delay"):
            time.sleep(float(rule["delay"]))
        if rule.get("grow_mb"):
            self.grow(int(rule["grow_mb"]))
        if rule.get("garbage"):
            sys.stdout.write("this is not JSON { [\nstill not JSON\n\n")
            sys.stdout.flush()
            return None  # the garbage was the answer
        resp = copy.deepcopy(rule["response"]) if "response" in rule else self.default(kind, text)
        resp = self.finish(kind, resp)
        if rule.get("echo"):
            resp.setdefault("messages", []).append(
                {"severity": "info", "pos": _pos(1, 0), "endPos": None, "data": text}
            )
        if rule.get("bytes"):
            self.write_padded(resp, int(rule["bytes"]))
            return None
        if rule.get("die"):
            lines = json.dumps(resp, indent=1).splitlines()
            sys.stdout.write("\n".join(lines[: max(1, len(lines) // 2)]) + "\n")
            sys.stdout.flush()
            sys.stderr.write("double: died mid-response\n")
            sys.stderr.flush()
            os._exit(1)
        return resp

    def write_padded(self, resp: dict[str, Any], n: int) -> None:
        """Answer ``resp`` plus an info message of ``n`` bytes, streamed (a 50 MB string is never built)."""
        mark = "\u0000PAD\u0000"
        resp.setdefault("messages", []).append({"severity": "info", "pos": _pos(1, 0), "endPos": None, "data": mark})
        head, tail = json.dumps(resp, indent=1, ensure_ascii=False).split(json.dumps(mark)[1:-1], 1)
        out = sys.stdout
        out.write(head)
        chunk = "x" * (1 << 20)
        for _ in range(n >> 20):
            out.write(chunk)
        out.write("x" * (n & ((1 << 20) - 1)) + tail + "\n\n")
        out.flush()

    def grow(self, mb: int) -> None:
        try:
            for _ in range(mb):
                self._hold.append(bytearray(b"\x01") * (1 << 20))  # touched pages: real RSS
        except MemoryError:
            self._hold.clear()
            sys.stderr.write("terminate called after throwing an instance of 'std::bad_alloc'\n")
            sys.stderr.write("  what():  std::bad_alloc\n")
            sys.stderr.flush()
            os._exit(134)


def load_rules(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    try:
        rules = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"scripted double: cannot read rules file {path}: {e}") from None
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise SystemExit(f"scripted double: {path} must hold a JSON list of rule objects")
    for i, r in enumerate(rules):
        try:
            re.compile(r.get("match", ""))
        except re.error as e:
            raise SystemExit(f"scripted double: {path}: rule {i} has a bad regex: {e}") from None
    return rules


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m prover.lean.doubles.scripted", description=__doc__)
    ap.add_argument("--rules", required=True, help="JSON file with a list of rules")
    ap.add_argument("--state-dir", default=None, help="where 'once' markers go (default: the rules' folder)")
    args = ap.parse_args(argv)
    rules = load_rules(args.rules)
    state = Path(args.state_dir) if args.state_dir else Path(args.rules).resolve().parent
    double = Scripted(rules, state)
    main_guard(lambda: serve(double.handle))


if __name__ == "__main__":
    main()
