"""The verifier against Lean: an acceptance suite with the verdict each case must get at the pin.

Why: every number ProofForge reports rests on ``prover/lean``. Its fault and cheat
handling is tested against REPL doubles, but the first contact with a real Lean on a
user's machine must either agree with what we expect or stop loudly. :data:`CASES`
holds about thirty small candidates (Lean core and Mathlib) with the verdict each must
get from a real REPL at the pins in :mod:`prover.lean.pins`:

- honest proofs (``decide``, ``omega``, ``simp``, a helper lemma, a long ``calc``,
  ``norm_num``, ``nlinarith``...) must be ``proved``;
- ``sorry`` (tactic, term, in a ``have``, in a helper lemma, in a ``calc`` step,
  ``admit``), ``native_decide``, kernel errors (the REPL's own ``app_type_mismatch``
  tests), unsolved goals, an unknown identifier, a parse error must be ``failed``;
- a runaway ``decide`` must be ``timeout``; a declared axiom and other refused
  constructs must be ``rejected`` before Lean sees them.

``proofforge-lean selftest`` runs the suite on the configured pool and prints a
table; the entry points run :data:`SMOKE` (one proved, one sorry, one native_decide)
when their pool starts, through :func:`start_checks`, and stop with one sentence if
Lean disagrees. Mathlib cases are skipped, with the reason, on a Lean-core REPL.

Each case also carries the REPL reply Lean is expected to give for it (messages and
sorries, and what ``#print axioms`` lists). :func:`scripted_rules` turns those into
rules for the scripted REPL double, so the whole path (policy, header split, pool,
``#print axioms``, judge) runs in CI without Lean. Those replies are written from the
REPL's recorded tests at v4.24.0 (``test/app_type_mismatch*.in``,
``test/Mathlib/test/*.in`` in leanprover-community/repl) and Lean's message texts;
they are the expectation, not an observation: only a real toolchain can confirm a case.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.lean.project import LeanMissingError
from prover.lean.verifier import Verifier
from prover.records import Candidate, Verdict
from prover.settings import LeanSettings, settings_from

#: The header of the Mathlib cases (miniF2F's, as the eval sends it).
MATHLIB_HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n\n"

#: Seconds the timeout case is given (a real REPL needs minutes for it).
TIMEOUT_CASE_SECONDS = 5.0

#: Why a backend cannot run the suite.
REPLAY_NOTE = (
    "the replay double answers only the REPL's recorded transcripts, not the suite's cases; "
    "run the selftest with lean=scripted (its rules include the suite) or lean=local"
)


class SelftestFailed(LeanMissingError):
    """Lean disagreed with the verifier on a self-check case: the toolchain cannot be trusted as set up.

    A :class:`LeanMissingError` so every entry point stops with its one sentence, as for a missing Lean.
    """


def _pos(line: int, col: int) -> dict[str, int]:
    return {"line": line, "column": col}


def _msg(severity: str, data: str, line: int = 1, col: int = 0) -> dict[str, Any]:
    return {"severity": severity, "pos": _pos(line, col), "endPos": _pos(line, col + 7), "data": data}


def _sorry_reply(*where: tuple[int, int, str]) -> dict[str, Any]:
    """The REPL's reply to a declaration with ``sorry`` at each (line, column, goal)."""
    return {
        "sorries": [{"pos": _pos(ln, c), "endPos": _pos(ln, c + 5), "goal": g} for ln, c, g in where],
        "messages": [_msg("warning", "declaration uses 'sorry'")],
    }


def _error_reply(text: str, line: int = 1, col: int = 0) -> dict[str, Any]:
    return {"messages": [_msg("error", text, line, col)]}


