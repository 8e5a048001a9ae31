"""ProofForge autoformalize."""
