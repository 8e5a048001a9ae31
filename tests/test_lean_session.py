"""The tactic-mode seam: typed records parsed from the REPL's real replies at v4.24.0, and the protocol."""

from __future__ import annotations

import json
from pathlib import Path

from prover.lean.double_pools import TRANSCRIPTS_DIR, scripted_verifier
from prover.lean.doubles.replay import load_transcripts
from prover.lean.repl import CommandResponse, ProofGoal, TacticInfo
from prover.lean.session import TacticSession, TacticSessions
from prover.records import Pos


def _replies(name: str) -> list[dict]:
    [t] = [t for t in load_transcripts(TRANSCRIPTS_DIR) if t.name == name]
    return [json.loads(r) if isinstance(r, str) else r for r in t.responses]


def test_all_tactics_reply_becomes_tactic_infos() -> None:
    first = _replies("all_tactics")[0]
    infos = CommandResponse.from_json(first).tactic_infos
    assert infos[0] == TacticInfo(tactic="have t := 37", goals="⊢ Nat", proof_state=0, pos=Pos(1, 18),
                                  end_pos=Pos(1, 30), used_constants=("instOfNatNat", "Nat", "OfNat.ofNat"))
    assert infos[1].tactic == "exact t" and infos[1].used_constants == ()


def test_sorries_become_proof_goals() -> None:
    replies = [r for r in _replies("app_type_mismatch") if "sorries" in r and "env" in r]
    goals = CommandResponse.from_json(replies[0]).proof_goals
    assert goals[0] == ProofGoal(goal="⊢ 1 = 0", proof_state=0, pos=Pos(1, 19), end_pos=Pos(1, 24))
    assert ProofGoal.from_json({"goal": "⊢ True"}).proof_state is None


async def test_the_local_pool_lends_typed_sessions(tmp_path: Path) -> None:
    pool = scripted_verifier([])
    try:
        assert isinstance(pool, TacticSessions)
        async with pool.session("") as s:
            assert isinstance(s, TacticSession) and isinstance(s.env, int)
    finally:
        await pool.aclose()
