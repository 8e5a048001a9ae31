"""Eval-loop overhead: problems per minute of ``run_eval`` against the verifier alone on the same candidates.

Both sides use a scripted generator (no model time) and a scripted-verifier pool (the
real LeanPool over the scripted REPL double), so the difference is what the eval adds:
run setup, strategy bookkeeping, prompt building and extraction, Outcome JSONL writes,
progress bar, summary and its table. Baseline ("verifier only"): the same candidates,
batched per problem exactly as the strategy sent them, ``workers`` batches in flight,
through ``verifier.verify`` with nothing else. Each round builds a fresh pool on each
side and starts its REPL processes (header env included) before the clock starts, and
closes it after the clock stops; rounds alternate the two sides so machine noise hits
both alike. Wall and CPU time of this process are reported per round, with medians and
bests. Target: the loop's overhead <= 5% of the verifier-only time. The double answers in
well under a millisecond, so the ratio is a worst case; the last line puts the loop's
overhead against a real-Lean proof time from the kimina-lean-server technical report (arXiv 2504.21230), Table 2.

    python benchmarks/eval_throughput.py [--problems 200] [--samples 4] [--workers 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.data import load_dataset  # noqa: E402
from evals.run import arun_eval  # noqa: E402
from evals.summary import load_outcomes  # noqa: E402
from prover.config import compose  # noqa: E402
from prover.lean.double_pools import scripted_verifier  # noqa: E402
from prover.lean.pool import LeanPool  # noqa: E402
from prover.llm.scripted import ScriptedGenerator  # noqa: E402
from prover.records import Candidate, Outcome, Problem, write_jsonl  # noqa: E402

RULES = [{"match": "omega", "response": {}}]  # "omega" proofs pass; everything else: unsolved goals
#: A typical real-Lean check of one proof, for scale: the only seconds-per-proof figure in the REPL reference.
LEAN_SECONDS_PER_PROOF = 3.65
LEAN_SOURCE = ("kimina-lean-server technical report (arXiv 2504.21230) Table 2, 3.65 s/proof with the header "
               "cache, 100 samples on a 10-CPU M2")


def script(text: str, sample: int, call: int) -> str:
    """Distinct candidates per sample (the strategies skip re-verifying identical code)."""
    tactic = "omega" if sample % 2 == 0 else "simp"
    return f"  {tactic} -- sample {sample}\n```"


def make_problems(path: Path, count: int) -> Path:
    base = load_dataset("demo").problems
    problems = []
    for i in range(count):
        p = base[i % len(base)]
        name = f"{p.name}_{i}"
        stmt = p.formal_statement.replace(f"theorem {p.name} ", f"theorem {name} ", 1)
        problems.append(Problem(name, stmt, header="", split="demo", informal_statement=p.informal_statement,
                                source=p.source))
    write_jsonl(path, problems)
    return path


@contextlib.contextmanager
def quiet():
    """The run's progress bar and summary table are still rendered, into /dev/null, not shown."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


async def warm_pool(workers: int, warm: list[Candidate]) -> LeanPool:
    """A fresh pool whose REPL processes are started, header env built, before the clock starts."""
    verifier = scripted_verifier(RULES, workers=workers)
    if warm:
        await verifier.verify(warm)
    return verifier


async def eval_once(
    data: Path, out: Path, samples: int, workers: int, warm: list[Candidate]
) -> tuple[float, float, list[Outcome]]:
    cfg = compose("eval", ["prover=wholeproof", "dataset.name=bench", f"dataset.path={data}",
                           f"prover.budget.samples={samples}", f"out_dir={out}", "report=false",
                           f"concurrency={workers}"])
    verifier = await warm_pool(workers, warm)
    try:
        with quiet():
            t0, c0 = time.perf_counter(), time.process_time()
            await arun_eval(cfg, generator=ScriptedGenerator(script), verifier=verifier, progress=True,
                            close_verifier=False)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        await verifier.aclose()
    return seconds, cpu, load_outcomes(out)


async def verifier_once(batches: list[list[Candidate]], workers: int, warm: list[Candidate]) -> tuple[float, float]:
    verifier = await warm_pool(workers, warm)
    sem = asyncio.Semaphore(workers)  # as the eval's concurrency=workers problems in flight

    async def one(batch: list[Candidate]) -> None:
        async with sem:
            await verifier.verify(batch)

    try:
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(b) for b in batches))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        await verifier.aclose()
    return seconds, cpu


