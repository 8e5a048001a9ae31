"""The OpenAI-compatible client backend against a small scripted HTTP server: retries, errors, parsing."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from prover.llm.errors import GeneratorError
from prover.llm.generator import SamplingParams
from prover.llm.openai_backend import OpenAIGenerator
from prover.serving.runner import BackgroundServer, free_port


class Script:
    """Per-path queues of HTTP statuses to answer before succeeding; records every request body."""

    def __init__(self) -> None:
        self.failures: dict[str, list[int]] = {}
        self.bodies: list[tuple[str, dict]] = []
        self.delay = 0.0  # seconds each completion request is held, so concurrent ones overlap
        self.in_flight = 0
        self.peak = 0  # most completion requests in flight at once
        self.headers: dict[str, str] = {"retry-after-ms": "1"}  # sent with every scripted failure
        self.times: list[float] = []  # when each completion request arrived (monotonic seconds)


def _choice_text(body: dict, i: int) -> str:
    return f"out{i}:{body.get('seed')}"


def make_app(script: Script) -> FastAPI:
    app = FastAPI()

    def fail(path: str) -> JSONResponse | None:
        queue = script.failures.get(path) or []
        if queue:
            status = queue.pop(0)
            # a short server-directed wait keeps the client's retries fast (it honours retry-after-ms)
            return JSONResponse({"error": {"message": f"scripted {status}", "type": "x", "param": None,
                                           "code": None}}, status_code=status, headers=script.headers)
        return None

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": "served-model", "object": "model", "created": 0,
                                            "owned_by": "me"}]}

    @app.post("/v1/completions")
    async def completions(req: Request):
        body = await req.json()
        script.bodies.append(("completions", body))
        script.times.append(time.monotonic())
        if (r := fail("completions")) is not None:
            return r
        if script.delay:
            script.in_flight += 1
            script.peak = max(script.peak, script.in_flight)
            await asyncio.sleep(script.delay)
            script.in_flight -= 1
        n = body.get("n", 1)
        choices = []
        for i in range(n):
            lp = None
            if body.get("logprobs") is not None:
                lp = {"tokens": ["a", "b"], "token_logprobs": [-0.5, -1.0], "top_logprobs": None,
                      "text_offset": [0, 1]}
            choices.append({"index": n - 1 - i, "text": _choice_text(body, n - 1 - i), "logprobs": lp,
                            "finish_reason": "length" if i == 0 else "stop"})
        return {"id": "c", "object": "text_completion", "created": 0, "model": body["model"], "choices": choices,
                "usage": {"prompt_tokens": 5, "completion_tokens": 4 * n, "total_tokens": 5 + 4 * n}}

    @app.post("/v1/chat/completions")
    async def chat(req: Request):
        body = await req.json()
        script.bodies.append(("chat", body))
        if (r := fail("chat")) is not None:
            return r
        n = body.get("n", 1)
        choices = []
        for i in range(n):
            lp = None
            if body.get("logprobs"):
                lp = {"content": [{"token": "x", "logprob": -0.25, "bytes": [120], "top_logprobs": []}]}
            choices.append({"index": i, "message": {"role": "assistant", "content": f"chat{i}"}, "logprobs": lp,
                            "finish_reason": "stop"})
        return {"id": "cc", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": choices, "usage": {"prompt_tokens": 7, "completion_tokens": n, "total_tokens": 7 + n}}

    return app


@pytest.fixture(scope="module")
def server():
    script = Script()
    with BackgroundServer(make_app(script)) as srv:
        srv.script = script
        yield srv


@pytest.fixture
def script(server):
    server.script.failures.clear()
    server.script.bodies.clear()
    server.script.delay, server.script.in_flight, server.script.peak = 0.0, 0, 0
    server.script.headers, server.script.times = {"retry-after-ms": "1"}, []
    return server.script


def client(server, **kw) -> OpenAIGenerator:
    kw.setdefault("model", "served-model")
    return OpenAIGenerator(server.base_url, **kw)


def test_completions_n_stop_seed_logprobs_round_trip(server, script):
    gen = client(server)
    s = SamplingParams(n=3, temperature=0.7, top_p=0.9, max_tokens=33, stop=["```"], seed=11, logprobs=True)
    out = gen.generate(["p1", "p2"], s)
    assert [[c.text for c in row] for row in out] == [["out0:11", "out1:11", "out2:11"]] * 2  # index order
    c = out[0][0]
    assert c.token_logprobs == [-0.5, -1.0] and c.logprob == pytest.approx(-1.5)
    assert c.completion_tokens == 2 and c.prompt_tokens == 5
    assert out[0][2].finish_reason == "length"
    kind, body = script.bodies[0]
    assert kind == "completions"
    assert {k: body[k] for k in ("n", "temperature", "top_p", "max_tokens", "stop", "seed")} == {
        "n": 3, "temperature": 0.7, "top_p": 0.9, "max_tokens": 33, "stop": ["```"], "seed": 11}


def test_chat_prompts_and_chat_mode_use_the_chat_endpoint(server, script):
    gen = client(server, chat=True, system_prompt="be brief")
    out = gen.generate(["text prompt", [{"role": "user", "content": "hi"}]], SamplingParams(n=2, logprobs=True))
    assert [c.text for c in out[1]] == ["chat0", "chat1"]
    assert out[0][0].token_logprobs == [-0.25] and out[0][0].prompt_tokens == 7
    kinds = [k for k, _ in script.bodies]
    assert kinds == ["chat", "chat"]
    first = script.bodies[0][1]["messages"]
    assert first[0] == {"role": "system", "content": "be brief"} and first[1]["content"] in ("text prompt", "hi")


def test_model_none_asks_the_server(server, script):
    gen = client(server, model=None)
    gen.generate(["p"], SamplingParams())
    assert gen.model == "served-model" and script.bodies[0][1]["model"] == "served-model"


@pytest.mark.parametrize("statuses", [[429, 429], [503], [500, 502]])
def test_retries_on_rate_limit_and_server_errors(server, script, statuses):
    script.failures["completions"] = list(statuses)
    gen = client(server, max_retries=3)
    out = gen.generate(["p"], SamplingParams())
    assert out[0][0].text == "out0:None"
    assert gen.attempts == len(statuses) + 1


@pytest.mark.parametrize("status", [429, 503])
def test_the_clients_retries_wait_what_retry_after_says(server, script, status):
    script.failures["completions"] = [status]
    script.headers = {"Retry-After": "1"}  # seconds; the client's own backoff would be ~0.4-0.5 s
    gen = client(server, max_retries=2)
    out = gen.generate(["p"], SamplingParams())
    assert out[0][0].text == "out0:None" and gen.attempts == 2 and len(script.times) == 2
    # the one gap between two requests to our own server (not a speed claim): it waited the second asked for
    assert script.times[1] - script.times[0] >= 0.95


def test_x_should_retry_false_is_obeyed(server, script):
    script.failures["completions"] = [503]
    script.headers = {"x-should-retry": "false"}
    gen = client(server, max_retries=3)
    with pytest.raises(GeneratorError, match="HTTP 503"):
        gen.generate(["p"], SamplingParams())
    assert gen.attempts == 1


def test_gives_up_after_max_retries_with_one_sentence(server, script):
    script.failures["completions"] = [500] * 5
    gen = client(server, max_retries=2)
    with pytest.raises(GeneratorError) as e:
        gen.generate(["p"], SamplingParams())
    assert gen.attempts == 3
    msg = str(e.value)
    assert server.base_url in msg and "HTTP 500" in msg and "\n" not in msg


def test_client_errors_are_not_retried(server, script):
    script.failures["completions"] = [400]
    gen = client(server, max_retries=3)
    with pytest.raises(GeneratorError, match="HTTP 400.*scripted 400"):
        gen.generate(["p"], SamplingParams())
    assert gen.attempts == 1


def test_down_server_error_names_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    gen = OpenAIGenerator(url, model="m", max_retries=1)
    with pytest.raises(GeneratorError) as e:
        gen.generate(["p"], SamplingParams())
    msg = str(e.value)
    assert msg.startswith(f"cannot reach the OpenAI-compatible server at {url}")
    assert "refused" in msg.lower() and "\n" not in msg
    assert e.value.__cause__ is None and e.value.__suppress_context__


async def test_async_generate_and_sync_generate_inside_a_running_loop(server, script):
    gen = client(server, max_concurrency=2)
    out = await gen.agenerate(["a", "b", "c"], SamplingParams(n=1, seed=5))
    assert [r[0].text for r in out] == ["out0:5"] * 3
    sync = gen.generate(["d"], SamplingParams(seed=6))  # from inside this event loop: runs on its own thread
    assert sync[0][0].text == "out0:6"


def test_empty_base_url_is_a_clear_error():
    with pytest.raises(GeneratorError, match="base_url is empty"):
        OpenAIGenerator("", model="m")


@pytest.mark.parametrize("limit", [2, 8])
def test_concurrency_is_bounded_by_max_concurrency(server, script, limit):
    script.delay = 0.2  # long enough that requests sent together overlap on the server
    out = client(server, max_concurrency=limit).generate([f"p{i}" for i in range(8)], SamplingParams())
    assert len(out) == 8 and len(script.bodies) == 8
    assert script.peak <= limit
    assert script.peak > 1  # requests do run concurrently (the bound is not a serialisation)
