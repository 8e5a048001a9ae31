"""Stand-ins for the Lean REPL executable, speaking its exact stdin/stdout protocol.

``python -m prover.lean.doubles.scripted --rules FILE`` answers from rules and injects
faults; ``python -m prover.lean.doubles.replay --transcripts DIR`` answers from the
REPL's own recorded test transcripts. Used by tests only: no verdict they give is real.
"""

__all__ = ["replay", "scripted"]
