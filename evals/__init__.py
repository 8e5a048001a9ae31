"""ProofForge evals."""
