"""prover.synthetic."""
