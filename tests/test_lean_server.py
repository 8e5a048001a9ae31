"""proofforge-lean-server against kimina-client and raw HTTP, with the scripted double as Lean.

The verdicts must be the ones proofforge-check gives for the same code (one code path), cheats
must not pass through any endpoint, and the server's limits must answer 4xx/429, never 500.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import re
import sys
import typing

import httpx
import pytest
import typing_extensions

from prover.apps.check import run_check
from prover.apps.lean_server import LeanServerConfigError, serve, settings_from_config
from prover.config import compose
from prover.lean.double_pools import scripted_verifier
from prover.records import Candidate
from prover.serving.lean_server import ServerSettings, create_app
from prover.serving.lean_server.background import BackgroundServer


def _import_kimina_client():
    """kimina-client 0.2.1 (the latest on PyPI) imports ``typing.TypedDict`` on Python 3.11, which
    pydantic refuses; project-numina/kimina-lean-server fixed it upstream (commit 285f142, "fix: typing
    extensiosn (#63)", client/kimina_client/models.py) by importing typing_extensions' on < 3.12. Apply
    that same substitution while importing it; the client's code is otherwise used unchanged."""
    if sys.version_info >= (3, 12):
        return importlib.import_module("kimina_client")
    saved = {name: getattr(typing, name, None) for name in ("TypedDict", "NotRequired")}
    for name in saved:
        setattr(typing, name, getattr(typing_extensions, name))
    try:
        return importlib.import_module("kimina_client")
    finally:
        for name, value in saved.items():
            if value is None:
                delattr(typing, name)
            else:
                setattr(typing, name, value)


_kimina = _import_kimina_client()
AsyncKiminaClient, CheckResponse, KiminaClient = _kimina.AsyncKiminaClient, _kimina.CheckResponse, _kimina.KiminaClient
Snippet, SnippetStatus, VerifyResponse = _kimina.Snippet, _kimina.SnippetStatus, _kimina.VerifyResponse

NATIVE_AXIOMS = {"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": None,
                 "data": "'native_thm' depends on axioms: [propext, Lean.ofReduceBool]"}
SORRY = {"messages": [{"severity": "warning", "pos": {"line": 1, "column": 8}, "endPos": {"line": 1, "column": 13},
                       "data": "declaration uses 'sorry'"}],
         "sorries": [{"pos": {"line": 1, "column": 30}, "endPos": {"line": 1, "column": 35}, "goal": "⊢ 1 = 1"}]}
RULES = [
    {"match": "#print axioms native_thm", "response": {"messages": [NATIVE_AXIOMS]}},
    {"match": "slowproof", "delay": 3, "response": {}},
    {"match": "napproof", "delay": 0.3, "response": {}},
    {"match": "by simp", "response": {}},
    {"match": "by native_decide", "response": {}},
    {"match": "by sorry", "response": SORRY},
]
SNIPPETS = {
    "honest": "theorem honest : 1 = 1 := by simp",
    "native": "theorem native_thm : 1 = 1 := by native_decide",
    "sorry": "theorem sorry_thm : 1 = 1 := by sorry",
    "eval": "#eval IO.println \"hi\"\ntheorem eval_thm : 1 = 1 := by simp",
    "axiom": "axiom cheat : False\ntheorem axiom_thm : 1 = 1 := by simp",
    "wrong": "theorem wrong : 1 = 1 := by omega",
}
CHEATS = ("native", "sorry", "eval", "axiom")


@pytest.fixture(scope="module")
def live():
    """One server over a two-worker scripted pool on a free loopback port; yields (url, app)."""
    app = create_app(scripted_verifier(RULES, workers=2), ServerSettings())
    with BackgroundServer(app) as url:
        yield url, app


def _statuses(resp: CheckResponse) -> dict[str, SnippetStatus]:
    return {r.id: r.analyze().status for r in resp.results}


def _check_statuses(tmp_path) -> dict[str, str]:
    """What proofforge-check says about SNIPPETS (same scripted rules)."""
    path = tmp_path / "cands.jsonl"
    path.write_text("".join(json.dumps({"problem": k, "code": v}) + "\n" for k, v in SNIPPETS.items()))
    cfg = compose("check", ["lean=scripted", f"inputs=[{path}]", "progress=false"])
    cfg.lean.rules = RULES
    run_check(cfg, tmp_path / "run")
    return {d["problem"]: d["status"] for d in map(json.loads, (tmp_path / "run" / "verdicts.jsonl").open())}


def test_kimina_sync_and_async_clients_get_proofforge_check_verdicts(live, tmp_path):
    url, _ = live
    expected = _check_statuses(tmp_path)
    assert expected["honest"] == "proved" and all(expected[k] != "proved" for k in CHEATS)
    snips = [Snippet(id=k, code=v) for k, v in SNIPPETS.items()]

    sync = KiminaClient(api_url=url, n_retries=1).check(snips, show_progress=False, batch_size=3)

    async def run_async() -> CheckResponse:
        client = AsyncKiminaClient(api_url=url, n_retries=1)
        try:
            return await client.check(snips, show_progress=False, batch_size=2, reuse=False)
        finally:
            await client.close()

    for resp in (sync, asyncio.run(run_async())):
        assert isinstance(resp, CheckResponse) and len(resp.results) == len(SNIPPETS)
        statuses = _statuses(resp)
        assert statuses["honest"] == SnippetStatus.valid
        assert all(statuses[k] == SnippetStatus.lean_error for k in (*CHEATS, "wrong")), statuses
        raw = {r.id: r for r in resp.results}
        # the stricter verdict rides along in the extra field, equal to proofforge-check's
        resp_json = httpx.post(f"{url}/api/check", json={"snippets": [s.model_dump() for s in snips]}).json()
        got = {r["id"]: r["proofforge"]["status"] for r in resp_json["results"]}
        assert got == expected
        assert raw["native"].response is not None


def test_cheats_fail_through_verify_and_native_endpoints(live):
    url, _ = live
    codes = [{"custom_id": k, "proof": v} for k, v in SNIPPETS.items()] + [{"custom_id": 7, "code": SNIPPETS["honest"]}]
    body = httpx.post(f"{url}/verify", json={"codes": codes, "timeout": 60}).json()
    parsed = VerifyResponse.model_validate(body)  # kimina's model for the older route
    by_id = {r["custom_id"]: r for r in parsed.results}
    assert set(by_id) == {*SNIPPETS, "7"}
    ff = {r["custom_id"]: r["proofforge"]["status"] for r in body["results"]}
    assert ff["honest"] == ff["7"] == "proved" and all(ff[k] != "proved" for k in CHEATS)
    for k in CHEATS:
        msgs = by_id[k]["response"]["messages"]
        assert any(m["severity"] == "error" for m in msgs), k  # kimina's is_valid is False

    statement = "theorem honest : 1 = 1"
    tampered = "theorem honest : 2 = 2 := by simp"
    native = {"candidates": [
        {"problem": "p", "code": SNIPPETS["honest"], "statement": statement},
        {"problem": "p", "code": tampered, "statement": statement},
        {"problem": "q", "code": SNIPPETS["native"]},
    ]}
    out = httpx.post(f"{url}/v1/verify", json=native).json()
    assert [v["status"] for v in out["verdicts"]] == ["proved", "rejected", "failed"]
    assert "statement" in out["verdicts"][1]["reason"] and "ofReduceBool" in out["verdicts"][2]["reason"]
    # the statement extension also works on kimina's route
    res = httpx.post(f"{url}/api/check", json={"snippets": [{"id": "t", "code": tampered, "statement": statement}]})
    assert res.json()["results"][0]["proofforge"]["status"] == "rejected"


def _metric(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_resubmitted_proofs_hit_the_cache_and_metrics_count_them(live):
    url, _ = live
    before = _metric(httpx.get(f"{url}/metrics").text, "proofforge_lean_server_cache_hits_total")
    code = "theorem cached_thm : 3 = 3 := by simp"
    first = httpx.post(f"{url}/api/check", json={"snippets": [{"id": "a", "code": code}]}).json()["results"][0]
    second = httpx.post(f"{url}/api/check", json={"snippets": [{"id": "b", "code": code}]}).json()["results"][0]
    fresh = httpx.post(f"{url}/api/check", json={"snippets": [{"id": "c", "code": code}], "reuse": False}).json()
    assert first["proofforge"] == {**second["proofforge"], "cached": False} and second["proofforge"]["cached"]
    assert second["id"] == "b" and not fresh["results"][0]["proofforge"]["cached"]
    dup = "theorem dup_thm : 5 = 5 := by simp"
    twice = httpx.post(f"{url}/api/check", json={"snippets": [{"id": "d1", "code": dup}, {"id": "d2", "code": dup}]})
    d1, d2 = twice.json()["results"]
    assert (d1["id"], d2["id"]) == ("d1", "d2") and not d1["proofforge"]["cached"] and d2["proofforge"]["cached"]
    assert d1["proofforge"]["status"] == d2["proofforge"]["status"] == "proved"
    text = httpx.get(f"{url}/metrics").text
    assert _metric(text, "proofforge_lean_server_cache_hits_total") == before + 2
    assert 'proofforge_lean_server_verdicts_total{status="proved"}' in text
    assert _metric(text, "proofforge_lean_repl_started_total") >= 1
    health = httpx.get(f"{url}/health").json()
    assert health["status"] == "ok" and health["workers"]["max"] == 2 and health["verdicts"]["proved"] >= 3


def test_client_disconnect_cancels_only_its_own_work(live):
    url, app = live
    service = app.state.service
    before = service.metrics.cancelled._value.get()

    async def scenario() -> dict:
        async with httpx.AsyncClient(base_url=url, timeout=30) as other:
            async def gone() -> None:
                async with httpx.AsyncClient(base_url=url, timeout=0.5) as c:
                    with pytest.raises(httpx.ReadTimeout):
                        await c.post("/api/check", json={"snippets": [{"id": "s", "code": "theorem s : 1 = 1 := by slowproof"}]})

            kept = other.post("/api/check", json={"snippets": [{"id": "k", "code": "theorem k : 1 = 1 := by napproof"}]})
            _, resp = await asyncio.gather(gone(), kept)
            return resp.json()

    kept = asyncio.run(scenario())
    assert kept["results"][0]["proofforge"]["status"] == "proved"
    for _ in range(200):  # the server notices the disconnect asynchronously
        if service.metrics.cancelled._value.get() > before:
            break
        asyncio.run(asyncio.sleep(0.02))
    assert service.metrics.cancelled._value.get() == before + 1
    assert service.admission.pending == 0
    again = httpx.post(f"{url}/api/check", json={"snippets": [{"id": "z", "code": "theorem z : 4 = 4 := by simp"}]})
    assert again.json()["results"][0]["proofforge"]["status"] == "proved"


def test_request_timeout_is_a_kimina_timeout_error(live):
    url, _ = live
    resp = KiminaClient(api_url=url, n_retries=1).check(
        [Snippet(id="slow", code="theorem slow2 : 1 = 1 := by slowproof")], timeout=1, show_progress=False)
    assert resp.results[0].analyze().status == SnippetStatus.timeout_error


def _asgi(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://server")


def test_saturation_gives_429_with_retry_after_and_loses_nothing():
    app = create_app(scripted_verifier(RULES, workers=1), ServerSettings(max_pending=2, cache_size=0))

    async def burst() -> list[httpx.Response]:
        async with _asgi(app) as c:
            reqs = [c.post("/api/check", json={"snippets": [{"id": f"n{i}", "code": f"theorem n{i} : 1 = 1 := by napproof"}]})
                    for i in range(8)]
            out = list(await asyncio.gather(*reqs))
            out.append(await c.get("/health"))
            out.append(await c.post("/api/check", json={"snippets": [{"id": "after", "code": "theorem a : 1 = 1 := by simp"}]}))
            return out

    try:
        *answers, health, after = asyncio.run(burst())
    finally:
        app.state.service.verifier.close()
    codes = [r.status_code for r in answers]
    assert set(codes) == {200, 429} and len(answers) == 8
    for r in answers:
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1 and "max_pending=2" in r.json()["detail"]
        else:
            (res,) = r.json()["results"]
            assert res["proofforge"]["status"] == "proved" and "response" in res
            assert res["id"] == json.loads(r.request.content)["snippets"][0]["id"]
    assert health.json()["status"] == "ok" and health.json()["queue_depth"] == 0
    assert after.json()["results"][0]["proofforge"]["status"] == "proved"


def test_bad_input_is_4xx_with_a_message_never_500():
    app = create_app(scripted_verifier(RULES), ServerSettings(max_body_bytes=4096, max_snippet_bytes=200,
                                                              max_snippets=3))
    big = "theorem b : 1 = 1 := by simp -- " + "x" * 300
    cases = [
        ("/api/check", b"{not json", 400, "not valid JSON"),
        ("/api/check", b'{"snippets": [{"id": "a", "code": "\xff\xfe"}]}', 400, "not UTF-8"),
        ("/api/check", b'{"snippets": 5}', 422, "snippets"),
        ("/api/check", b'{"snippets": [{"id": 1, "code": "x"}]}', 422, "snippets.0.id"),
        ("/api/check", b'{"snippets": []}', 422, "non empty"),
        ("/api/check", b'{"snippets": [{"id": "a", "code": "x"}, {"id": "a", "code": "y"}]}', 422, "unique"),
        ("/api/check", b'{"snippets": [{"id": "a", "code": "x"}], "timeout": "soon"}', 422, "timeout"),
        ("/api/check", json.dumps({"snippets": [{"id": "big", "code": big}]}).encode(), 413, "max_snippet_bytes=200"),
        ("/api/check", json.dumps({"snippets": [{"id": str(i), "code": "x"} for i in range(4)]}).encode(), 413,
         "max_snippets=3"),
        ("/api/check", b'{"snippets": [{"id": "a", "code": "' + b"x" * 5000 + b'"}]}', 413, "max_body_bytes=4096"),
        ("/verify", b'{"codes": [{"custom_id": "a"}]}', 422, "no proof/code"),
        ("/verify", b"[1, 2]", 422, "body"),
        ("/v1/verify", b'{"candidates": [{"problem": "p"}]}', 422, "missing field"),
        ("/v1/verify", b'{"candidates": [{"problem": "p", "code": 3}]}', 422, "candidates.0.code"),
        ("/v1/verify", b'{"candidates": "x"}', 422, "candidates"),
        ("/api/check", b'{"snippets": [{"id": "s", "code": "\\ud800"}]}', 400, "not valid Unicode"),
        ("/v1/verify", b'{"candidates": [{"problem": "\\udfff", "code": "x"}]}', 400, "not valid Unicode"),
        ("/api/check", b'{"snippets": [{"id": "s", "code": "x", "statement": "\\udfff"}]}', 400,
         "snippets.0.statement is not valid Unicode"),
        ("/v1/verify", b'{"candidates": [{"problem": "p", "code": "x"}], "timeout": NaN}', 422, "timeout"),
        ("/verify", b"[" * 2000 + b"]" * 2000, 400, "nested too deeply"),
        ("/nowhere", b"{}", 404, "Not Found"),
    ]

    async def send() -> list[httpx.Response]:
        async with _asgi(app) as c:
            return [await c.post(path, content=body, headers={"content-type": "application/json"})
                    for path, body, _, _ in cases]

    try:
        answers = asyncio.run(send())
    finally:
        app.state.service.verifier.close()
    for (path, _, code, words), r in zip(cases, answers, strict=True):
        assert r.status_code == code, (path, r.status_code, r.text)
        assert words in r.json()["detail"], (path, r.text)


def test_bearer_token_is_required_everywhere_but_health(live):
    app = create_app(scripted_verifier(RULES), ServerSettings(api_key="s3cret"))
    body = {"snippets": [{"id": "a", "code": SNIPPETS["honest"]}]}
    try:
        with BackgroundServer(app) as url:
            assert httpx.post(f"{url}/api/check", json=body).status_code == 401
            wrong = httpx.post(f"{url}/api/check", json=body, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
            assert httpx.post(f"{url}/verify", json={"codes": [{"custom_id": 1, "proof": "x"}]}).status_code == 401
            assert httpx.post(f"{url}/v1/verify", json={"candidates": [{"problem": "p", "code": "x"}]}).status_code == 401
            assert httpx.get(f"{url}/metrics").status_code == 401
            assert httpx.get(f"{url}/health").json()["status"] == "ok"
            ok = KiminaClient(api_url=url, api_key="s3cret", n_retries=1).check(SNIPPETS["honest"], show_progress=False)
            assert ok.results[0].analyze().status == SnippetStatus.valid
    finally:
        app.state.service.verifier.close()


def test_config_and_cli(tmp_path, monkeypatch):
    cfg = compose("lean_server", ["lean=scripted", "dry_run=true", "api_key=tok", f"hydra.run.dir={tmp_path}"])
    monkeypatch.chdir(tmp_path)
    assert serve(cfg) == 0
    assert "tok" not in (tmp_path / "config.yaml").read_text()
    assert settings_from_config(cfg).api_key == "tok"
    monkeypatch.setenv("PROOFFORGE_LEAN_SERVER_API_KEY", "from-env")
    assert settings_from_config(compose("lean_server", ["lean=scripted"])).api_key == "from-env"
    with pytest.raises(LeanServerConfigError, match="max_pending"):
        settings_from_config(compose("lean_server", ["max_pending=0"]))
    with pytest.raises(LeanServerConfigError, match="port"):
        serve(compose("lean_server", ["port=70000", "dry_run=true"]))


def test_hydra_app_bad_port_is_one_line(tmp_path):
    import subprocess

    from prover.config import REPO_ROOT

    proc = subprocess.run([sys.executable, "-m", "prover.apps.lean_server", "lean=scripted", "port=70000",
                           f"hydra.run.dir={tmp_path}"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    from prover.exit_codes import USAGE

    assert proc.returncode == USAGE, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("proofforge-lean-server: port must be in 0..65535")


def test_model_written_code_is_not_logged_at_info(caplog):
    app = create_app(scripted_verifier(RULES), ServerSettings())
    secret = "theorem leak_check_4f1e : 1 = 1 := by simp -- SECRET-PROOF-TEXT"

    async def send() -> httpx.Response:
        async with _asgi(app) as c:
            return await c.post("/api/check", json={"snippets": [{"id": "leak", "code": secret}]})

    try:
        with caplog.at_level(logging.INFO):
            resp = asyncio.run(send())
    finally:
        app.state.service.verifier.close()
    assert resp.json()["results"][0]["proofforge"]["status"] == "proved"
    assert any("/api/check: 1 candidates" in r.getMessage() for r in caplog.records)
    assert "SECRET-PROOF-TEXT" not in caplog.text and "leak_check_4f1e" not in caplog.text


def test_a_proof_already_being_checked_is_not_checked_twice():
    """Two clients send the same slow proof at once: one check runs, the other waits for it; if the
    first client leaves, the waiting one is checked on its own and still answered."""
    app = create_app(scripted_verifier(RULES, workers=2), ServerSettings())
    service = app.state.service
    code = "theorem shared_thm : 1 = 1 := by napproof"

    async def scenario() -> tuple[list[dict], dict]:
        async with _asgi(app) as c:
            both = await asyncio.gather(*(c.post("/api/check", json={"snippets": [{"id": f"s{i}", "code": code}]})
                                          for i in range(2)))
            first = [r.json()["results"][0] for r in both]
            # the leader's request is cancelled (as a disconnect would) while a second one waits on it
            other = code.replace("shared_thm", "shared_two")
            leader = asyncio.ensure_future(service.verify([Candidate(problem="a", code=other)], 30))
            await asyncio.sleep(0.05)
            follower = asyncio.ensure_future(service.verify([Candidate(problem="b", code=other)], 30))
            await asyncio.sleep(0.05)
            leader.cancel()
            (res,) = await follower
            return first, {"status": res.verdict.status, "cached": res.cached, "problem": res.verdict.problem}

    try:
        first, after_cancel = asyncio.run(scenario())
    finally:
        service.verifier.close()
    assert sorted(r["proofforge"]["cached"] for r in first) == [False, True]
    assert all(r["proofforge"]["status"] == "proved" for r in first) and {r["id"] for r in first} == {"s0", "s1"}
    assert after_cancel == {"status": "proved", "cached": False, "problem": "b"}
    assert service.metrics.cache_hits._value.get() == 1 and not service._inflight