@dataclass(frozen=True)
class Case:
    """One acceptance case: a candidate and the verdict a real REPL at the pin must give it.

    ``reason`` must occur (case-insensitively) in the verdict's reason, so a case cannot pass
    by failing for another cause. ``lean`` is the body reply Lean is expected to give
    (scripted double); ``axioms`` what ``#print axioms`` is expected to list (None: the
    standard three); ``delay`` makes the double hang (the timeout case).
    """

    name: str
    code: str
    expected: str
    needs: str = "core"  # "core" or "mathlib"
    what: str = ""
    reason: str = ""
    statement: str | None = None
    lean: Mapping[str, Any] | None = field(default_factory=dict)
    axioms: Sequence[str] | None = None
    delay: float = 0.0
    smoke: bool = False

    def candidate(self) -> Candidate:
        code = (MATHLIB_HEADER if self.needs == "mathlib" else "") + self.code
        return Candidate(problem=self.name, code=code, origin={"selftest": self.name}, statement=self.statement)


SPIN = """def selftest_spin : Nat → Nat → Nat
  | 0, a => a
  | n + 1, a => selftest_spin n (a + 1)

set_option maxRecDepth 100000000 in
set_option maxHeartbeats 0 in
theorem selftest_timeout : selftest_spin 200000000 0 = 200000000 := by decide
"""