def sent_batches(outcomes: list[Outcome]) -> list[list[Candidate]]:
    """What the strategy sent to Lean per problem (its cache skips repeats; here every sample is distinct)."""
    batches = [o.candidates for o in outcomes]
    sent = sum(int(o.meta.get("lean_calls", 0)) for o in outcomes)
    if sent != sum(len(b) for b in batches):
        raise SystemExit(f"the strategy sent {sent} candidates to Lean, not all {sum(len(b) for b in batches)}: "
                         "the baseline would verify more than the eval did")
    return batches


def codes(outcomes: list[Outcome]) -> dict[str, list[str]]:
    return {o.problem.name: [c.code for c in o.candidates] for o in outcomes}


def fmt(xs: list[float]) -> str:
    return " ".join(f"{x:.3f}" for x in xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", type=int, default=200)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    n, k = args.problems, args.samples
    evals, verifies, eval_cpu, verify_cpu = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="proofforge-bench-") as tmp:
        data = make_problems(Path(tmp) / "problems.jsonl", n)
        # untimed warm-up (imports, caches); its outcomes give the baseline's candidates and the pools' warm batch
        _, _, warm_outcomes = asyncio.run(eval_once(data, Path(tmp) / "warm", k, args.workers, []))
        batches = sent_batches(warm_outcomes)
        warm = [c for b in batches[: args.workers] for c in b]  # enough to start every worker
        asyncio.run(verifier_once(batches, args.workers, warm))
        for r in range(args.repeats):  # alternate the two so machine noise hits both alike
            seconds, cpu, outcomes = asyncio.run(eval_once(data, Path(tmp) / f"run{r}", k, args.workers, warm))
            if codes(outcomes) != codes(warm_outcomes):
                raise SystemExit(f"round {r}: the eval produced different candidates than the warm-up")
            evals.append(seconds)
            eval_cpu.append(cpu)
            seconds, cpu = asyncio.run(verifier_once(batches, args.workers, warm))
            verifies.append(seconds)
            verify_cpu.append(cpu)
    med = statistics.median
    e, v, ec, vc = med(evals), med(verifies), med(eval_cpu), med(verify_cpu)
    be, bv, bec, bvc = min(evals), min(verifies), min(eval_cpu), min(verify_cpu)
    print(f"workload: {n} problems x {k} samples, scripted generator, scripted-REPL LeanPool with "
          f"{args.workers} workers (started before timing), {args.repeats} rounds, {os.cpu_count()} CPUs")
    print(f"eval loop (arun_eval)  wall s: {fmt(evals)}   CPU s: {fmt(eval_cpu)}")
    print(f"verifier only          wall s: {fmt(verifies)}   CPU s: {fmt(verify_cpu)}")
    print(f"eval loop     : wall median {e:.3f} s ({60 * n / e:.0f} problems/min), best {be:.3f} s; "
          f"CPU in this process median {ec:.3f} s, best {bec:.3f} s")
    print(f"verifier only : wall median {v:.3f} s ({60 * n / v:.0f} problems/min), best {bv:.3f} s; "
          f"CPU in this process median {vc:.3f} s, best {bvc:.3f} s")
    print("  baseline = verifier only: the same candidates, the same per-problem batches, "
          f"{args.workers} batches in flight, verifier.verify alone")
    print(f"ratio eval/verifier, wall: medians {e / v:.3f} (overhead {100 * (e / v - 1):+.1f}%), "
          f"bests {be / bv:.3f} (overhead {100 * (be / bv - 1):+.1f}%); target <= +5%")
    wall_ms, cpu_ms, best_cpu_ms = 1000 * (e - v) / n, 1000 * (ec - vc) / n, 1000 * (bec - bvc) / n
    print(f"loop overhead per problem: {wall_ms:.2f} ms wall (medians); {cpu_ms:.2f} ms CPU (medians), "
          f"{best_cpu_ms:.2f} ms CPU (bests); verifier only: {1000 * v / n:.2f} ms wall per problem on this double")
    worst = max(wall_ms, cpu_ms)
    print(f"vs real Lean (not measured here): {worst:.2f} ms/problem against {k} x {LEAN_SECONDS_PER_PROOF} s/proof "
          f"= {100 * worst / (1000 * LEAN_SECONDS_PER_PROOF * k):.3f}% of the verify time [{LEAN_SOURCE}]")

if __name__ == "__main__":
    main()
