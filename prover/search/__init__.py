"""prover.search."""
