"""prover.llm."""
