"""Is an OpenAI-compatible server there? Asked once at start, before any model loads.

Why: a run with a separately served judge (``+judge_model.backend=openai``) loaded the main model,
started Lean and translated a first batch before the judge's first request found nobody listening.
"""

from __future__ import annotations

import httpx

from prover.llm.errors import GeneratorError


def check_server(base_url: str, *, what: str = "model.base_url", timeout: float = 5.0) -> None:
    """``GET <base_url>/models`` answers (any HTTP status); else a GeneratorError naming ``what``."""
    if not base_url:
        raise GeneratorError(f"{what} is empty: set it to the server's /v1 URL, e.g. http://127.0.0.1:8000/v1")
    url = base_url.rstrip("/") + "/models"
    try:
        httpx.get(url, timeout=timeout)
    except httpx.HTTPError as e:
        raise GeneratorError(
            f"cannot reach the server at {base_url} ({what}): {type(e).__name__}; start it (e.g. "
            "`proofforge-serve`) or fix the URL"
        ) from None
