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
decides ``proved``. The re-check runs after the tactic session is handed back (it
needs a worker too, and holding one while waiting for another can deadlock a busy
pool); if it fails, the search resumes in a fresh session, replaying tactic paths
to rebuild the proof states it needs.

The search needs a verifier with a tactic-mode ``session(header)`` (the local
:class:`prover.lean.pool.LeanPool`); the tree (nodes with parent, tactic, goals,
score, status) is stored in ``Outcome.meta["tree"]`` for the notebooks to draw.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import itertools
import textwrap
import time
from dataclasses import dataclass, field
from typing import Any

from prover.lean.header import split_header
from prover.lean.repl import CommandResponse, ReplError, ReplException
from prover.lean.session import TacticSession, TacticSessions
from prover.lean.verifier import Verifier
from prover.llm.context import fit_sampling
from prover.llm.generator import Generator, SamplingParams
from prover.llm.sampling import with_stops
from prover.records import Outcome, Problem, errors_in
from prover.search.extract import Extraction, fenced_blocks, make_candidate
from prover.search.prompts import (
    CHAT_STYLES,
    check_style,
    header_text,
    indent_tactics,
    statement_by,
    tactic_prompt,
    tactic_stop_strings,
)
from prover.search.strategy import BestFirstBudget, Strategy
from prover.search.verdict_cache import VerdictCache


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
    generation: int = 0  # the session its proof_state belongs to

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("children")
        d.pop("generation")
        return d


