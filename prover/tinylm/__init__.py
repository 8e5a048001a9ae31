"""prover.tinylm."""
