"""Wire schemas: kimina-lean-server's request/response shapes and the native records endpoint.

Why our own pydantic models rather than importing ``kimina_client``: the server must not
depend on a client package at run time. The shapes mirror kimina-client 0.2.1's
``kimina_client/models.py`` (project-numina/kimina-lean-server, ``client/kimina_client/models.py``:
``Snippet``, ``CheckRequest``, ``ReplResponse``, ``Code``, ``VerifyRequestBody``,
``BackwardResponse``) field for field; tests parse our replies with kimina-client itself.

How a :class:`~prover.records.Verdict` becomes a kimina reply (:func:`kimina_result`): kimina
clients call a snippet *valid* when its response has no error message and no sorry. ProofForge
is stricter (axioms, policy refusals, statement integrity), so whenever the verdict is not
``proved`` but Lean itself reported no error, one error message naming the reason is appended;
``valid`` on the kimina side then means ``proved`` here. Timeouts use kimina's own
``"... timed out ..."`` error text (its clients classify on that phrase). Every result also
carries ``proofforge``: ``{status, reason, axioms, cached}``, which kimina's models ignore.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

from prover.records import Verdict


class Infotree(str, Enum):
    full = "full"
    tactics = "tactics"
    original = "original"
    substantive = "substantive"


class Snippet(BaseModel):
    """kimina's snippet; ``statement``/``header`` are ProofForge extensions for integrity checks."""

    model_config = ConfigDict(extra="ignore")

    id: StrictStr
    code: StrictStr
    statement: StrictStr | None = None
    header: StrictStr | None = None


class _Common(BaseModel):
    timeout: int = Field(30, ge=0)
    debug: bool = False
    reuse: bool = True
    infotree: Infotree | None = None


class CheckRequest(_Common):
    """``POST /api/check`` (kimina ``CheckRequest``): non-empty snippets with unique ids."""

    snippets: list[Snippet]

    @model_validator(mode="after")
    def _check_snippets(self) -> CheckRequest:
        if not self.snippets:
            raise ValueError("`snippets` must be non empty")
        if len({s.id for s in self.snippets}) != len(self.snippets):
            raise ValueError("`snippets` must have unique ids")
        return self


class Code(BaseModel):
    """One entry of the older ``POST /verify``: ``proof`` or (autoformalizer clients) ``code``."""

    custom_id: StrictStr | int
    proof: StrictStr | None = None
    code: StrictStr | None = None

    @model_validator(mode="after")
    def _has_content(self) -> Code:
        if self.proof is None and self.code is None:
            raise ValueError(f"code {self.custom_id!r} has no proof/code content")
        return self

    def content(self) -> str:
        return self.proof if self.proof is not None else self.code  # type: ignore[return-value]


class VerifyRequestBody(BaseModel):
    """``POST /verify`` (kimina ``VerifyRequestBody``)."""

    codes: list[Code]
    timeout: int = Field(300, ge=0)
    infotree_type: Infotree | None = None
    disable_cache: bool = False

    @field_validator("codes")
    @classmethod
    def _non_empty(cls, v: list[Code]) -> list[Code]:
        if not v:
            raise ValueError("`codes` must be non empty")
        return v


class NativeRequest(BaseModel):
    """``POST /v1/verify``: the project's :class:`~prover.records.Candidate` dicts, batched."""

    candidates: list[dict[str, Any]]
    timeout: float | None = Field(None, ge=0, allow_inf_nan=False)
    use_cache: bool = True

    @field_validator("candidates")
    @classmethod
    def _non_empty(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not v:
            raise ValueError("`candidates` must be non empty")
        return v


# ---------------------------------------------------------------------------- verdict -> kimina

_NO_POS = {"line": 1, "column": 0}


def _message(m: dict[str, Any]) -> dict[str, Any]:
    """A verdict message in the REPL's JSON shape; kimina's ``Message`` requires ``pos``."""
    out = {"severity": m.get("severity", "error"), "pos": m.get("pos") or dict(_NO_POS), "data": m.get("data", "")}
    if m.get("endPos"):
        out["endPos"] = m["endPos"]
    return out


def proofforge_field(v: Verdict, cached: bool) -> dict[str, Any]:
    return {"status": v.status, "reason": v.reason, "axioms": list(v.axioms), "cached": cached}


def kimina_result(v: Verdict, snippet_id: str, timeout: float, *, cached: bool = False) -> dict[str, Any]:
    """One kimina ``ReplResponse`` dict (``id``, ``time``, ``error`` xor ``response``) plus ``proofforge``."""
    out: dict[str, Any] = {"id": snippet_id, "time": round(v.seconds, 6), "proofforge": proofforge_field(v, cached)}
    if v.status == "timeout":
        out["error"] = f"Lean REPL command timed out in {timeout:g} seconds ({v.reason})"
        return out
    if v.status == "crashed":
        out["error"] = f"ProofForge verifier: crashed: {v.reason}"
        return out
    messages = [_message(m.to_dict()) for m in v.messages]
    if v.status != "proved" and not any(m["severity"] == "error" for m in messages):
        messages.append({"severity": "error", "pos": dict(_NO_POS), "data": f"ProofForge {v.status}: {v.reason}"})
    out["response"] = {"messages": messages, "sorries": [dict(s) for s in v.sorries]}
    return out


def backward_result(result: dict[str, Any]) -> dict[str, Any]:
    """kimina's ``BackwardResponse`` for ``POST /verify``: ``custom_id``, ``error``, ``response`` with ``time``."""
    out: dict[str, Any] = {"custom_id": result["id"], "proofforge": result["proofforge"]}
    if "error" in result:
        out["error"] = result["error"]
    else:
        out["response"] = {**result["response"], "time": result["time"]}
    return out
