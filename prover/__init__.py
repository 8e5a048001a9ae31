"""ProofForge: natural language in, machine-checked Lean 4 proofs out."""

__version__ = "0.1.0"
