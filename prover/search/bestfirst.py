"""Best-first tactic search over REPL proof states (GPT-f / ReProver style).

The statement is sent once with ``:= by sorry`` to get the root proof state. Each
expansion pops the open node with the highest cumulative log-probability of its
tactics, samples ``sampling.n`` next tactics (prompt:
:func:`prover.search.prompts.tactic_prompt`), and runs each on the node's proof
state. A child whose goals are new is queued; an error, a repeated goal list, a
sorry or an unassigned metavariable ends its branch. A child counts as closed only
when the REPL says ``proofStatus == "Completed"`` with no error, and even then the
tactic sequence is re-checked as a whole text in command mode through
``verifier.verify`` (tactic mode has accepted wrong proofs, repl #44), which alone
decides ``proved``.

The search needs a verifier with a tactic-mode ``session(header)`` (the local
:class:`prover.lean.pool.LeanPool`); the tree (nodes with parent, tactic, goals,
score, status) is stored in ``Outcome.meta["tree"]`` for the notebooks to draw.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import textwrap
import time
from dataclasses import dataclass, field
from typing import Any

from prover.lean.base import Verifier
from prover.lean.header import split_header
from prover.lean.repl import ReplError, ReplException
from prover.llm.base import Generator, SamplingParams
from prover.records import Outcome, Problem
from prover.search.base import Budget, Strategy
from prover.search.extract import Extraction, fenced_blocks, make_candidate
from prover.search.judge import VerdictCache
from prover.search.prompts import (
    CHAT_STYLES,
    check_style,
    header_text,
    indent_tactics,
    statement_by,
    tactic_prompt,
    tactic_stop_strings,
)


@dataclass
class Node:
    """One proof state in the search tree. ``score`` is the cumulative log-probability."""

    id: int
    parent: int | None
    tactic: str | None
    proof_state: int | None
    goals: list[str]
    score: float
    depth: int
    status: str = "open"  # open | expanded | completed | proved | rejected | error | dead | duplicate | timeout
    message: str = ""
    children: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("children")
        return d


def clean_tactic(text: str, style: str) -> str:
    """The tactic in one completion: the first line for raw styles, the last Lean block for chat."""
    if style in CHAT_STYLES:
        blocks, truncated = fenced_blocks(text)
        body = blocks[-1] if blocks else (truncated if truncated is not None else text)
        return textwrap.dedent(body).strip()
    line = text.split("\n", 1)[0]
    return "" if line.strip().startswith("```") else line.strip()


class BestFirstSearch(Strategy):
    """Best-first search over tactic states, ``budget.expansions`` node expansions per problem."""

    name = "bestfirst"

    def __init__(
        self,
        generator: Generator,
        verifier: Verifier,
        sampling: SamplingParams | None = None,
        prompt_style: str = "tiny",
        pool: Any = None,
        max_depth: int = 50,
    ) -> None:
        self.generator = generator
        self.verifier = verifier
        self.pool = pool if pool is not None else verifier
        if not hasattr(self.pool, "session"):
            raise TypeError(
                f"best-first search needs a verifier with tactic-mode sessions (a LeanPool); "
                f"got {type(self.pool).__name__}"
            )
        self.sampling = sampling or SamplingParams(n=4, max_tokens=64)
        self.prompt_style = check_style(prompt_style)
        self.max_depth = max_depth

    def _code(self, problem: Problem, tactics: list[str]) -> str:
        return header_text(problem) + statement_by(problem) + indent_tactics(tactics)

    async def aprove(self, problem: Problem, budget: Budget) -> Outcome:
        if budget.expansions < 1:
            raise ValueError(f"{self.name}: budget.expansions must be >= 1, got {budget.expansions}")
        t0 = time.perf_counter()
        outcome = Outcome(problem=problem)
        nodes: list[Node] = []
        meta: dict[str, Any] = {
            "strategy": self.name,
            "model": getattr(self.generator, "name", ""),
            "prompt_style": self.prompt_style,
            "expansions": 0,
            "tactic_calls": 0,
            "stopped": "",
        }
        outcome.meta = meta
        cache = VerdictCache()
        params = dataclasses.replace(
            self.sampling,
            stop=list(self.sampling.stop) + [s for s in tactic_stop_strings(self.prompt_style) if s not in self.sampling.stop],
        )
        split = split_header(self._code(problem, ["sorry"]))
        # The re-check borrows a second worker while the session holds one; a one-worker
        # pool would deadlock, so there the search stops at the first Completed node and
        # re-checks it after the session ends.
        inline = int(getattr(self.pool, "max_workers", 2)) >= 2
        deferred: tuple[list[str], Node] | None = None
        try:
            async with self.pool.session(split.header) as s:
                root_resp = await s.command(split.body)
                root_err = _root_problem(root_resp)
                if root_err:
                    meta["stopped"] = f"statement does not elaborate: {root_err}"
                    return outcome
                sorry = root_resp.sorries[0]
                root = Node(0, None, None, int(sorry["proofState"]), [str(sorry.get("goal", ""))], 0.0, 0)
                nodes.append(root)
                counter = itertools.count()
                heap: list[tuple[float, int, Node]] = [(-root.score, next(counter), root)]
                seen = {tuple(root.goals)}
                while heap and meta["expansions"] < budget.expansions and not outcome.proved and not deferred:
                    _, _, node = heapq.heappop(heap)
                    node.status = "expanded"
                    meta["expansions"] += 1
                    path = _path(nodes, node)
                    prompt = tactic_prompt(problem, path, node.goals, self.prompt_style)
                    [comps] = await self.generator.agenerate([prompt], params)
                    best: dict[str, float] = {}
                    for c in comps:
                        tac = clean_tactic(c.text, self.prompt_style)
                        if tac:
                            lp = c.logprob if c.logprob is not None else 0.0
                            best[tac] = max(best.get(tac, float("-inf")), lp)
                    for tac, lp in sorted(best.items(), key=lambda kv: -kv[1]):
                        child = Node(len(nodes), node.id, tac, None, [], node.score + lp, node.depth + 1)
                        nodes.append(child)
                        node.children.append(child.id)
                        meta["tactic_calls"] += 1
                        try:
                            r = await s.tactic(tac, node.proof_state)
                        except ReplException as e:
                            child.status, child.message = "timeout", str(e)[:500]
                            meta["stopped"] = f"REPL failed during search: {type(e).__name__}"
                            raise _SessionLost() from None
                        if isinstance(r, ReplError):
                            child.status, child.message = "error", r.message.strip()[:500]
                            continue
                        child.proof_state, child.goals = r.proof_state, list(r.goals)
                        if r.errors:
                            child.status, child.message = "error", r.errors[0].data.strip()[:500]
                        elif r.completed or (r.proof_status is None and not r.goals and not r.sorries):
                            if not inline:
                                child.status = "completed"
                                deferred = (path + [tac], child)
                                break
                            await self._recheck(problem, path + [tac], child, outcome, cache)
                            if child.status == "proved":
                                break
                        elif _open(r.proof_status, r.goals):
                            key = tuple(r.goals)
                            if key in seen:
                                child.status = "duplicate"
                            elif child.depth >= self.max_depth:
                                child.status, child.message = "dead", "depth limit"
                            else:
                                seen.add(key)
                                heapq.heappush(heap, (-child.score, next(counter), child))
                        else:
                            child.status, child.message = "dead", r.proof_status or "no goals but not completed"
                if not outcome.proved and not meta["stopped"] and not deferred:
                    meta["stopped"] = "budget" if heap else "no open nodes"
        except _SessionLost:
            pass
        if deferred is not None:
            await self._recheck(problem, deferred[0], deferred[1], outcome, cache)
            if not outcome.proved:
                meta["stopped"] = "a Completed node failed the command-mode re-check (one-worker pool)"
        meta["tree"] = [n.to_dict() for n in nodes]
        meta["proved"] = outcome.proved
        meta["verify_seconds"] = cache.seconds
        meta["seconds"] = time.perf_counter() - t0
        if outcome.proved:
            meta["stopped"] = "proved"
            meta["proof"] = next(n.id for n in nodes if n.status == "proved")
        return outcome

    async def _recheck(
        self, problem: Problem, tactics: list[str], child: Node, outcome: Outcome, cache: VerdictCache
    ) -> None:
        """Tactic mode said Completed: judge the whole text in command mode before it counts."""
        proof = indent_tactics(tactics).rstrip("\n")
        ex = Extraction(proof=proof, code=self._code(problem, tactics), source="tactics")
        origin = {
            "strategy": self.name,
            "model": getattr(self.generator, "name", ""),
            "sample": len(outcome.candidates),
            "round": 0,
            "node": child.id,
        }
        cand = make_candidate(problem, ex, origin)
        [verdict] = await cache.judge(self.verifier, [cand], [ex])
        outcome.candidates.append(cand)
        outcome.verdicts.append(verdict)
        child.status = "proved" if verdict.status == "proved" else "rejected"
        child.message = verdict.reason


class _SessionLost(Exception):
    """The REPL timed out or crashed mid-search: the session cannot continue."""


def _path(nodes: list[Node], node: Node) -> list[str]:
    tactics: list[str] = []
    cur: Node | None = node
    while cur is not None and cur.tactic is not None:
        tactics.append(cur.tactic)
        cur = nodes[cur.parent] if cur.parent is not None else None
    return tactics[::-1]


def _open(status: str | None, goals: list[str]) -> bool:
    if status is None:
        return bool(goals)
    return status.startswith("Incomplete: open goals") and bool(goals)


def _root_problem(resp: Any) -> str:
    if isinstance(resp, ReplError):
        return resp.message.strip()
    errors = [m for m in resp.messages if m.severity == "error"]
    if errors:
        return errors[0].data.strip().split("\n")[0]
    if not resp.sorries or "proofState" not in resp.sorries[0]:
        return "the REPL returned no proof state for the statement's sorry"
    return ""

