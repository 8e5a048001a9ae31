"""The unbiased pass@k estimator and the per-split / per-category tables built on it.

pass@k (Chen et al. 2021, "Evaluating Large Language Models Trained on Code"): with n
i.i.d. samples of which c are correct, the probability that k samples drawn without
replacement contain a correct one is ``1 - C(n-c, k) / C(n, k)``. We use the product form
``1 - prod_{i=n-c+1}^{n} (1 - k/i)``, which never forms the huge binomials.

Only i.i.d. samples count towards n: for MA-LoT the first-round prover samples (the
corrections depend on earlier attempts), for best-first search one search per problem.
``solved`` (any attempt within the whole budget) is reported beside it. Every number
carries the sampling budget it was measured under, because pass@k without n and the
strategy's budget is not comparable across papers (e.g. DeepSeek-Prover-V1.5 reports pass@32, MA-LoT pass@32 with corrections).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from prover.records import Origin, Outcome


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem: n samples, c of them correct."""
    if n < 0 or c < 0 or k < 1:
        raise ValueError(f"pass_at_k needs n >= 0, c >= 0, k >= 1; got n={n}, c={c}, k={k}")
    if c > n:
        raise ValueError(f"pass_at_k: c={c} correct out of n={n} samples is impossible")
    if k > n:
        raise ValueError(f"pass_at_k: k={k} is larger than the n={n} samples drawn")
    return _pass_at_k(n, c, k)


@lru_cache(maxsize=65536)
def _pass_at_k(n: int, c: int, k: int) -> float:
    """A summary asks for the same few (n, c, k) once per problem, group and k: each is computed once."""
    if c == 0:
        return 0.0
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


@dataclass
class SampleCounts:
    """One problem's contribution: ``n`` i.i.d. samples, ``c`` proved, ``solved`` by any attempt."""

    name: str
    split: str
    source: str
    n: int
    c: int
    solved: bool
    attempts: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)




def _counts(
    problem: dict[str, Any] | Any, origins: list[Origin], statuses: list[str], meta: dict[str, Any]
) -> SampleCounts:
    get = problem.get if isinstance(problem, dict) else lambda k, d="": getattr(problem, k, d)
    strategy = str(meta.get("strategy") or (origins[0].strategy if origins else ""))
    solved = any(s == "proved" for s in statuses)
    if "bestfirst" in strategy or meta.get("search"):
        n, c = 1, int(solved)
    else:
        iid = [s for o, s in zip(origins, statuses, strict=False) if o.iid]
        n, c = len(iid), sum(s == "proved" for s in iid)
    return SampleCounts(str(get("name", "")), str(get("split", "")), str(get("source", "")), n, c, solved,
                        min(len(origins), len(statuses)))


def counts_from_outcome(outcome: Outcome) -> SampleCounts:
    """Split an Outcome's attempts into i.i.d. samples (pass@k's n, c) and the overall result.

    A search strategy (best-first, or any outcome whose meta says ``search``) is one
    sample per problem: its attempts are not independent.
    """
    return _counts(outcome.problem, [c.origin for c in outcome.candidates], [v.status for v in outcome.verdicts],
                   outcome.meta)


def counts_from_record(record: dict[str, Any]) -> SampleCounts:
    """:func:`counts_from_outcome` on an Outcome's JSON dict (no record objects built: fast summaries)."""
    return _counts(record["problem"], [Origin.from_dict(c.get("origin") or {}) for c in record.get("candidates", [])],
                   [v.get("status", "") for v in record.get("verdicts", [])], record.get("meta", {}))


@dataclass
class GroupStats:
    """pass@k for every k up to the group's n, with the budget stated beside the numbers."""

    group: str
    problems: int
    solved: int
    n: int
    pass_at_k: dict[int, float]
    budget: str

    @property
    def solved_rate(self) -> float:
        return self.solved / self.problems if self.problems else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pass_at_k"] = {str(k): v for k, v in self.pass_at_k.items()}
        d["solved_rate"] = self.solved_rate
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GroupStats:
        return cls(
            group=d["group"],
            problems=int(d["problems"]),
            solved=int(d["solved"]),
            n=int(d["n"]),
            pass_at_k={int(k): float(v) for k, v in d["pass_at_k"].items()},
            budget=str(d.get("budget", "")),
        )


def group_stats(group: str, counts: Sequence[SampleCounts], budget: str = "") -> GroupStats:
    """Mean pass@k over problems for k = 1..n, n = the fewest i.i.d. samples any problem got.

    A problem with no sample at all (e.g. its generation failed) counts as unsolved at
    every k rather than shrinking the curve to nothing.
    """
    sampled = [x for x in counts if x.n > 0]
    n = min((x.n for x in sampled), default=0)
    curve: dict[int, float] = {}
    for k in range(1, n + 1):
        values = [pass_at_k(x.n, x.c, k) if x.n > 0 else 0.0 for x in counts]
        curve[k] = float(np.mean(values)) if values else 0.0
    stated = budget or f"n={n} samples/problem"
    return GroupStats(group, len(counts), sum(x.solved for x in counts), n, curve, stated)


def summarize(counts: Iterable[SampleCounts], budget: str = "") -> dict[str, GroupStats]:
    """Stats for ``all``, each ``split=<s>`` and each ``source=<category>``, in a stable order."""
    counts = list(counts)
    out = {"all": group_stats("all", counts, budget)}
    for split in sorted({x.split for x in counts}):
        out[f"split={split}"] = group_stats(f"split={split}", [x for x in counts if x.split == split], budget)
    for src in sorted({x.source for x in counts}):
        out[f"source={src}"] = group_stats(f"source={src}", [x for x in counts if x.source == src], budget)
    return out


def budget_description(strategy: str, budget: dict[str, Any], sampling: dict[str, Any] | None = None) -> str:
    """One line saying what each number was measured under, e.g.
    ``malot: 4 samples/problem, then up to 2 rounds of 2 corrections per failed attempt``.

    Corrections are per failed attempt of the previous round (agents/loop.py), so the wording must not
    read as ``rounds x corrections`` attempts in all.
    """
    samples = int(budget.get("samples", 1) or 1)
    clauses = [f"{samples} sample{'s' if samples != 1 else ''}/problem"]
    rounds = int(budget.get("rounds", 0) or 0)
    if rounds:
        corrections = int(budget.get("corrections", 1))
        clauses.append(f"then up to {rounds} round{'s' if rounds != 1 else ''} of {corrections} "
                       f"correction{'s' if corrections != 1 else ''} per failed attempt")
    expansions = int(budget.get("expansions", 0) or 0)
    if expansions and "bestfirst" in strategy:
        clauses = [f"1 search/problem of {expansions} expansions"]
    if sampling:
        t, top_p = sampling.get("temperature"), sampling.get("top_p")
        if t is not None:
            clauses.append(f"T={t}" + (f", top_p={top_p}" if top_p is not None else ""))
    return f"{strategy}: " + ", ".join(clauses)
