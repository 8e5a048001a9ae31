"""The batch scheduler without HTTP: gathering, continuous batching (joining mid-flight), cancellation."""

from __future__ import annotations

import threading

import pytest
import torch

from prover.llm.generator import SamplingParams
from prover.llm.hf_backend import HFGenerator
from prover.llm.hf_engine import RowSpec
from prover.serving.scheduler import BatchScheduler, Job
from prover.testing.random_model import build_random_llama


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield build_random_llama(tmp_path_factory.mktemp("sched-llama"))
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def gen(model_dir):
    return HFGenerator(model_dir, attn_implementation="sdpa")


class Waiter:
    """Collects a job's result on the worker thread."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.states = None
        self.info = None
        self.steps = 0

    def done(self, states, info) -> None:
        self.states, self.info = states, info
        self.event.set()

    def wait(self):
        assert self.event.wait(60), "job did not finish"
        return self.states


def job(gen, prompt: str, max_tokens: int, waiter: Waiter, **kw) -> Job:
    rows = [RowSpec(prompt_ids=gen.encode(prompt), max_tokens=max_tokens, temperature=0.0, **kw)]
    return Job(rows=rows, sample_indices=[0], on_done=waiter.done)


def greedy_alone(gen, prompt: str, max_tokens: int) -> str:
    return gen.generate([prompt], SamplingParams(temperature=0.0, max_tokens=max_tokens))[0][0].text


@pytest.mark.parametrize("attn", ["sdpa", "lean_attention"])
def test_a_request_arriving_mid_batch_joins_it_and_keeps_its_answer(model_dir, gen, attn):
    """The join left-pads the running KV cache; both attention paths must read it correctly."""
    gen = gen if attn == "sdpa" else HFGenerator(model_dir, attn_implementation=attn)
    sched = BatchScheduler(gen, max_batch_size=4, batch_wait_ms=0)
    sched.start()
    try:
        first, second = Waiter(), Waiter()
        late = job(gen, "lemma bar (n : Nat) : n ≤ n + 1 := by simp; exact le_refl and more", 10, second)

        def on_step(_snaps) -> None:  # submit the second request while the first is decoding
            first.steps += 1
            if first.steps == 3:
                sched.submit(late)

        early = job(gen, "x", 30, first)
        early.stream, early.on_step = True, on_step
        sched.submit(early)
        a, b = first.wait(), second.wait()
        assert sched.batches == 1 and sched.max_batch_requests == 2
        assert second.info["batch_requests"] == 2
        assert a[0].text == greedy_alone(gen, "x", 30)  # the running rows are unaffected by the join
        assert b[0].text == greedy_alone(gen, "lemma bar (n : Nat) : n ≤ n + 1 := by simp; exact le_refl and more", 10)
        assert len(b[0].token_ids) == 10 and second.event.is_set()
    finally:
        sched.stop()


def test_requests_waiting_together_form_one_batch_and_respect_the_size_cap(gen):
    sched = BatchScheduler(gen, max_batch_size=3, batch_wait_ms=50)
    waiters = [Waiter() for _ in range(5)]
    sched.start()
    try:
        for i, w in enumerate(waiters):
            sched.submit(job(gen, f"theorem t{i}", 6, w))
        texts = [w.wait()[0].text for w in waiters]
        assert sched.max_batch_rows <= 3 and sched.max_batch_requests >= 2
        assert texts[4] == greedy_alone(gen, "theorem t4", 6)
    finally:
        sched.stop()


def test_cancelled_rows_stop_with_abort(gen):
    sched = BatchScheduler(gen, max_batch_size=2, batch_wait_ms=0)
    sched.start()
    try:
        w = Waiter()
        j = job(gen, "x", 400, w)

        def on_step(_snaps) -> None:
            j.cancel.set()

        j.stream, j.on_step = True, on_step
        sched.submit(j)
        st = w.wait()[0]
        assert st.finish_reason == "abort" and len(st.token_ids) < 5
    finally:
        sched.stop()
