"""Servers: an OpenAI-compatible model server (``proofforge-serve``) and the Lean verification server
(``proofforge-lean-server``, :mod:`prover.serving.lean_server`).

Public API: :func:`create_app` (the model server's FastAPI app over an in-process HF generator).
Imports are left to the submodules so importing the package does not load FastAPI.
"""

__all__ = ["app", "lean_server"]
