"""Test and benchmark helpers, shipped so benchmarks and users' own tests can build the same cases.

Nothing in the library imports this package (an import-linter contract forbids it): a random tiny
Llama with a real tokenizer (:mod:`.random_model`). The documented offline doubles are not here but
beside what they stand in for (``prover/lean/doubles/``, ``prover/llm/scripted.py``), because
``lean=scripted`` and ``model.backend=scripted`` are modes users run; the attention cases the CUDA
self-check runs live in ``prover/attention/cases.py``.
"""

__all__ = ["random_model"]
