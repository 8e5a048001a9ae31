"""ProofForge agents."""
