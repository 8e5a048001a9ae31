"""prover.lean."""
