"""The REPL client against the REPL's own recorded transcripts and the scripted double's faults."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prover.lean.double_pools import double_env, replay_argv, scripted_argv, write_rules
from prover.lean.doubles.protocol import request_kind
from prover.lean.doubles.replay import (
    inventory,
    load_transcripts,
    make_workdir,
    parse_requests,
    prerequisites,
    upstream_inputs,
    workdir_for,
)
from prover.lean.repl import (
    CommandResponse,
    PickleResponse,
    Repl,
    ReplCrashed,
    ReplError,
    ReplTimeout,
    TacticResponse,
    encode_request,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
TRANSCRIPTS = SHARED / "data" / "repl-transcripts"
ALL = load_transcripts(TRANSCRIPTS)


def double_children(folder: Path | str = "prover.lean.doubles") -> list[psutil.Process]:
    """Live child processes of this test process whose command line mentions ``folder``."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if any(str(folder) in a for a in p.cmdline()):
                out.append(p)
        except psutil.Error:
            continue
    return out


def gone(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        psutil.Process(pid)  # still there, running or an unreaped zombie
    except psutil.NoSuchProcess:
        return True
    return False


async def send(repl: Repl, req: dict[str, Any]) -> Any:
    """Dispatch a transcript request through the client's typed method for its shape."""
    kind = request_kind(req)
    opts = {
        "all_tactics": req.get("allTactics", False),
        "root_goals": req.get("rootGoals", False),
        "infotree": req.get("infotree"),
    }
    if kind == "command":
        return await repl.command(req["cmd"], req.get("env"), **opts)
    if kind == "file":
        return await repl.file(req["path"], req.get("env"), **opts)
    if kind == "tactic":
        return await repl.tactic(req["tactic"], req["proofState"])
    if kind == "pickle_env":
        return await repl.pickle_env(req["pickleTo"], req["env"])
    if kind == "pickle_proof_state":
        return await repl.pickle_proof_state(req["pickleTo"], req["proofState"])
    if kind == "unpickle_env":
        return await repl.unpickle_env(req["unpickleEnvFrom"])
    return await repl.unpickle_proof_state(req["unpickleProofStateFrom"], req.get("env"))


def assert_record(got: Any, exp: dict[str, Any]) -> None:
    """Field-by-field comparison of a typed record with the recorded JSON."""
    if "message" in exp and "env" not in exp and "proofState" not in exp:
        assert isinstance(got, ReplError)
        assert got.message == exp["message"]
        return
    msgs = [m.to_dict() for m in getattr(got, "messages", [])]
    exp_msgs = [{"severity": m["severity"], "pos": m.get("pos"), "endPos": m.get("endPos"), "data": m["data"]}
                for m in exp.get("messages", [])]
    if isinstance(got, CommandResponse):
        assert got.env == exp["env"]
        assert msgs == exp_msgs
        assert got.sorries == exp.get("sorries", [])
        assert got.tactics == exp.get("tactics", [])
        assert got.infotree == exp.get("infotree")
    elif isinstance(got, TacticResponse):
        assert got.proof_state == exp["proofState"]
        assert got.goals == exp.get("goals", [])
        assert msgs == exp_msgs
        assert got.sorries == exp.get("sorries", [])
        assert got.traces == exp.get("traces", [])
        assert got.proof_status == exp.get("proofStatus")
    else:
        assert isinstance(got, PickleResponse)
        assert got.env == exp.get("env")
        assert got.proof_state == exp.get("proofState")


async def replay_through_client(name: str, root: Path) -> None:
    """Run transcript ``name`` as upstream's test.sh does: its own REPL process, in its folder of ``root``."""
    t = next(t for t in ALL if t.name == name)
    repl = Repl(replay_argv(TRANSCRIPTS, name), workdir_for(root, t), env=double_env(), timeout=10)
    async with repl:
        for req, raw in zip(t.requests, t.responses, strict=True):
            assert_record(await send(repl, req), json.loads(raw))
        assert repl.uses == len(t.requests)
    assert gone(repl.pid)


@pytest.mark.parametrize("name", [t.name for t in ALL])
async def test_transcript_through_client(name: str, tmp_path: Path) -> None:
    # a fresh copy of the repl root: test/X.lean for `path` inputs; the inputs whose pickles this one
    # reads are replayed first, as the sorted upstream run would have done
    root = make_workdir(TRANSCRIPTS, tmp_path)
    for before in prerequisites(ALL, name):
        await replay_through_client(before, root)
    await replay_through_client(name, root)


def test_every_input_at_the_pin_is_replayed_or_says_why() -> None:
    # repl v4.24.0: 57 inputs in test/, 17 in test/Mathlib/test/ (see the folder's SOURCE.md)
    inv = inventory(TRANSCRIPTS)
    assert len(inv) == 74 and sum(1 for n in inv if n.startswith("Mathlib/")) == 17
    assert [t.name for t in ALL] == [n for n, why in inv.items() if why is None] and len(ALL) == 71
    skipped = {n: why for n, why in inv.items() if why is not None}
    assert set(skipped) == {"pickle_scoped_notation", "pickle_scoped_notation_2", "Mathlib/H20231214"}
    assert all("no recorded response" in why and n in why for n, why in skipped.items())
    for src in upstream_inputs(TRANSCRIPTS):  # the unreplayable ones are still well-formed requests
        for req in parse_requests(src.read_text(encoding="utf-8")):
            request_kind(req)


def test_transcripts_cover_every_request_shape() -> None:
    kinds = {request_kind(r) for t in ALL for r in t.requests}
    assert kinds == {"command", "file", "tactic", "pickle_env", "unpickle_env", "pickle_proof_state",
                     "unpickle_proof_state"}


def test_upstream_order_is_c_collation_core_then_mathlib() -> None:
    names = [t.name for t in ALL]
    assert names.index("pickle_open_scoped") < names.index("pickle_open_scoped_2")
    assert names.index("variables") < names.index("Mathlib/20240209")
    assert prerequisites(ALL, "pickle_proof_state_2") == ["pickle_proof_state_1"]
    assert prerequisites(ALL, "Mathlib/pickle_2") == ["Mathlib/pickle"]
    assert prerequisites(ALL, "pickle_environment") == []  # reads back its own pickle


async def test_an_unpickle_out_of_order_is_refused(tmp_path: Path) -> None:
    root = make_workdir(TRANSCRIPTS, tmp_path)
    with pytest.raises(ReplCrashed, match="only work in sorted order"):
        await replay_through_client("pickle_proof_state_2", root)
    # test/d.olean from pickle_proof_state_env (later in sorted order) is not the one _2 reads
    await replay_through_client("pickle_proof_state_env", root)
    with pytest.raises(ReplCrashed, match="written by pickle_proof_state_env"):
        await replay_through_client("pickle_proof_state_2", root)


async def test_a_path_input_reads_the_recorded_file(tmp_path: Path) -> None:
    with pytest.raises(ReplCrashed, match="no such file"):
        await replay_through_client("file", tmp_path)
    root = make_workdir(TRANSCRIPTS, tmp_path / "root")
    (root / "test" / "file.lean").write_text("def f : Nat := 38\n", encoding="utf-8")
    with pytest.raises(ReplCrashed, match="differs from the recorded"):
        await replay_through_client("file", root)
    # the Mathlib inputs run in test/Mathlib, where test/file_env.lean is Mathlib's own copy
    await replay_through_client("Mathlib/file_env", make_workdir(TRANSCRIPTS, tmp_path / "fresh"))


def test_message_texts_are_the_v4_24_0_wording() -> None:
    data = [m["data"] for t in ALL for raw in t.responses for m in json.loads(raw).get("messages", [])]
    assert "declaration uses 'sorry'" in data and "declaration uses `sorry`" not in data


async def test_tactic_records_distinguish_completed_from_errors() -> None:
    t = next(t for t in ALL if t.name == "invalid_tactic")
    repl = Repl(replay_argv(TRANSCRIPTS, t.name), TRANSCRIPTS, env=double_env())
    async with repl:
        replies = [await send(repl, r) for r in t.requests]
    tac = replies[-1]
    assert isinstance(tac, TacticResponse) and tac.goals == [] and not tac.completed
    assert tac.errors and tac.proof_status == "Incomplete: contains sorry"


async def test_unknown_proof_state_is_matched_case_insensitively() -> None:
    assert ReplError("Unknown proof State.").unknown_proof_state
    t = next(t for t in ALL if t.name == "unknown_proof_state")
    repl = Repl(replay_argv(TRANSCRIPTS, t.name), TRANSCRIPTS, env=double_env())
    async with repl:
        replies = [await send(repl, r) for r in t.requests]
    assert isinstance(replies[-1], ReplError) and replies[-1].unknown_proof_state


async def test_replay_double_rejects_an_unexpected_request() -> None:
    repl = Repl(replay_argv(TRANSCRIPTS, "readme"), TRANSCRIPTS, env=double_env())
    async with repl:
        with pytest.raises(ReplCrashed, match="not in the transcript"):
            await repl.command("theorem other : True := trivial")


# ------------------------------------------------------------------ framing (the real REPL's rules)


def run_double(stdin: str, rules: list[dict[str, Any]], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = write_rules(rules, tmp_path)
    return subprocess.run(scripted_argv(path), input=stdin, capture_output=True, text=True,
                          env=double_env(), timeout=30, cwd=tmp_path)


def test_double_is_fatal_on_a_second_blank_line_and_on_bad_json(tmp_path: Path) -> None:
    ok = '{"cmd": "import Lean"}\n\n'
    r = run_double(ok + "\n", [], tmp_path)
    assert r.returncode == 1 and '"env": 0' in r.stdout
    assert "uncaught exception" in r.stderr and "Could not parse JSON" in r.stderr
    r = run_double('{"foo": 1}\n\n', [], tmp_path)
    assert r.returncode == 1 and "Could not parse as a valid JSON command" in r.stderr
    r = run_double(ok, [], tmp_path)  # EOF after a request: a clean exit
    assert r.returncode == 0


def test_double_joins_raw_line_breaks_like_the_repl(tmp_path: Path) -> None:
    r = run_double('{"cmd": "a := by\nsorry"}\n\n', [{"match": "", "echo": True}], tmp_path)
    assert json.loads(r.stdout.split("\n\n")[0])["messages"][-1]["data"] == "a := bysorry"


def test_encode_request_is_one_line_plus_one_blank_line() -> None:
    data = encode_request({"cmd": "a\nb\n\n  c"}).decode()
    assert data.endswith("\n\n") and data.count("\n") == 2


@pytest.fixture(scope="module")
def echo_repl(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("echo")
    loop = asyncio.new_event_loop()
    repl = Repl(scripted_argv(write_rules([{"match": "", "echo": True}], folder)), folder, env=double_env())
    loop.run_until_complete(repl.start())
    yield loop, repl
    loop.run_until_complete(repl.close())
    loop.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_any_code_text_round_trips_through_the_framing(echo_repl, text: str) -> None:
    loop, repl = echo_repl
    resp = loop.run_until_complete(repl.command(text))
    assert isinstance(resp, CommandResponse)
    assert resp.messages[-1].data == text


# ------------------------------------------------------------------ faults end the request, kill the process


async def fault_repl(tmp_path: Path, rule: dict[str, Any], **kw: Any) -> Repl:
    path = write_rules([rule], tmp_path)
    return await Repl(scripted_argv(path), tmp_path, env=double_env(), **kw).start()


async def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    repl = await fault_repl(tmp_path, {"match": "hang", "delay": 60})
    pid = repl.pid
    with pytest.raises(ReplTimeout):
        await repl.command("hang", timeout=0.5)
    assert gone(pid) and not repl.alive and not double_children(tmp_path)


async def test_death_mid_response_is_a_crash_carrying_stderr(tmp_path: Path) -> None:
    repl = await fault_repl(tmp_path, {"match": "boom", "die": True, "response": {"messages": []}})
    with pytest.raises(ReplCrashed) as info:
        await repl.command("boom")
    assert "died mid-response" in info.value.stderr
    assert gone(repl.pid) and not double_children(tmp_path)


async def test_garbage_is_a_crash(tmp_path: Path) -> None:
    repl = await fault_repl(tmp_path, {"match": "junk", "garbage": True})
    with pytest.raises(ReplCrashed, match="unparseable"):
        await repl.command("junk")
    assert gone(repl.pid) and not double_children(tmp_path)


async def test_oversized_response_is_a_crash(tmp_path: Path) -> None:
    repl = await fault_repl(tmp_path, {"match": "big", "bytes": 50_000_000}, max_response_bytes=1 << 20)
    with pytest.raises(ReplCrashed, match="exceeded"):
        await repl.command("big")
    assert gone(repl.pid) and not double_children(tmp_path)


async def test_memory_cap_is_enforced_by_rlimit(tmp_path: Path) -> None:
    repl = await fault_repl(tmp_path, {"match": "grow", "grow_mb": 400}, memory_limit_gb=0.25)
    with pytest.raises(ReplCrashed) as info:
        await repl.command("grow")
    assert "bad_alloc" in info.value.stderr
    assert gone(repl.pid)


async def test_rss_is_measured_and_close_reaps(tmp_path: Path) -> None:
    repl = await fault_repl(tmp_path, {"match": "grow", "grow_mb": 64, "response": {}})
    before = repl.rss_bytes()
    await repl.command("grow")
    assert repl.rss_bytes() > before + 48 * 2**20
    await repl.close()
    await repl.close()  # twice is fine
    assert gone(repl.pid) and repl.rss_bytes() == 0


async def test_missing_executable_is_one_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        await Repl(["/nonexistent/repl-binary"]).start()


def test_double_get_lines_uses_leans_whitespace() -> None:
    # Lean's String.trim strips only ' ', '\t', '\r', '\n' (Char.isWhitespace); Python's strip() more
    import io

    from prover.lean.doubles.protocol import get_lines

    assert get_lines(io.StringIO('{"cmd": "a"}\u00a0\n\n')) == '{"cmd": "a"}\u00a0'
    assert get_lines(io.StringIO("\x0c\n{}\n\n")) == "\x0c{}"
    assert get_lines(io.StringIO('{"cmd":\n "b"}  \n\t\n')) == '{"cmd": "b"}'


# ------------------------------------------------------------------ a PANIC on stderr: the reply is not trusted

PANIC = "PANIC at Lean.Expr.bindingBody! Lean.Expr:1047:23: binding expected"


async def test_a_panic_line_on_stderr_is_recorded_per_request(tmp_path: Path) -> None:
    rules = [{"match": "boom", "stderr": PANIC, "response": {}},
             {"match": "inner", "stderr": "INTERNAL PANIC: unreachable code has been reached", "response": {}},
             {"match": "noise", "stderr": "warning: no PANIC here, just a log line", "response": {}},
             {"match": "", "response": {}}]
    repl = await Repl(scripted_argv(write_rules(rules, tmp_path)), tmp_path, env=double_env()).start()
    try:
        assert isinstance(await repl.command("boom"), CommandResponse)  # a reply came ...
        assert repl.last_panic == PANIC  # ... but Lean panicked on the way
        await repl.command("fine")
        assert repl.last_panic is None  # per request
        await repl.command("inner")
        assert repl.last_panic == "INTERNAL PANIC: unreachable code has been reached"
        await repl.command("noise")
        assert repl.last_panic is None
    finally:
        await repl.close()


async def test_a_candidate_whose_repl_panicked_is_crashed_and_the_pool_keeps_serving() -> None:
    from prover.lean.double_pools import scripted_verifier
    from prover.records import Candidate

    pool = scripted_verifier([{"match": "boom", "stderr": PANIC, "response": {}}, {"match": "trivial", "response": {}}])
    try:
        vs = await pool.verify([Candidate(problem="p", code="theorem t : True := by boom"),
                                Candidate(problem="q", code="theorem u : True := trivial")])
    finally:
        await pool.aclose()
    assert vs[0].status == "crashed" and PANIC in vs[0].reason
    assert vs[1].status == "proved"
