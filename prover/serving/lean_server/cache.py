"""A bounded verdict cache, so RL loops that resubmit identical proofs do not re-run Lean.

Keyed by what decides a verdict and nothing else: the header (normalised imports, as the pool
keys its warm environments), the body, the problem statement and header the candidate is
checked against, the allowed axioms, and the Lean, Mathlib and REPL pins (a cache must never
answer for another toolchain). The candidate's id and problem name are not part of the key;
a hit is re-labelled for the asking candidate. Only verdicts that Lean would give again are
kept (``proved``, ``failed``, ``rejected``); ``timeout`` and ``crashed`` depend on load.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable

from prover.lean.header import split_header
from prover.lean.pins import LEAN_VERSION, MATHLIB_REV, REPL_REV
from prover.records import Candidate, Verdict

CACHEABLE = frozenset({"proved", "failed", "rejected"})


def cache_key(c: Candidate, allowed_axioms: Iterable[str]) -> str:
    split = split_header(c.code)
    parts = [split.header, split.body, c.statement, c.header, sorted(allowed_axioms),
             LEAN_VERSION, MATHLIB_REV, REPL_REV]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


class VerdictCache:
    """LRU of verdicts with at most ``size`` entries (0 disables it); counts hits and misses."""

    def __init__(self, size: int, allowed_axioms: Iterable[str]) -> None:
        if size < 0:
            raise ValueError(f"cache_size must be >= 0, got {size}")
        self.size = size
        self.allowed = frozenset(allowed_axioms)
        self._data: OrderedDict[str, Verdict] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def key(self, c: Candidate) -> str:
        return cache_key(c, self.allowed)

    def get(self, key: str, c: Candidate) -> Verdict | None:
        """The cached verdict for ``key``, re-labelled for ``c``; None (a miss) if absent."""
        if not self.size:
            return None
        v = self._data.get(key)
        if v is None:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        out = copy.deepcopy(v)
        out.candidate, out.problem = c.id, c.problem
        return out

    def put(self, key: str, v: Verdict) -> None:
        if not self.size or v.status not in CACHEABLE:
            return
        self._data[key] = copy.deepcopy(v)
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)