CASES: tuple[Case, ...] = (
    # ---------------------------------------------------------------- honest, Lean core
    Case("selftest_decide", "theorem selftest_decide : 2 + 2 = 4 := by decide", "proved",
         what="decide", smoke=True, axioms=()),
    Case("selftest_rfl", "theorem selftest_rfl : (12 : Nat) * 12 = 144 := rfl", "proved", what="term rfl", axioms=()),
    Case("selftest_omega", "theorem selftest_omega (a b : Nat) (h : a < b) : a + 1 ≤ b := by omega", "proved",
         what="omega"),
    Case("selftest_simp", "theorem selftest_simp (xs : List Nat) : (xs ++ []).length = xs.length := by simp",
         "proved", what="simp"),
    Case("selftest_induction",
         "theorem selftest_induction (n : Nat) : 0 + n = n := by\n  induction n with\n  | zero => rfl\n"
         "  | succ k ih => omega", "proved", what="structural induction"),
    Case("selftest_helper",
         "theorem selftest_helper_aux (n : Nat) : n + 0 = n := rfl\n\n"
         "theorem selftest_helper (a b : Nat) : (a + 0) + (b + 0) = a + b := by\n"
         "  rw [selftest_helper_aux, selftest_helper_aux]", "proved", what="a helper lemma"),
    Case("selftest_calc",
         "theorem selftest_calc (a b c : Nat) (h₁ : a = b + 1) (h₂ : b = c + 1) : a = c + 2 :=\n"
         "  calc a = b + 1 := h₁\n    _ = (c + 1) + 1 := by rw [h₂]\n"
         "    _ = c + (1 + 1) := Nat.add_assoc c 1 1\n    _ = c + 2 := rfl", "proved", what="a long calc"),
    Case("selftest_anonymous_constructor",
         "theorem selftest_anonymous_constructor (p q : Prop) (hp : p) (hq : q) : p ∧ q := ⟨hp, hq⟩",
         "proved", what="term-mode proof", axioms=()),
    # ---------------------------------------------------------------- sorry, in several places
    Case("selftest_sorry", "theorem selftest_sorry : 2 + 2 = 5 := by sorry", "failed", what="sorry tactic",
         reason="sorry", smoke=True, lean=_sorry_reply((1, 41, "⊢ 2 + 2 = 5")), axioms=("sorryAx",)),
    Case("selftest_sorry_term", "theorem selftest_sorry_term (n : Nat) : n * 0 = 0 := sorry", "failed",
         what="sorry term", reason="sorry", lean=_sorry_reply((1, 50, "n : Nat\n⊢ n * 0 = 0")), axioms=("sorryAx",)),
    Case("selftest_sorry_have",
         "theorem selftest_sorry_have (n : Nat) : n + 0 = n := by\n  have h : n = n := sorry\n  simp",
         "failed", what="sorry in a have", reason="sorry", lean=_sorry_reply((2, 20, "n : Nat\n⊢ n = n")),
         axioms=("propext", "sorryAx")),
    Case("selftest_sorry_helper",
         "theorem selftest_sorry_helper_aux : (7 : Nat) ∣ 49 := sorry\n\n"
         "theorem selftest_sorry_helper : (7 : Nat) ∣ 49 := selftest_sorry_helper_aux",
         "failed", what="sorry in a helper lemma", reason="sorry", lean=_sorry_reply((1, 52, "⊢ 7 ∣ 49")),
         axioms=("sorryAx",)),
    Case("selftest_sorry_calc",
         "theorem selftest_sorry_calc (a b : Nat) (h : a = b) : a + 1 = b + 1 :=\n"
         "  calc a + 1 = b + 1 := by rw [h]\n    _ = b + 1 := sorry", "failed", what="sorry in a calc step",
         reason="sorry", lean=_sorry_reply((3, 18, "a b : Nat\nh : a = b\n⊢ b + 1 = b + 1")), axioms=("sorryAx",)),
    Case("selftest_admit",
         "theorem selftest_admit (p : Prop) (hp : p) : p ∧ True := by\n  constructor\n  · admit\n  · trivial",
         "failed", what="admit", reason="sorry", lean=_sorry_reply((3, 4, "case left\np : Prop\nhp : p\n⊢ p")),
         axioms=("sorryAx",)),
    # ---------------------------------------------------------------- other ways to fail
    Case("selftest_native_decide", "theorem selftest_native_decide : 10 < 20 := by native_decide", "failed",
         what="native_decide", reason="native_decide trusts the compiler", smoke=True,
         axioms=("Lean.ofReduceBool",)),
    Case("selftest_kernel_mismatch",
         "theorem selftest_kernel_mismatch : 1 = 0 := by\n  cases 1\n  rfl\n  have: true := by\n"
         "    apply ?succ\n    trivial", "failed", what="kernel error (repl test app_type_mismatch2)",
         reason="(kernel)",
         lean=_error_reply("(kernel) application type mismatch\n  @Eq.ndrec Nat (n✝ + 1) (fun x => x = 0)\n"
                           "    (have this := of_decide_eq_true (id (Eq.refl true));\n"
                           "    of_decide_eq_true (id (Eq.refl true)))\nargument has type\n  true = true\n"
                           "but function has type\n  (fun x => x = 0) (n✝ + 1) → ∀ {b : Nat}, n✝ + 1 = b → "
                           "(fun x => x = 0) b")),
    Case("selftest_kernel_mvars",
         "theorem selftest_kernel_mvars : 1 = 0 := by\n  cases 1\n  rfl\n  apply ?succ", "failed",
         what="kernel error (repl test app_type_mismatch)", reason="(kernel)",
         lean=_error_reply("(kernel) declaration has metavariables 'selftest_kernel_mvars'")),
    Case("selftest_unsolved",
         "theorem selftest_unsolved (p q : Prop) (hp : p) : p ∧ q := by\n  constructor\n  exact hp", "failed",
         what="unsolved goals", reason="unsolved goals",
         lean=_error_reply("unsolved goals\ncase right\np q : Prop\nhp : p\n⊢ q", 1, 58)),
    Case("selftest_unknown_identifier", "theorem selftest_unknown_identifier : 1 = 1 := selftest_no_such_lemma",
         "failed", what="unknown identifier", reason="unknown identifier",
         lean=_error_reply("Unknown identifier `selftest_no_such_lemma`", 1, 47)),
    Case("selftest_false_decide", "theorem selftest_false_decide : 2 + 2 = 5 := by decide", "failed",
         what="a false statement", reason="decide",
         lean=_error_reply("Tactic `decide` proved that the proposition\n  2 + 2 = 5\nis false", 1, 48)),
    Case("selftest_parse_error", "theorem selftest_parse_error : True := by\n  exact (trivial", "failed",
         what="parse error", reason="expected",
         lean=_error_reply("unexpected end of input; expected ')', ',' or ':'", 2, 16)),
    Case("selftest_timeout", SPIN, "timeout", what="a runaway decide (heartbeats off)", lean={}, delay=600.0),
    # ---------------------------------------------------------------- refused before Lean
    Case("selftest_axiom", "axiom selftest_ax : False\n\ntheorem selftest_axiom : 1 = 2 := selftest_ax.elim",
         "rejected", what="a declared axiom", reason="axiom", lean=None),
    Case("selftest_eval", "theorem selftest_eval : True := trivial\n\n#eval IO.println \"side effect\"",
         "rejected", what="#eval", reason="refused", lean=None),
    Case("selftest_skip_kernel",
         "set_option debug.skipKernelTC true in\ntheorem selftest_skip_kernel : 1 = 0 := by decide", "rejected",
         what="kernel check switched off", reason="refused", lean=None),
    Case("selftest_changed_statement", "theorem selftest_changed_statement : 2 + 2 = 4 := by decide", "rejected",
         what="statement changed", reason="unchanged", statement="theorem selftest_changed_statement : 2 + 3 = 5 :=",
         lean=None),
    # ---------------------------------------------------------------- Mathlib
    Case("selftest_norm_num", "theorem selftest_norm_num : (2 : ℝ) + 2 = 4 := by norm_num", "proved",
         needs="mathlib", what="norm_num"),
    Case("selftest_nlinarith",
         "theorem selftest_nlinarith (a b : ℝ) : 2 * a * b ≤ a ^ 2 + b ^ 2 := by\n  nlinarith [sq_nonneg (a - b)]",
         "proved", needs="mathlib", what="nlinarith"),
    Case("selftest_linarith", "theorem selftest_linarith (x : ℝ) (h : 2 * x + 1 = 7) : x = 3 := by linarith",
         "proved", needs="mathlib", what="linarith"),
    Case("selftest_finset_sum",
         "theorem selftest_finset_sum : ∑ k ∈ Finset.range 5, k = 10 := by\n  simp [Finset.sum_range_succ]",
         "proved", needs="mathlib", what="a miniF2F-style sum"),
    Case("selftest_mathlib_sorry", "theorem selftest_mathlib_sorry (x : ℝ) (hx : 0 < x) : 0 < x ^ 3 + x := by sorry",
         "failed", needs="mathlib", what="sorry (Mathlib)", reason="sorry",
         lean=_sorry_reply((1, 73, "x : ℝ\nhx : 0 < x\n⊢ 0 < x ^ 3 + x")), axioms=("sorryAx",)),
    Case("selftest_nlinarith_fails", "theorem selftest_nlinarith_fails (a b : ℝ) : a * b ≤ a ^ 2 := by nlinarith",
         "failed", needs="mathlib", what="nlinarith on a false goal", reason="linarith failed",
         lean=_error_reply("linarith failed to find a contradiction\ncase a\na b : ℝ\na✝ : a * b > a ^ 2\n⊢ False",
                           1, 62)),
)

