"""The built-in server through the official ``openai`` client, on a tiny random Llama."""

from __future__ import annotations

import json
import threading

import httpx
import openai
import pytest
import torch

from prover.llm.generator import SamplingParams
from prover.llm.hf_backend import HFGenerator
from prover.records import read_jsonl
from prover.serving.app import create_app
from prover.serving.runner import BackgroundServer
from prover.testing.random_model import build_random_llama

MODEL = "tiny-random"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model on a shared, busy machine: one thread is fastest
    path = build_random_llama(tmp_path_factory.mktemp("served-llama"))
    gen = HFGenerator(path, attn_implementation="sdpa", model_name=MODEL)
    log = tmp_path_factory.mktemp("serve-run") / "requests.jsonl"
    app = create_app(gen, max_batch_size=8, batch_wait_ms=60, log_path=log)
    with BackgroundServer(app) as srv:
        srv.gen, srv.log_path = gen, log
        srv.client = openai.OpenAI(base_url=srv.base_url, api_key="unused", max_retries=0)
        yield srv
    torch.set_num_threads(threads)


def complete(srv, **kw):
    kw.setdefault("model", MODEL)
    kw.setdefault("prompt", "theorem foo : 1 = 1 := by")
    kw.setdefault("max_tokens", 16)
    return srv.client.completions.create(**kw)


def test_models_and_health(served):
    assert [m.id for m in served.client.models.list().data] == [MODEL]
    health = httpx.get(f"{served.url}/health").json()
    assert health["status"] == "ok" and health["model"] == MODEL
    # which decode attention ran: the implementation, and the compiled kernels' self-checks (none on CPU)
    assert health["attention"] == {"implementation": "sdpa", "checks": []}


def test_completion_matches_the_in_process_backend(served):
    r = complete(served, temperature=0, max_tokens=20)
    local = served.gen.generate(["theorem foo : 1 = 1 := by"], SamplingParams(temperature=0, max_tokens=20))[0][0]
    assert r.choices[0].text == local.text and r.choices[0].finish_reason == local.finish_reason == "length"
    assert r.usage.completion_tokens == 20 and r.usage.prompt_tokens == local.prompt_tokens
    assert r.object == "text_completion" and r.model == MODEL


def test_n_choices_and_prompt_lists(served):
    r = complete(served, prompt=["a", "theorem b"], n=3, temperature=1.0, seed=4)
    assert [c.index for c in r.choices] == list(range(6))
    assert len({c.text for c in r.choices[:3]}) > 1
    n_length = sum(c.finish_reason == "length" for c in r.choices)
    assert 16 * n_length <= r.usage.completion_tokens <= 16 * 6


def test_seed_repeatability(served):
    a = complete(served, n=2, temperature=1.0, seed=123)
    b = complete(served, n=2, temperature=1.0, seed=123)
    c = complete(served, n=2, temperature=1.0, seed=124)
    assert [x.text for x in a.choices] == [x.text for x in b.choices]
    assert [x.text for x in a.choices] != [x.text for x in c.choices]


def test_stop_strings(served):
    full = complete(served, temperature=0, max_tokens=24).choices[0].text
    stop = full[5:8]
    r = complete(served, temperature=0, max_tokens=24, stop=[stop])
    assert r.choices[0].text == full[: full.find(stop)] and r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens < 24


def test_completion_logprobs(served):
    r = complete(served, temperature=0, max_tokens=8, logprobs=2)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == 8
    for chosen, top in zip(lp.token_logprobs, lp.top_logprobs, strict=True):
        assert chosen <= 0 and 1 <= len(top) <= 2  # keyed by token text: partial UTF-8 tokens may collide
        assert chosen >= max(top.values()) - 1e-5  # greedy picks the most likely token
    assert lp.text_offset[0] == 0


def test_chat_completion_with_logprobs(served):
    r = served.client.chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "be terse"}, {"role": "user", "content": "prove"}],
        max_tokens=6, temperature=0, n=2, logprobs=True, top_logprobs=3,
    )
    assert r.object == "chat.completion" and len(r.choices) == 2
    assert r.choices[0].message.role == "assistant" and r.choices[0].message.content == r.choices[1].message.content
    assert r.usage.prompt_tokens == len(served.gen.encode([{"role": "system", "content": "be terse"},
                                                           {"role": "user", "content": "prove"}]))
    content = r.choices[0].logprobs.content
    assert len(content) == 6 and all(len(t.top_logprobs) == 3 for t in content)


