"""Herald's statement-autoformalisation protocol on miniF2F's informal statements.

Per problem, ``n`` samples are translated; a sample *type-checks* if Lean accepts
``header + statement := by sorry``, and *passes* if it also back-translates to a problem the judge
calls the same (faithful at or above the threshold). Herald reports pass@128 of the second kind.
Reported here: the type-check rate and the judged-faithful rate (any sample), and pass@k for both
with the unbiased estimator over the ``n`` samples.

These are **statement** numbers only: no proof is attempted, and an NLI judge is a filter, not ground
truth (miniF2F-Lean Revisited: ~97% literature autoformalisation accuracy falls to ~36% end to end).
Never put them in a table of proof success rates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from math import comb
from pathlib import Path
from typing import Any

from autoformalize.formalizer import FormalizationItem, FormalizationResult
from prover.records import json_lines

NOTE = ("statement autoformalization only (Herald protocol: type-check + back-translation + LLM judge); "
        "no proofs attempted; not comparable with proof success rates")


class HeraldEvalError(ValueError):
    """The benchmark file is missing or malformed; the message names it."""


def informal_from_prefix(prefix: str) -> str:
    """The NL problem inside miniF2F's ``/-- ... -/`` docstring."""
    text = prefix.strip()
    text = re.sub(r"^/--\s*", "", text)
    text = re.sub(r"\s*-/\s*$", "", text)
    return text.strip()


def minif2f_items(path: str | Path, *, split: str | None = "test", limit: int | None = None
                  ) -> list[FormalizationItem]:
    """Items from DeepSeek-Prover's ``minif2f.jsonl`` (``informal_prefix``) or any JSONL with
    ``informal_statement``; ``split`` None keeps every split.

    A row without a ``split`` field while a split is asked for is an error, not a row kept: that
    file is not miniF2F, and keeping every row would report "split=test" numbers for all of it.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise HeraldEvalError(f"benchmark file {p} does not exist (set herald_eval.input=<minif2f.jsonl>)")
    items = []
    for i, row in json_lines(p, HeraldEvalError):
        if split and row.get("split") is None:
            raise HeraldEvalError(
                f"{p}:{i}: no `split` field, so herald_eval.split={split} cannot pick rows (not miniF2F's "
                "minif2f.jsonl?); set herald_eval.split=null to use every row"
            )
        if split and row.get("split") != split:
            continue
        text = row.get("informal_statement") or informal_from_prefix(str(row.get("informal_prefix", "")))
        if not text:
            raise HeraldEvalError(f"{p}:{i}: no informal_statement or informal_prefix")
        name = str(row.get("name") or row.get("id") or f"line_{i}")
        items.append(FormalizationItem(id=name, informal=text, header=row.get("header"), name=name))
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise HeraldEvalError(f"{p}: no rows for split {split!r}")
    return items


def check_ks(ks: Sequence[Any] | None, n: int) -> list[int]:
    """``herald_eval.ks`` as integers, each in 1..n (pass@k needs k of the n samples), or an error naming it."""
    out = []
    for k in ks or [1]:
        try:
            k = int(k)
        except (TypeError, ValueError):
            raise HeraldEvalError(f"herald_eval.ks: {k!r} is not an integer") from None
        if not 1 <= k <= n:
            raise HeraldEvalError(f"herald_eval.ks: k={k} needs 1 <= k <= n={n} samples; drop it or raise n")
        out.append(k)
    return out


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k)."""
    if k > n:
        k = n
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def herald_summary(results: Sequence[FormalizationResult], *, threshold: float, ks: Sequence[int] = (1,)
                   ) -> dict[str, Any]:
    """Rates and pass@k over results; sample counts come from each candidate's sample indices."""
    rows = []
    for r in results:
        n = max(r.n_samples, 1)
        c_tc = sum(len(c.samples) for c in r.candidates if c.typechecks)
        c_ok = sum(len(c.samples) for c in r.candidates if c.accepted(threshold))
        rows.append((n, c_tc, c_ok, r.status == "formalized"))
    total = len(rows)

    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs) if xs else 0.0

    ks = sorted({int(k) for k in ks})
    return {
        "problems": total,
        "samples_per_problem": max((n for n, *_ in rows), default=0),
        "threshold": threshold,
        "typecheck_rate": mean([float(c > 0) for _, c, _, _ in rows]),
        "judged_faithful_rate": mean([float(ok) for *_, ok in rows]),
        "sample_typecheck_rate": mean([c / n for n, c, _, _ in rows]),
        "pass_at_k_typecheck": {str(k): mean([pass_at_k(n, c, k) for n, c, _, _ in rows]) for k in ks},
        "pass_at_k_faithful": {str(k): mean([pass_at_k(n, c, k) for n, _, c, _ in rows]) for k in ks},
        "note": NOTE,
    }