#: The three cases the entry points run when their pool starts.
SMOKE: tuple[Case, ...] = tuple(c for c in CASES if c.smoke)


def case(name: str) -> Case:
    for c in CASES:
        if c.name == name:
            return c
    raise KeyError(f"no selftest case {name!r}")


# ---------------------------------------------------------------------------- doubles


def scripted_rules(cases: Iterable[Case] = CASES) -> list[dict[str, Any]]:
    """Scripted-double rules answering each case as Lean is expected to (see the module docstring).

    Rules match only the cases' own theorem names (``selftest_*``), so they can be put before
    any other rules without changing how those answer.
    """
    rules: list[dict[str, Any]] = []
    for c in cases:
        if c.lean is None:
            continue  # refused before Lean
        name = re.escape(c.name)
        if c.axioms is not None:
            listed = (f"'{c.name}' depends on axioms: [{', '.join(c.axioms)}]" if c.axioms
                      else f"'{c.name}' does not depend on any axioms")
            rules.append({"match": rf"#print\s+axioms\s+{name}\s*$", "response": {"messages": [_msg("info", listed)]}})
        rule: dict[str, Any] = {"match": rf"(?m)^theorem\s+{name}(?![\w'.])", "response": json.loads(json.dumps(c.lean))}
        if c.delay:
            rule["delay"] = c.delay
        rules.append(rule)
    return rules


