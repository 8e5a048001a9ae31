"""Verify a batch of candidates: one Lean call per distinct code, none for output without a proof.

Sampling at low temperature repeats itself, and correction rounds often reproduce an
earlier attempt; Lean time dominates evaluation (ReProver #80), so each distinct code
is judged once per problem and its verdict reused. Candidates whose extraction failed
get their verdict without Lean.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from prover.lean.verifier import Verifier
from prover.records import Candidate, Verdict
from prover.search.extract import Extraction, failed_verdict


class VerdictCache:
    """Verdicts by candidate code, for one problem's search."""

    def __init__(self) -> None:
        self._by_code: dict[str, Verdict] = {}
        self.lean_calls = 0
        self.seconds = 0.0

    def __contains__(self, code: str) -> bool:
        return code in self._by_code

    async def judge(
        self, verifier: Verifier, candidates: Sequence[Candidate], extractions: Sequence[Extraction]
    ) -> list[Verdict]:
        """One verdict per candidate, in order; Lean sees each new code once, in one batch."""
        todo: list[Candidate] = []
        seen: set[str] = set()
        for c, e in zip(candidates, extractions, strict=True):
            if e.ok and c.code not in self._by_code and c.code not in seen:
                todo.append(c)
                seen.add(c.code)
        if todo:
            t0 = time.perf_counter()
            verdicts = await verifier.verify(todo)
            self.seconds += time.perf_counter() - t0
            self.lean_calls += len(todo)
            if len(verdicts) != len(todo):
                raise RuntimeError(
                    f"verifier {type(verifier).__name__} returned {len(verdicts)} verdicts for {len(todo)} candidates"
                )
            for c, v in zip(todo, verdicts, strict=True):
                self._by_code[c.code] = v
        out: list[Verdict] = []
        for c, e in zip(candidates, extractions, strict=True):
            if not e.ok:
                out.append(failed_verdict(c, e.reason))
                continue
            v = dataclasses.replace(self._by_code[c.code])
            v.candidate = v.candidate or c.id
            v.problem = v.problem or c.problem
            out.append(v)
        return out