@dataclass
class _Search:
    """The search's state, kept across sessions."""

    problem: Problem
    outcome: Outcome
    cache: VerdictCache
    nodes: list[Node] = field(default_factory=list)
    heap: list[tuple[float, int, Node]] = field(default_factory=list)
    seen: set[tuple[str, ...]] = field(default_factory=set)
    meta: dict[str, Any] = field(default_factory=dict)
    split: Any = None
    generation: int = 0
    counter: Any = field(default_factory=itertools.count)

    def push(self, node: Node) -> None:
        heapq.heappush(self.heap, (-node.score, next(self.counter), node))


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
    budget_type = BestFirstBudget

    def __init__(
        self,
        generator: Generator,
        verifier: Verifier,
        sampling: SamplingParams | None = None,
        prompt_style: str = "tiny",
        pool: TacticSessions | None = None,
        max_depth: int = 50,
    ) -> None:
        self.generator = generator
        self.verifier = verifier
        sessions = pool if pool is not None else verifier
        if not isinstance(sessions, TacticSessions):
            raise TypeError(
                f"best-first search needs a verifier with tactic-mode sessions (a LeanPool); "
                f"got {type(sessions).__name__}"
            )
        self.pool: TacticSessions = sessions
        # the priority is the cumulative log-probability, so always ask the backend for it
        self.sampling = dataclasses.replace(sampling or SamplingParams(n=4, max_tokens=64), logprobs=True)
        self.prompt_style = check_style(prompt_style)
        self.max_depth = max_depth

    def _code(self, problem: Problem, tactics: list[str]) -> str:
        return header_text(problem) + statement_by(problem) + indent_tactics(tactics)

    async def aprove(self, problem: Problem, budget: BestFirstBudget) -> Outcome:
        self.check_budget(budget)
        t0 = time.perf_counter()
        st = _Search(problem=problem, outcome=Outcome(problem=problem), cache=VerdictCache())
        st.outcome.meta = st.meta = {
            "strategy": self.name,
            "model": getattr(self.generator, "name", ""),
            "prompt_style": self.prompt_style,
            "expansions": 0,
            "tactic_calls": 0,
            "sessions": 0,
            "stopped": "",
        }
        st.split = split_header(self._code(problem, ["sorry"]))
        # A tactic-mode success is re-checked through verifier.verify, which needs a worker of
        # its own; holding the session meanwhile could deadlock a busy pool. So the session is
        # left first, and if the re-check fails (rare, repl #44) the search resumes in a new
        # session, replaying tactic paths to rebuild the proof states it needs.
        while True:
            pending = await self._run_session(st, budget)
            if not pending:
                break
            for tactics, node in pending:
                await self._recheck(problem, tactics, node, st.outcome, st.cache)
                if st.outcome.proved:
                    break
            if st.outcome.proved or not st.heap or st.meta["expansions"] >= budget.expansions:
                if not st.outcome.proved:
                    st.meta["stopped"] = "budget" if st.heap else "no open nodes"
                break
        meta = st.meta
        meta["tree"] = [n.to_dict() for n in st.nodes]
        meta["proved"] = st.outcome.proved
        meta["verify_seconds"] = st.cache.seconds
        meta["seconds"] = time.perf_counter() - t0
        if st.outcome.proved:
            meta["stopped"] = "proved"
            meta["proof"] = next(n.id for n in st.nodes if n.status == "proved")
        return st.outcome

    async def _run_session(self, st: _Search, budget: BestFirstBudget) -> list[tuple[list[str], Node]]:
        """Search in one session until an expansion yields Completed nodes (returned, with their
        tactic paths, for re-checking) or the search ends (an empty list)."""
        st.generation += 1
        st.meta["sessions"] += 1
        params = with_stops(self.sampling, tactic_stop_strings(self.prompt_style))
        stack = contextlib.AsyncExitStack()
        try:
            s = await stack.enter_async_context(self.pool.session(st.split.header))
        except RuntimeError as e:  # the header does not elaborate, or no worker could start
            st.meta["stopped"] = f"no tactic session: {str(e)[:300]}"
            return []
        try:
            async with stack:
                if not st.nodes:
                    resp = await s.command(st.split.body)
                    err = _root_problem(resp)
                    if err:
                        st.meta["stopped"] = f"statement does not elaborate: {err}"
                        return []
                    goal = resp.proof_goals[0]
                    root = Node(0, None, None, int(goal.proof_state), [goal.goal], 0.0, 0)
                    root.generation = st.generation
                    st.nodes.append(root)
                    st.push(root)
                    st.seen.add(tuple(root.goals))
                while st.heap and st.meta["expansions"] < budget.expansions:
                    _, _, node = heapq.heappop(st.heap)
                    if not await self._ensure_state(s, st, node):
                        node.status, node.message = "dead", "could not rebuild its proof state"
                        continue
                    node.status = "expanded"
                    st.meta["expansions"] += 1
                    path = _path(st.nodes, node)
                    prompt = tactic_prompt(st.problem, path, node.goals, self.prompt_style)
                    fitted = await fit_sampling(self.generator, [prompt], params, what="prover.sampling.max_tokens")
                    [comps] = await self.generator.agenerate([prompt], fitted)
                    best: dict[str, float] = {}
                    for c in comps:
                        tac = clean_tactic(c.text, self.prompt_style)
                        if tac:
                            lp = c.logprob if c.logprob is not None else 0.0
                            best[tac] = max(best.get(tac, float("-inf")), lp)
                    completed = []
                    for tac, lp in sorted(best.items(), key=lambda kv: -kv[1]):
                        child = Node(len(st.nodes), node.id, tac, None, [], node.score + lp, node.depth + 1)
                        st.nodes.append(child)
                        node.children.append(child.id)
                        if await self._apply(s, st, node, child):
                            completed.append((path + [tac], child))
                    if completed:
                        return completed
                st.meta["stopped"] = "budget" if st.heap else "no open nodes"
                return []
        except ReplException as e:
            st.meta["stopped"] = f"REPL failed during search: {type(e).__name__}: {str(e)[:200]}"
            return []

    async def _apply(self, s: TacticSession, st: _Search, node: Node, child: Node) -> bool:
        """Run ``child.tactic`` on ``node``'s state and classify the child; True when it is Completed."""
        st.meta["tactic_calls"] += 1
        try:
            r = await s.tactic(child.tactic, node.proof_state)
        except ReplException as e:
            child.status, child.message = "timeout", str(e)[:500]
            raise
        if isinstance(r, ReplError):
            child.status, child.message = "error", r.message.strip()[:500]
            return False
        child.proof_state, child.goals, child.generation = r.proof_state, list(r.goals), st.generation
        if r.errors:
            child.status, child.message = "error", r.errors[0].data.strip()[:500]
        elif r.completed or (r.proof_status is None and not r.goals and not r.sorries):
            child.status = "completed"
            return True
        elif _open(r.proof_status, r.goals):
            key = tuple(r.goals)
            if key in st.seen:
                child.status = "duplicate"
            elif child.depth >= self.max_depth:
                child.status, child.message = "dead", "depth limit"
            else:
                st.seen.add(key)
                st.push(child)
        else:
            child.status, child.message = "dead", r.proof_status or "no goals but not completed"
        return False

    async def _ensure_state(self, s: TacticSession, st: _Search, node: Node) -> bool:
        """Make ``node.proof_state`` valid in this session, replaying its path from the root if needed."""
        if node.generation == st.generation:
            return True
        if node.parent is None:
            resp = await s.command(st.split.body)
            if _root_problem(resp):
                return False
            node.proof_state = int(resp.proof_goals[0].proof_state)
        else:
            parent = st.nodes[node.parent]
            if not await self._ensure_state(s, st, parent):
                return False
            st.meta["tactic_calls"] += 1
            r = await s.tactic(node.tactic, parent.proof_state)
            if isinstance(r, ReplError) or r.errors:
                return False
            node.proof_state = r.proof_state
        node.generation = st.generation
        return True

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


def _root_problem(resp: CommandResponse | ReplError) -> str:
    if isinstance(resp, ReplError):
        return resp.message.strip()
    errors = errors_in(resp.messages)
    if errors:
        return errors[0].data.strip().split("\n")[0]
    if not resp.proof_goals or resp.proof_goals[0].proof_state is None:
        return "the REPL returned no proof state for the statement's sorry"
    return ""

