"""The Herald-style formaliser: sample, type-check, back-translate, judge, pick or abstain.

For each informal statement: sample ``n`` Lean statements; keep those Lean accepts as
``header + statement := by sorry`` (every candidate of the whole batch goes to the verifier in one
call, so the pool stays busy); back-translate each survivor to English; ask a judge whether the
back-translation is the same problem as the original; return the best accepted candidate with its
evidence. When nothing type-checks, or nothing is judged faithful at or above ``threshold``, the
answer is *abstained* ("cannot faithfully formalize", after Abstain-QA): a confident wrong statement
is worse than none, because every later stage would prove the wrong thing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from autoformalize.backtranslate import backtranslation_prompt, clean_backtranslation
from autoformalize.declarations import Declaration
from autoformalize.judge import FAITHFUL, judge_prompt, parse_judgement
from autoformalize.prompts import DEFAULT_EXEMPLARS, Exemplar, load_exemplars
from autoformalize.translate import extract_statement, translation_prompt
from autoformalize.typecheck import (
    first_error,
    lean_identifier,
    rename_theorem,
    statement_candidate,
    typechecks,
)
from prover.lean.verifier import Verifier
from prover.llm.generator import Generator, SamplingParams

#: miniF2F's header (Lean v4.24 port) without the heartbeat override.
DEFAULT_HEADER = "import Mathlib\n\nopen BigOperators Real Nat Topology Rat\n\n"

_SORRY_IN_STATEMENT = re.compile(r"(?<![\w.'])(?:sorry|admit)(?![\w'])")

FORMALIZED = "formalized"
ABSTAINED = "abstained"

NO_STATEMENT = "no Lean statement found in the model output"
NO_TEXT_AT_LIMIT = ("the model returned no text, stopped at its length limit: the prompt probably fills the "
                    "model's context (fewer few-shot exemplars: num_exemplars=0, or formalize.num_exemplars=0 in "
                    "proofforge-synth; or a model with a longer context)")


class ItemError(ValueError):
    """An input item is malformed; the message names the item."""


class Retriever(Protocol):
    """Anything that returns related declarations for an informal statement."""

    def search(self, query: str, k: int = ...) -> list[Declaration]: ...


@dataclass
class FormalizationItem:
    """One informal statement to formalise; ``header`` overrides the formaliser's default."""

    id: str
    informal: str
    header: str | None = None
    name: str | None = None

    @classmethod
    def coerce(cls, item: Any, index: int) -> FormalizationItem:
        """Accept a FormalizationItem, a plain string, or a dict in the input JSONL format."""
        if isinstance(item, FormalizationItem):
            return item
        if isinstance(item, str):
            if not item.strip():
                raise ItemError(f"item {index}: empty informal statement")
            return cls(id=f"item_{index}", informal=item)
        if isinstance(item, dict):
            text = item.get("informal_statement", item.get("informal"))
            if not isinstance(text, str) or not text.strip():
                raise ItemError(f"item {index} ({item.get('id', item.get('name', '?'))}): "
                                "needs a non-empty string field 'informal_statement'")
            ident = item.get("id", item.get("name", f"item_{index}"))
            header = item.get("header")
            if header is not None and not isinstance(header, str):
                raise ItemError(f"item {index} ({ident}): 'header' must be a string")
            return cls(id=str(ident), informal=text, header=header, name=item.get("name"))
        raise ItemError(f"item {index}: expected a string or a JSON object, got {type(item).__name__}")


@dataclass
class CandidateStatement:
    """One distinct statement the model wrote (``statement`` None: outputs with no statement in them),
    with the sample indices that produced it and the evidence gathered on it."""

    statement: str | None
    samples: list[int]
    raw: str = ""
    typechecks: bool = False
    verdict_status: str = ""
    error: str = ""
    back_translation: str = ""
    judge_label: str = ""
    judge_score: float = 0.0
    judge_raw: str = ""
    judge_parsed: bool = True

    def accepted(self, threshold: float) -> bool:
        return self.typechecks and self.judge_label == FAITHFUL and self.judge_score >= threshold