# ---------------------------------------------------------------------------- running


@dataclass
class CaseResult:
    """One case's row in the table: ``got`` is the verdict's status, or ``skipped``."""

    name: str
    expected: str
    got: str
    seconds: float = 0.0
    needs: str = "core"
    reason: str = ""  # the verdict's reason (or why the case was skipped)
    ok: bool = False

    @property
    def skipped(self) -> bool:
        return self.got == "skipped"


@dataclass
class SelftestReport:
    results: list[CaseResult]
    backend: str = ""

    @property
    def ok(self) -> bool:
        return all(r.ok or r.skipped for r in self.results)

    @property
    def mismatches(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok and not r.skipped]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "backend": self.backend,
            "passed": sum(r.ok for r in self.results),
            "skipped": sum(r.skipped for r in self.results),
            "mismatched": len(self.mismatches),
            "cases": [asdict(r) for r in self.results],
        }


def matches(c: Case, v: Verdict) -> bool:
    return v.status == c.expected and c.reason.lower() in (v.reason or "").lower()


def mathlib_skip_reason(verifier: Verifier) -> str | None:
    """Why Mathlib cases cannot run on ``verifier`` (None: they can)."""
    if getattr(verifier, "core_only", False):
        return "only the Lean-core REPL is built (proofforge-lean setup --mathlib builds Mathlib's)"
    return None


@contextlib.contextmanager
def _timeout(verifier: Verifier, seconds: float) -> Iterator[bool]:
    """Lower the verifier's per-candidate timeout for one case; yields False if it has none to lower."""
    if not isinstance(getattr(verifier, "timeout", None), (int, float)):
        yield False
        return
    old = verifier.timeout  # type: ignore[attr-defined]
    verifier.timeout = min(float(old), seconds)  # type: ignore[attr-defined]
    try:
        yield True
    finally:
        verifier.timeout = old  # type: ignore[attr-defined]


async def run_cases(
    verifier: Verifier,
    cases: Sequence[Case] = CASES,
    *,
    timeout_case_seconds: float = TIMEOUT_CASE_SECONDS,
    backend: str = "",
) -> SelftestReport:
    """Verify every case on ``verifier`` and compare with the expected verdicts.

    All cases but the timeout ones go in one batch (the pool runs them concurrently); timeout
    cases run last, one at a time, under ``timeout_case_seconds``.
    """
    no_mathlib = mathlib_skip_reason(verifier)
    results: dict[str, CaseResult] = {}
    batch: list[Case] = []
    slow: list[Case] = []
    for c in cases:
        if c.needs == "mathlib" and no_mathlib:
            results[c.name] = CaseResult(c.name, c.expected, "skipped", needs=c.needs, reason=no_mathlib)
        else:
            (slow if c.expected == "timeout" else batch).append(c)
    if batch:
        verdicts = await verifier.verify([c.candidate() for c in batch])
        for c, v in zip(batch, verdicts, strict=True):
            results[c.name] = CaseResult(c.name, c.expected, v.status, v.seconds, c.needs, v.reason, matches(c, v))
    for c in slow:
        with _timeout(verifier, timeout_case_seconds) as lowered:
            if not lowered:
                results[c.name] = CaseResult(c.name, c.expected, "skipped", needs=c.needs,
                                             reason="this verifier's timeout cannot be lowered for one case")
                continue
            t0 = time.monotonic()
            (v,) = await verifier.verify([c.candidate()])
        results[c.name] = CaseResult(c.name, c.expected, v.status, v.seconds or time.monotonic() - t0, c.needs,
                                     v.reason, matches(c, v))
    return SelftestReport([results[c.name] for c in cases], backend=backend)


