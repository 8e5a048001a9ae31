"""Abstain-QA's confusion matrix for autoformalization: rows (formalizable or not), columns (faithful,
unfaithful, abstained), and the rates read off it.

One definition for the two places that score abstention: the formalizer's ``mode=abstain_eval``
(``autoformalize/abstain_eval.py``) and the tiny model's per-role evaluation (``prover/tinylm/evaluate.py``),
so their figures are comparable by construction.
"""

from __future__ import annotations

ROWS = ("formalizable", "not_formalizable")
COLUMNS = ("faithful", "unfaithful", "abstained")

Matrix = dict[str, dict[str, int]]


def empty_matrix() -> Matrix:
    return {r: dict.fromkeys(COLUMNS, 0) for r in ROWS}


def _rate(num: int, den: int) -> float | None:
    """``num / den``; None (``null`` in JSON, ``n/a`` in the table) when nothing was counted, e.g. the
    precision of a run that answered nothing, which is undefined rather than 0."""
    return num / den if den else None


def abstention_rates(matrix: Matrix) -> dict[str, float | None]:
    """Abstain-QA's two headline behaviours (abstain on the unanswerable, do not answer wrongly) and the rest."""
    f, nf = matrix["formalizable"], matrix["not_formalizable"]
    f_total, nf_total = sum(f.values()), sum(nf.values())
    answered = f["faithful"] + f["unfaithful"] + nf["unfaithful"]
    return {
        "abstain_rate_not_formalizable": _rate(nf["abstained"], nf_total),
        "wrong_rate_formalizable": _rate(f["unfaithful"], f_total),
        "faithful_rate_formalizable": _rate(f["faithful"], f_total),
        "over_abstain_rate_formalizable": _rate(f["abstained"], f_total),
        "precision_answered": _rate(f["faithful"], answered),
        "accuracy": _rate(f["faithful"] + nf["abstained"], f_total + nf_total),
    }
