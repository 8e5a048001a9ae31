"""prover.attention."""
