"""ProofForge: natural language in, machine-checked Lean 4 proofs out.

Subpackages by layer (docs/architecture.md): ``records``/``config`` at the bottom; ``attention``, ``tinylm``;
``lean`` and ``llm``; ``serving``; ``search`` (strategies); ``synthetic`` (the DeepSeek-Prover pipeline).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
