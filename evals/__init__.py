"""ProofForge evals: miniF2F and other benchmarks, unbiased pass@k, resumable runs, reports with plots.

Public API: :func:`evals.run.run_eval` (``proofforge-eval``), :func:`evals.report.write_report` /
:func:`evals.report.write_comparison` (``proofforge-report``), :func:`evals.passk.pass_at_k`.
Imports are left to the submodules so ``python -m evals.report`` does not load the eval loop.
"""

__all__ = ["data", "passk", "report", "run", "summary", "sweep_report"]
