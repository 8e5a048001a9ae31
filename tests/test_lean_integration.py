"""The real toolchain, end to end: runs only when `lake` and a built REPL exist (skipped otherwise).

Uses Lean-core statements so either REPL works (lean_project's with Mathlib, or the
standalone core one, as ``mathlib: auto`` picks).
"""

from __future__ import annotations

import pytest

from prover.lean.pool import LeanPool, resolve_repl
from prover.lean.project import LeanMissingError
from prover.records import Candidate

pytestmark = pytest.mark.lean


def _repl() -> tuple[list[str], object]:
    try:
        return resolve_repl(None, "auto")
    except LeanMissingError as e:
        pytest.skip(f"needs a Lean toolchain and a built REPL: {e}")


SPIN = """def spin : Nat → Nat → Nat
  | 0, a => a
  | n + 1, a => spin n (a + 1)

set_option maxRecDepth 100000000 in
set_option maxHeartbeats 0 in
theorem slow : spin 200000000 0 = 200000000 := by decide
"""


async def test_real_lean_verdicts() -> None:
    argv, cwd = _repl()
    pool = LeanPool(argv, cwd, workers=2, timeout=60, header_timeout=1200)
    cands = [
        Candidate("triv", "theorem triv : 2 + 2 = 4 := rfl"),
        Candidate("sorried", "theorem sorried : 2 + 2 = 5 := by sorry"),
        Candidate("native", "theorem native : 10 < 20 := by native_decide"),
        Candidate("wrong", "theorem wrong : 2 + 2 = 5 := rfl"),
    ]
    try:
        vs = await pool.verify(cands)
    finally:
        await pool.aclose()
    assert vs[0].status == "proved", vs[0].reason
    assert vs[1].status == "failed" and "sorry" in vs[1].reason
    assert vs[2].status == "failed" and "ofReduceBool" in vs[2].reason
    assert vs[3].status == "failed" and vs[3].errors


async def test_real_lean_timeout_kills_and_the_pool_recovers() -> None:
    argv, cwd = _repl()
    pool = LeanPool(argv, cwd, workers=1, timeout=1.0, header_timeout=1200)
    try:
        (slow,) = await pool.verify([Candidate("slow", SPIN)])
        pool.timeout = 60
        (after,) = await pool.verify([Candidate("triv", "theorem triv : True := trivial")])
    finally:
        await pool.aclose()
    assert slow.status == "timeout", slow.reason
    assert after.status == "proved", after.reason


async def test_real_lean_agrees_with_the_acceptance_suite() -> None:
    """`proofforge-lean selftest` for real: every case gets its expected verdict (Mathlib ones skipped on core)."""
    from prover.lean import selftest
    from prover.lean.pool import resolve_repl_kind

    try:
        argv, cwd, core_only = resolve_repl_kind(None, "auto")
    except LeanMissingError as e:
        pytest.skip(f"needs a Lean toolchain and a built REPL: {e}")
    pool = LeanPool(argv, cwd, workers=2, timeout=120, header_timeout=1200, core_only=core_only)
    try:
        report = await selftest.run_cases(pool, timeout_case_seconds=5.0, backend="local")
    finally:
        await pool.aclose()
    assert report.ok, selftest.format_table(report)