def test_streaming_completion_equals_the_full_answer(served):
    full = complete(served, temperature=0, max_tokens=24)
    stream = complete(served, temperature=0, max_tokens=24, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == full.choices[0].text
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == ["length"]
    assert chunks[-1].usage.completion_tokens == 24


def test_streaming_chat_holds_back_stop_prefixes(served):
    msgs = [{"role": "user", "content": "go"}]
    full = served.client.chat.completions.create(model=MODEL, messages=msgs, max_tokens=24, temperature=0)
    text = full.choices[0].message.content
    stop = text[6:9]
    expected = text[: text.find(stop)]
    chunks = list(served.client.chat.completions.create(model=MODEL, messages=msgs, max_tokens=24, temperature=0,
                                                        stop=[stop], stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_raw_sse_format_ends_with_done(served):
    body = {"model": MODEL, "prompt": "x", "max_tokens": 3, "stream": True, "n": 2}
    with httpx.stream("POST", f"{served.base_url}/completions", json=body, timeout=60) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[len("data: "):]) for e in events[:-1]]
    assert all(p["object"] == "text_completion" for p in payloads)
    assert {p["choices"][0]["index"] for p in payloads} == {0, 1}


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"prompt": "x"}, 400, "model"),
        ({"model": MODEL}, 400, "prompt"),
        ({"model": MODEL, "prompt": "x", "n": 0}, 400, "n"),
        ({"model": MODEL, "prompt": "x", "temperature": -0.5}, 400, "temperature"),
        ({"model": MODEL, "prompt": "x", "temperature": float("nan")}, 400, "temperature"),
        ({"model": MODEL, "prompt": "x", "temperature": float("inf")}, 400, "temperature"),
        ({"model": MODEL, "prompt": "x", "seed": 2**70}, 400, "seed"),
        ({"model": MODEL, "prompt": "x", "top_p": 0}, 400, "top_p"),
        ({"model": MODEL, "prompt": "x", "max_tokens": "ten"}, 400, "max_tokens"),
        ({"model": MODEL, "prompt": 5}, 400, "prompt"),
        ({"model": MODEL, "prompt": "x", "max_tokens": 100000}, 400, "max_tokens"),
        ({"model": "gpt-nope", "prompt": "x"}, 404, "model"),
    ],
)
def test_malformed_completion_requests_get_openai_errors(served, body, status, param):
    # json.dumps, not httpx's json=: it writes NaN and Infinity, which some clients send.
    r = httpx.post(f"{served.base_url}/completions", content=json.dumps(body),
                   headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == status
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["param"] == param or (err["param"] or "").startswith(param)
    assert "Traceback" not in err["message"]


@pytest.mark.parametrize(
    ("path", "body", "param", "message"),
    [
        ("completions", {"model": MODEL, "prompt": 5}, "prompt", "prompt: expected str or list[str]"),
        ("completions", {"model": MODEL, "prompt": "x", "stop": 3}, "stop", "stop: expected str or list[str]"),
        ("completions", {"model": MODEL, "prompt": [1, 2, 3]}, "prompt",
         "prompt: token-id prompts are not supported by this server; send text (a string or a list of strings)"),
        ("completions", {"model": MODEL, "prompt": [[1, 2], [3]]}, "prompt",
         "prompt: token-id prompts are not supported by this server; send text (a string or a list of strings)"),
        ("chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": 5}]}, "messages.0.content",
         "messages.0.content: expected str or list[dict[str,any]]"),
    ],
)
def test_fields_of_several_types_name_the_accepted_types(served, path, body, param, message):
    r = httpx.post(f"{served.base_url}/{path}", json=body, timeout=60)
    assert r.status_code == 400
    assert r.json()["error"]["param"] == param and r.json()["error"]["message"] == message


def test_malformed_chat_and_json_errors(served):
    bad = [
        ({"model": MODEL, "messages": []}, "messages"),
        ({"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]}, "messages"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}, "top_logprobs"),
    ]
    for body, param in bad:
        r = httpx.post(f"{served.base_url}/chat/completions", json=body, timeout=60)
        assert r.status_code == 400, body
        assert (r.json()["error"]["param"] or "").startswith(param)
    r = httpx.post(f"{served.base_url}/chat/completions", content=b"{not json",
                   headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == 400 and "JSON" in r.json()["error"]["message"]
    with pytest.raises(openai.NotFoundError):
        served.client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])


def test_concurrent_requests_share_a_batch(served):
    before = httpx.get(f"{served.url}/health").json()["batches"]
    barrier = threading.Barrier(4)
    texts: list[str] = [""] * 4

    def call(i: int) -> None:
        barrier.wait()
        texts[i] = complete(served, prompt=f"lemma l{i}", temperature=0, max_tokens=12).choices[0].text

    workers = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    health = httpx.get(f"{served.url}/health").json()
    assert health["max_batch_requests"] > 1
    assert health["batches"] - before < 4  # fewer forward-pass batches than requests
    alone = complete(served, prompt="lemma l2", temperature=0, max_tokens=12).choices[0].text
    assert texts[2] == alone  # batching does not change a greedy answer


def test_request_log_is_jsonl_with_batch_sizes(served):
    complete(served, max_tokens=2)
    rows = read_jsonl(served.log_path)
    assert rows and {"id", "endpoint", "prompt_tokens", "completion_tokens", "batch_requests"} <= set(rows[-1])
    assert len({r["id"] for r in rows}) == len(rows)
