"""``proofforge-lean-server``: the project's verifier (pool, policy, verdict) behind HTTP.

kimina-lean-server's routes (``POST /api/check``, ``POST /verify``, ``GET /health``) so
``kimina-client`` works unchanged, a native ``POST /v1/verify`` over the project's own
records, and ``GET /metrics`` in Prometheus text format. See docs/lean-server.md.
"""

from prover.serving.lean_server.app import ServerSettings, create_app

__all__ = ["ServerSettings", "create_app"]