def format_table(report: SelftestReport) -> str:
    """The report as a plain-text table (case, needs, expected, got, seconds, note)."""
    rows = [("case", "needs", "expected", "got", "seconds", "note")]
    for r in report.results:
        note = "" if r.ok else ("skipped: " if r.skipped else "MISMATCH: ") + (r.reason or "")[:100]
        rows.append((r.name, r.needs, r.expected, r.got, f"{r.seconds:.2f}", note.replace("\n", " ")))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True)) + "  " + row[5]
             for row in rows]
    lines.insert(1, "-" * (sum(widths) + 2 * 5 + 4))
    d = report.to_dict()
    lines.append(f"{d['passed']} as expected, {d['mismatched']} mismatched, {d['skipped']} skipped")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- entry points


def smoke_sentence(report: SelftestReport) -> str:
    bad = report.mismatches[0]
    more = f" (and {len(report.mismatches) - 1} more)" if len(report.mismatches) > 1 else ""
    return (f"Lean disagrees with the verifier's self-check: {bad.name} should be {bad.expected} but is "
            f"{bad.got} ({(bad.reason or 'no reason').splitlines()[0][:200]}){more}; nothing was judged. Run "
            "`proofforge-lean doctor` and `proofforge-lean selftest` to see why, or set lean.selftest=false "
            "to skip this check.")


async def start_checks(
    verifier: Verifier,
    lean_cfg: LeanSettings | Mapping[str, Any] | None,
    *,
    headers: Iterable[str | None] = (),
    injected: bool = False,
) -> dict[str, Any]:
    """Before an entry point judges anything: the Mathlib check, then the smoke self-check.

    ``headers`` are the problems' headers: one that imports Mathlib on a Lean-core-only pool
    raises :class:`~prover.lean.pool.MathlibMissingError` naming the fix. The smoke runs
    unless ``lean.selftest`` is false, the verifier was passed in by the caller, or the
    backend is the replay double; a disagreement raises :class:`SelftestFailed` (one
    sentence). Returns what the run manifest records.
    """
    from prover.lean.pool import require_mathlib_for

    start = getattr(verifier, "start", None)
    if callable(start):  # a Ray pool learns from its actors whether they run the Lean-core REPL
        await start()
    require_mathlib_for(verifier, headers)
    lean = settings_from(LeanSettings, lean_cfg, "lean")
    backend = lean.backend
    if injected:
        return {"smoke": "skipped", "why": "verifier passed in by the caller"}
    if not lean.selftest:
        return {"smoke": "skipped", "why": "lean.selftest=false"}
    if backend == "replay":
        return {"smoke": "skipped", "why": REPLAY_NOTE}
    report = await run_cases(verifier, SMOKE, backend=backend)
    record = {"smoke": "passed" if report.ok else "failed", **report.to_dict()}
    if backend == "scripted":
        record["note"] = "scripted REPL double: these verdicts are not real Lean"
    if not report.ok:
        raise SelftestFailed(smoke_sentence(report))
    return record


def record_in_manifest(run_dir: str | Path, record: Mapping[str, Any]) -> None:
    """Add this start's self-check to the run folder's manifest (a list: one entry per start, resumes included).

    Kept outside the fingerprint that :func:`prover.config.check_run_manifest` compares, so a
    resume is never refused because a self-check took a different number of seconds.
    """
    from prover.paths import MANIFEST

    path = Path(run_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except json.JSONDecodeError:
        return  # check_run_manifest reports an unreadable manifest; do not overwrite it
    if not isinstance(data, dict):
        return
    runs = data.get("selftest") if isinstance(data.get("selftest"), list) else []
    data["selftest"] = [*runs, {**record, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}]
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
