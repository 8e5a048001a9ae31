"""Verifier overhead and scaling, as ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/verifier_overhead.py [--n 300] [--max-workers 4] [--work-ms 20]

1. Per-candidate overhead of LeanPool (policy, header split, worker checkout, verdict)
   against the bare exchanges it needs — one body request plus one ``#print axioms``
   request — sent straight through a :class:`~prover.lean.repl.Repl` to the same
   scripted double. Target: <= 2 ms per candidate.
2. Throughput with 1..N workers when each answer costs ``--work-ms`` of (sleeping)
   "Lean" time, as a ratio to one worker.
3. With a real toolchain (``lake`` and a built REPL): header reuse (one warm worker)
   against re-importing the header for every proof (``max_uses=1``).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from prover.lean.double_pools import double_env, scripted_argv, scripted_verifier, write_rules
from prover.lean.header import split_header
from prover.lean.repl import Repl
from prover.records import Candidate

CODE = "import Mathlib\n\ntheorem t{i} : 1 + 1 = 2 := by norm_num"


ROUNDS = 5


async def bare_exchange(n: int, folder: str) -> float:
    """Seconds per (body + #print axioms) pair straight through one Repl (best of ROUNDS rounds)."""
    repl = Repl(scripted_argv(write_rules([{"match": "norm_num", "response": {}}], folder)), folder,
                env=double_env())
    async with repl:
        await repl.command("import Mathlib")
        for i in range(20):  # warm up
            await repl.command(split_header(CODE.format(i=i)).body, env=0)
        best = float("inf")
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            for i in range(n):
                r = await repl.command(split_header(CODE.format(i=i)).body, env=0)
                await repl.command(f"#print axioms t{i}", env=r.env)  # type: ignore[union-attr]
            best = min(best, (time.perf_counter() - t0) / n)
        return best


async def pool_sequential(n: int) -> float:
    """Seconds per candidate through LeanPool.verify, one candidate at a time, one warm worker (best round)."""
    pool = scripted_verifier([{"match": "norm_num", "response": {}}], workers=1)
    try:
        await pool.verify([Candidate("warm", CODE.format(i=0))])
        for i in range(20):
            await pool.verify([Candidate("p", CODE.format(i=i))])
        best = float("inf")
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            for i in range(n):
                (v,) = await pool.verify([Candidate("p", CODE.format(i=i))])
                assert v.proved, v.reason
            best = min(best, (time.perf_counter() - t0) / n)
        return best
    finally:
        await pool.aclose()


async def throughput(workers: int, n: int, work_ms: float) -> float:
    pool = scripted_verifier([{"match": "norm_num", "response": {}, "delay": work_ms / 1000}], workers=workers)
    try:
        await pool.verify([Candidate("warm", CODE.format(i=-k)) for k in range(workers)])  # start the workers
        t0 = time.perf_counter()
        vs = await pool.verify([Candidate("p", CODE.format(i=i)) for i in range(n)])
        assert all(v.proved for v in vs)
        return n / (time.perf_counter() - t0)
    finally:
        await pool.aclose()


async def real_header_reuse(k: int) -> None:
    from prover.lean.pool import LeanPool, resolve_repl
    from prover.lean.project import LeanMissingError

    try:
        argv, cwd = resolve_repl(None, "auto")
    except LeanMissingError as e:
        print(f"[3] header reuse vs re-import: skipped ({e})")
        return
    header = "import Mathlib\n" if "packages" in " ".join(argv) else ""
    cands = [Candidate("r", f"{header}theorem r{i} : {i} + 1 = {i + 1} := rfl") for i in range(k)]
    results = {}
    for label, max_uses in (("reuse", None), ("re-import", 1)):
        pool = LeanPool(argv, cwd, workers=1, max_uses=max_uses, timeout=300, header_timeout=1800)
        try:
            t0 = time.perf_counter()
            for c in cands:
                (v,) = await pool.verify([c])
                assert v.proved, v.reason
            results[label] = (time.perf_counter() - t0) / k
        finally:
            await pool.aclose()
    print(f"[3] real Lean ({'Mathlib' if header else 'core'} header), {k} proofs, 1 worker: "
          f"reuse {results['reuse'] * 1000:.0f} ms/proof, re-import {results['re-import'] * 1000:.0f} ms/proof, "
          f"speed-up {results['re-import'] / results['reuse']:.1f}x")


async def main_async(args: argparse.Namespace) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        bare = await bare_exchange(args.n, folder)
    pooled = await pool_sequential(args.n)
    over_ms = (pooled - bare) * 1000
    print(f"[1] {args.n} candidates x best of {ROUNDS} rounds, scripted double: bare body+axioms exchange {bare * 1000:.2f} ms, "
          f"LeanPool {pooled * 1000:.2f} ms/candidate -> overhead {over_ms:.2f} ms "
          f"({pooled / bare:.2f}x of bare; target overhead <= 2 ms: {'met' if over_ms <= 2 else 'NOT met'})")
    base = None
    for w in range(1, args.max_workers + 1):
        rate = await throughput(w, args.n, args.work_ms)
        base = base or rate
        print(f"[2] {w} worker(s), {args.work_ms:g} ms simulated Lean work: {rate:.0f} candidates/s "
              f"({rate / base:.2f}x of 1 worker)")
    await real_header_reuse(args.real_proofs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="candidates per round (overhead: best of 5 rounds)")
    ap.add_argument("--max-workers", type=int, default=4)
    ap.add_argument("--work-ms", type=float, default=20.0, help="simulated Lean time per answer")
    ap.add_argument("--real-proofs", type=int, default=10, help="proofs for the real-Lean comparison")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
