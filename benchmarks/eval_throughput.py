"""Eval-loop overhead: problems per minute of ``run_eval`` against the verifier alone on the same candidates.

Both sides use a scripted generator (no model time) and a fresh scripted-verifier pool
(the real LeanPool over the scripted REPL double), so the difference is what the eval
adds: strategy bookkeeping, prompt building and extraction, Outcome JSONL writes,
progress and summary. Baseline: the same candidates, batched per problem exactly as the
strategy sends them, through ``verifier.verify`` with nothing else. Target: the loop's
overhead <= 5% of the verifier-only time.

    python benchmarks/eval_throughput.py [--problems 200] [--samples 4] [--workers 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.data import load_dataset  # noqa: E402
from evals.run import arun_eval, load_outcomes  # noqa: E402
from prover.config import compose  # noqa: E402
from prover.lean.testing import scripted_verifier  # noqa: E402
from prover.llm.testing import ScriptedGenerator  # noqa: E402
from prover.records import Candidate, Problem, write_jsonl  # noqa: E402

RULES = [{"match": "omega", "response": {}}]  # "omega" proofs pass; everything else: unsolved goals


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


async def eval_once(
    data: Path, out: Path, samples: int, workers: int
) -> tuple[float, float, list[list[Candidate]]]:
    cfg = compose("eval", ["prover=wholeproof", "dataset.name=bench", f"dataset.path={data}",
                           f"prover.budget.samples={samples}", f"out_dir={out}", "report=false",
                           f"concurrency={workers}"])
    verifier = scripted_verifier(RULES, workers=workers)
    t0, c0 = time.perf_counter(), time.process_time()
    await arun_eval(cfg, generator=ScriptedGenerator(script), verifier=verifier, progress=True,
                    close_verifier=True)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    batches = [o.candidates for o in load_outcomes(out)]
    return seconds, cpu, batches


async def verifier_once(batches: list[list[Candidate]], workers: int) -> tuple[float, float]:
    verifier = scripted_verifier(RULES, workers=workers)
    sem = asyncio.Semaphore(workers)

    async def one(batch: list[Candidate]) -> None:
        async with sem:
            await verifier.verify(batch)

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        await asyncio.gather(*(one(b) for b in batches))
    finally:
        await verifier.aclose()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", type=int, default=200)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    evals, verifies, eval_cpu, verify_cpu = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="proofforge-bench-") as tmp:
        data = make_problems(Path(tmp) / "problems.jsonl", args.problems)
        _, _, batches = asyncio.run(eval_once(data, Path(tmp) / "warm", args.samples, args.workers))  # warm-up
        asyncio.run(verifier_once(batches, args.workers))
        for r in range(args.repeats):  # alternate the two so machine noise hits both alike
            seconds, cpu, batches = asyncio.run(eval_once(data, Path(tmp) / f"run{r}", args.samples, args.workers))
            evals.append(seconds)
            eval_cpu.append(cpu)
            seconds, cpu = asyncio.run(verifier_once(batches, args.workers))
            verifies.append(seconds)
            verify_cpu.append(cpu)
    e, v = statistics.median(evals), statistics.median(verifies)
    ec, vc = statistics.median(eval_cpu), statistics.median(verify_cpu)
    n = args.problems
    print(f"problems={n} samples/problem={args.samples} workers={args.workers} repeats={args.repeats}")
    print("eval runs, wall s:     " + " ".join(f"{x:.3f}" for x in evals))
    print("verifier runs, wall s: " + " ".join(f"{x:.3f}" for x in verifies))
    print(f"eval loop     : {e:.3f} s wall ({60 * n / e:.0f} problems/min), {ec:.3f} s CPU in this process")
    print(f"verifier only : {v:.3f} s wall ({60 * n / v:.0f} problems/min), {vc:.3f} s CPU in this process"
          "  [baseline: same candidates, same batching, verifier.verify alone]")
    print(f"ratio eval/verifier (wall, medians) = {e / v:.3f}  (loop overhead {100 * (e / v - 1):+.1f}%, "
          "target <= +5%)")
    print(f"the loop's own CPU: {ec - vc:.3f} s = {100 * (ec - vc) / v:.1f}% of the verifier-only wall time")

if __name__ == "__main__":
    main()
