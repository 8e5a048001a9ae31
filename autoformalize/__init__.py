"""ProofForge autoformalize: Herald-style NL -> Lean with type-checking, back-translation, a faithfulness
judge and abstention; LeanVec-style declaration retrieval; library -> NL in dependency order."""

from autoformalize.formalizer import (
    ABSTAINED,
    DEFAULT_HEADER,
    FORMALIZED,
    CandidateStatement,
    FormalizationItem,
    FormalizationResult,
    Formalizer,
)
from autoformalize.judge import Judgement, parse_judgement
from autoformalize.typecheck import typechecks

__all__ = [
    "ABSTAINED",
    "DEFAULT_HEADER",
    "FORMALIZED",
    "CandidateStatement",
    "FormalizationItem",
    "FormalizationResult",
    "Formalizer",
    "Judgement",
    "parse_judgement",
    "typechecks",
]