@dataclass
class FormalizationResult:
    """The answer for one informal statement: ``formalized`` with the chosen statement and its
    back-translation and judgement, or ``abstained`` with the reason; candidates are the evidence."""

    id: str
    informal: str
    status: str
    statement: str | None = None
    header: str = ""
    back_translation: str = ""
    judge_label: str = ""
    judge_score: float = 0.0
    reason: str = ""
    candidates: list[CandidateStatement] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)
    n_samples: int = 0

    @property
    def formalized(self) -> bool:
        return self.status == FORMALIZED

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FormalizationResult:
        data = dict(data)
        data["candidates"] = [CandidateStatement(**c) for c in data.get("candidates", [])]
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class Formalizer:
    """Compose a generator (translation, back-translation), a judge generator and a verifier.

    ``exemplars``: few-shot exemplars (a list, or a JSONL path; default the packaged handful).
    ``retriever`` (optional): its top ``retrieve_k`` declarations go into the translation prompt.
    """

    def __init__(
        self,
        generator: Generator,
        verifier: Verifier,
        *,
        judge_generator: Generator | None = None,
        n: int = 8,
        threshold: float = 0.5,
        header: str = DEFAULT_HEADER,
        retriever: Retriever | None = None,
        retrieve_k: int = 5,
        exemplars: Sequence[Exemplar] | str | Path | None = DEFAULT_EXEMPLARS,
        sampling: SamplingParams | None = None,
        backtranslate_sampling: SamplingParams | None = None,
        judge_sampling: SamplingParams | None = None,
        templates: dict[str, str] | None = None,
    ) -> None:
        if n < 1:
            raise ValueError(f"Formalizer: n must be >= 1, got {n}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"Formalizer: threshold must be in [0, 1], got {threshold}")
        self.generator = generator
        self.verifier = verifier
        self.judge_generator = judge_generator or generator
        self.n = n
        self.threshold = threshold
        self.header = header
        self.retriever = retriever
        self.retrieve_k = retrieve_k
        if exemplars is None or isinstance(exemplars, (str, Path)):
            self.exemplars = load_exemplars(exemplars)
        else:
            self.exemplars = list(exemplars)
        base = sampling or SamplingParams(temperature=0.99, max_tokens=512)
        self.sampling = dataclasses.replace(base, n=n)
        # Herald: back-translation at temperature 0.1, the judge near-greedy.
        self.backtranslate_sampling = backtranslate_sampling or SamplingParams(temperature=0.1, max_tokens=256)
        self.judge_sampling = judge_sampling or SamplingParams(temperature=0.0, max_tokens=128)
        self.templates = {"translate": "translate", "backtranslate": "backtranslate", "judge": "judge",
                          **(templates or {})}

    # ------------------------------------------------------------------ stages
    def _prompt(self, item: FormalizationItem, header: str) -> tuple[str, list[str]]:
        related: list[Declaration] = []
        if self.retriever is not None:
            related = list(self.retriever.search(item.informal, k=self.retrieve_k))
        prompt = translation_prompt(
            item.informal,
            name=lean_identifier(item.name or item.id),
            header=header,
            exemplars=self.exemplars,
            related=related,
            template=self.templates["translate"],
        )
        return prompt, [d.name for d in related]

    @staticmethod
    def _group(texts: Sequence[str], name: str, finish_reasons: Sequence[str] = ()) -> list[CandidateStatement]:
        """Distinct statements in sample order; a repeated statement is verified and judged once.

        Samples with no statement share one candidate (``statement`` None) whose ``error`` says why;
        when every one of them is empty and was cut at the length limit, the prompt most likely
        filled the model's context, and the error says so rather than blaming the model's text.
        """
        by_stmt: dict[str | None, CandidateStatement] = {}
        for i, raw in enumerate(texts):
            stmt = extract_statement(raw, name=name)
            if stmt is not None:
                stmt = rename_theorem(stmt, name)
            if stmt in by_stmt:
                by_stmt[stmt].samples.append(i)
            else:
                by_stmt[stmt] = CandidateStatement(statement=stmt, samples=[i], raw=raw)
        none = by_stmt.get(None)
        if none is not None:
            reasons = list(finish_reasons)
            empty_at_limit = len(reasons) == len(texts) and all(
                not texts[i].strip() and reasons[i] == "length" for i in none.samples
            )
            none.error = NO_TEXT_AT_LIMIT if empty_at_limit else NO_STATEMENT
        return list(by_stmt.values())

    async def aformalize(self, items: Iterable[Any]) -> list[FormalizationResult]:
        """Formalise a batch; one generate call per stage and one verify call for all candidates."""
        batch = [FormalizationItem.coerce(x, i) for i, x in enumerate(items)]
        if not batch:
            return []
        headers = [x.header if x.header is not None else self.header for x in batch]
        prompts, retrieved = zip(*(self._prompt(x, h) for x, h in zip(batch, headers, strict=True)),
                                 strict=True)
        outputs = await self.generator.agenerate(list(prompts), self.sampling)
        groups = [
            self._group([c.text for c in outs], lean_identifier(x.name or x.id), [c.finish_reason for c in outs])
            for x, outs in zip(batch, outputs, strict=True)
        ]

        # Type-check every distinct statement of the batch in one verifier call.
        to_check: list[CandidateStatement] = []
        candidates = []
        for x, h, group in zip(batch, headers, groups, strict=True):
            for cs in group:
                if cs.statement is None:
                    cs.error = cs.error or NO_STATEMENT
                    continue
                if _SORRY_IN_STATEMENT.search(cs.statement):
                    # `theorem t : (sorry : Prop)` type-checks with only the sorry warning: not a statement
                    cs.error = "the statement itself contains sorry/admit"
                    continue
                to_check.append(cs)
                candidates.append(statement_candidate(x.id, h, cs.statement, samples=cs.samples))
        verdicts = await self.verifier.verify(candidates) if candidates else []
        if len(verdicts) != len(candidates):
            raise RuntimeError(f"verifier returned {len(verdicts)} verdicts for {len(candidates)} candidates")
        for cs, v in zip(to_check, verdicts, strict=True):
            cs.typechecks = typechecks(v)
            cs.verdict_status = v.status
            cs.error = "" if cs.typechecks else first_error(v)

        # Back-translate the survivors, then judge them against the original.
        survivors = [(x, cs) for x, group in zip(batch, groups, strict=True) for cs in group if cs.typechecks]
        if survivors:
            bt = await self.generator.agenerate(
                [backtranslation_prompt(cs.statement or "", template=self.templates["backtranslate"])
                 for _, cs in survivors],
                self.backtranslate_sampling,
            )
            for (_, cs), outs in zip(survivors, bt, strict=True):
                cs.back_translation = clean_backtranslation(outs[0].text)
            verdict_texts = await self.judge_generator.agenerate(
                [judge_prompt(x.informal, cs.back_translation, template=self.templates["judge"])
                 for x, cs in survivors],
                self.judge_sampling,
            )
            for (_, cs), outs in zip(survivors, verdict_texts, strict=True):
                if not cs.back_translation:
                    j = parse_judgement("")  # nothing to compare: unfaithful
                    j.raw = outs[0].text
                else:
                    j = parse_judgement(outs[0].text)
                cs.judge_label, cs.judge_score, cs.judge_raw, cs.judge_parsed = j.label, j.score, j.raw, j.parsed

        return [
            self._decide(x, h, group, names)
            for x, h, group, names in zip(batch, headers, groups, retrieved, strict=True)
        ]

    def _decide(
        self, item: FormalizationItem, header: str, group: list[CandidateStatement], retrieved: list[str]
    ) -> FormalizationResult:
        base = FormalizationResult(
            id=item.id, informal=item.informal, status=ABSTAINED, header=header,
            candidates=group, retrieved=list(retrieved), n_samples=self.n,
        )
        checked = [c for c in group if c.typechecks]
        if not checked:
            errs = [c.error for c in group if c.error]
            base.reason = (f"cannot faithfully formalize: none of {self.n} samples type-checks"
                           + (f" (first error: {errs[0]})" if errs else ""))
            return base
        accepted = [c for c in checked if c.accepted(self.threshold)]
        if not accepted:
            top = max(checked, key=lambda c: c.judge_score)
            base.reason = (f"cannot faithfully formalize: {len(checked)} statement(s) type-check but none is "
                           f"judged faithful at >= {self.threshold} (best: {top.judge_label or 'unjudged'} "
                           f"{top.judge_score:.2f})")
            return base
        # Highest judge score; ties go to the statement sampled most often (self-consistency), then earliest.
        best = max(accepted, key=lambda c: (c.judge_score, len(c.samples), -c.samples[0]))
        base.status = FORMALIZED
        base.statement = best.statement
        base.back_translation = best.back_translation
        base.judge_label = best.judge_label
        base.judge_score = best.judge_score
        base.reason = (f"judged {best.judge_label} ({best.judge_score:.2f}); "
                       f"{len(checked)}/{len(group)} distinct statements type-check")
        return base

    def formalize(self, items: Iterable[Any]) -> list[FormalizationResult]:
        """Synchronous :meth:`aformalize` (do not call from inside a running event loop)."""
        return asyncio.run(self.aformalize(items))
