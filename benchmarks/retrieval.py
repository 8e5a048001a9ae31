"""LeanVec-style retrieval benchmark: recall@10 against exact search, and speed-up, on synthetic embeddings.

Baseline: exact brute-force float32 inner-product search in full dimension, measured in the same run on
the same queries. Compared: int8 primary vectors reduced by PCA (LeanVec-ID) or by the query-aware
projection (LeanVec-OOD), with exact re-ranking of the top ``--rerank`` candidates in full dimension.

The synthetic data mimics the NL-vs-formal case: data and queries share a space but not a distribution
(the queries put their energy on directions where the data has little variance), which is where
LeanVec-OOD should beat PCA.

    .venv/bin/python benchmarks/retrieval.py              # 50k x 768, 1000 queries
    .venv/bin/python benchmarks/retrieval.py --n 10000    # quicker
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One BLAS thread for every method (baseline included): OpenBLAS's threading makes small LAPACK calls
# erratic on a shared machine. Override with OPENBLAS_NUM_THREADS=<n> in the environment.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autoformalize.retrieval import LeanVecIndex, recall_at_k  # noqa: E402


def synthetic(n: int, m: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Data, held-out queries and training queries, each row L2-normalised."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0].astype(np.float32)
    ranks = np.arange(1, dim + 1, dtype=np.float32)
    data_sd = ranks ** -0.9  # decaying spectrum
    query_sd = np.exp(-((ranks - 200.0) / 40.0) ** 2) + 0.02  # energy around directions 160..240

    def draw(k: int, sd: np.ndarray) -> np.ndarray:
        z = rng.normal(size=(k, dim)).astype(np.float32) * sd
        v = z @ basis.T
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    return draw(n, data_sd), draw(m, query_sd), draw(max(m, 2000), query_sd)


def timed(fn, *args, repeat: int = 3):
    """(result, best wall seconds, best CPU seconds) over ``repeat`` runs. CPU time is reported too
    because wall time on a shared machine includes other processes' turns."""
    wall, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return out, wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50_000, help="database vectors")
    ap.add_argument("--dim", type=int, default=768, help="full dimension")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--reduced", type=int, nargs="+", default=[96, 160])
    ap.add_argument("--rerank", type=int, default=100, help="candidates re-ranked in full dimension")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()

    data, queries, train_q = synthetic(args.n, args.queries, args.dim)
    base = LeanVecIndex(data, args.dim, projection="none", rerank=args.k)
    (truth, _), t_exact, c_exact = timed(base.exact_search, queries, args.k)
    print(f"data {args.n} x {args.dim}, {len(queries)} queries, recall@{args.k} vs exact float32 search, "
          f"re-rank {args.rerank}")
    print(f"baseline exact search: wall {t_exact:.3f} s, CPU {c_exact:.3f} s "
          f"({len(queries) / t_exact:,.0f} queries/s wall)")
    print(f"{'method':<8}{'dim':>6}{'build s':>10}{'wall s':>9}{'CPU s':>9}{'speed-up wall':>15}"
          f"{'speed-up CPU':>14}{'recall@k':>10}")
    for d in args.reduced:
        for proj in ("pca", "ood"):
            t = time.perf_counter()
            idx = LeanVecIndex(data, d, projection=proj, train_queries=train_q, rerank=args.rerank)
            build = time.perf_counter() - t
            (found, _), t_search, c_search = timed(idx.search, queries, args.k)
            rec = recall_at_k(found, truth)
            print(f"{proj:<8}{d:>6}{build:>10.2f}{t_search:>9.3f}{c_search:>9.3f}{t_exact / t_search:>14.2f}x"
                  f"{c_exact / c_search:>13.2f}x{rec:>10.3f}")


if __name__ == "__main__":
    main()
