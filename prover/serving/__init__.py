"""prover.serving."""
