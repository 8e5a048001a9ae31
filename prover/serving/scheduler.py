"""Request batching for the built-in server: concurrent requests share one batched forward pass.

A single worker thread owns the model. It takes the first waiting request, then keeps
collecting for at most ``batch_wait_ms`` or until ``max_batch_size`` sequences (``n``
rows per request) are gathered, and decodes them together. Requests that arrive while
a batch is running join it between decode steps (continuous batching) while there is
room. A request whose rows have all finished is answered at once, without waiting for
the rest of its batch. Results
and streaming steps reach the asyncio side through callbacks the job supplies.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from prover.llm.hf_backend import HFGenerator
from prover.llm.hf_engine import RowSpec, RowState, row_generator

log = logging.getLogger(__name__)


@dataclass
class StepSnapshot:
    """One row's progress after a decode step, copied so the worker can move on."""

    index: int  # the row's index within its job
    text: str
    num_tokens: int
    new_tokens: list[tuple[int, float, list[tuple[int, float]]]]  # (token id, logprob, top alternatives)
    finish_reason: str | None


@dataclass
class Job:
    """One request: its rows, and callbacks run on the worker thread (keep them cheap)."""

    rows: list[RowSpec]
    sample_indices: list[int]
    stream: bool = False
    on_step: Callable[[list[StepSnapshot]], None] | None = None
    on_done: Callable[[list[RowState], dict], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    submitted: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        for r in self.rows:
            r.cancel = self.cancel


class BatchScheduler:
    """Gathers :class:`Job` objects into batches and runs them on one :class:`HFGenerator`."""

    def __init__(self, generator: HFGenerator, max_batch_size: int = 16, batch_wait_ms: float = 10.0) -> None:
        self.generator = generator
        self.max_batch_size = max(1, int(max_batch_size))
        self.batch_wait = max(0.0, float(batch_wait_ms)) / 1000.0
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._carry: Job | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.batches = 0
        self.requests = 0
        self.max_batch_requests = 0
        self.max_batch_rows = 0
        self.recent: deque[tuple[int, int]] = deque(maxlen=256)  # (requests, rows) per batch

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="proofforge-batcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._stopping = True
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def submit(self, job: Job) -> None:
        if self._thread is None:
            raise RuntimeError("the batch scheduler is not running")
        self._queue.put(job)

    def stats(self) -> dict:
        return {
            "batches": self.batches,
            "requests": self.requests,
            "max_batch_requests": self.max_batch_requests,
            "max_batch_rows": self.max_batch_rows,
            "queued": self._queue.qsize(),
        }

    # -- the worker ---------------------------------------------------------------------------
    def _gather(self) -> list[Job] | None:
        first = self._carry if self._carry is not None else self._queue.get()
        self._carry = None
        if first is None:
            return None
        batch, rows = [first], len(first.rows)
        deadline = time.monotonic() + self.batch_wait
        while rows < self.max_batch_size:
            left = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # stop after this batch
                break
            if rows + len(job.rows) > self.max_batch_size:
                self._carry = job
                break
            batch.append(job)
            rows += len(job.rows)
        return batch

    def _loop(self) -> None:
        while True:
            batch = self._gather()
            if batch is None:
                return
            batch = [j for j in batch if not j.cancel.is_set()]
            if batch:
                self._run(batch)

    def _take_nowait(self, room: int) -> Job | None:
        """The next waiting job if its rows fit in ``room`` (else it waits, first in line)."""
        job = self._carry
        self._carry = None
        if job is None:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return None
        if job is None:
            self._queue.put(None)  # stopping: leave the sentinel for the loop
            return None
        if len(job.rows) > room:
            self._carry = job
            return None
        return job

    def _run(self, batch: list[Job]) -> None:
        rows: list[RowSpec] = []
        sample_idx: list[int] = []
        owner: list[tuple[Job, int]] = []
        seen: list[int] = []  # tokens already reported per row
        left: dict[int, int] = {}  # rows still running per job
        info: dict[int, dict] = {}
        done_jobs: set[int] = set()
        engine = self.generator.engine

        def add(job: Job) -> None:
            for k, (row, j) in enumerate(zip(job.rows, job.sample_indices, strict=True)):
                row.incremental = job.stream
                rows.append(row)
                sample_idx.append(j)
                owner.append((job, k))
                seen.append(0)
            left[id(job)] = len(job.rows)
            in_flight = sum(1 for v in left.values() if v > 0)
            running = sum(v for v in left.values())
            info[id(job)] = {"batch_requests": in_flight, "batch_rows": running}
            self.requests += 1
            self.max_batch_requests = max(self.max_batch_requests, in_flight)
            self.max_batch_rows = max(self.max_batch_rows, running)

        for job in batch:
            add(job)
        self.batches += 1
        self.recent.append((len(batch), len(rows)))

        def admit(n_active: int) -> list[tuple[RowSpec, torch.Generator]]:
            """Continuous batching: waiting requests join the running batch between steps."""
            joined: list[tuple[RowSpec, torch.Generator]] = []
            while not self._stopping:
                job = self._take_nowait(self.max_batch_size - n_active - len(joined))
                if job is None:
                    break
                if job.cancel.is_set():
                    continue
                batch.append(job)
                add(job)
                joined += [(r, row_generator(r.seed, j)) for r, j in zip(job.rows, job.sample_indices, strict=True)]
            return joined

        def finish(job: Job, states: list[RowState]) -> None:
            done_jobs.add(id(job))
            if job.on_done is not None:
                job.on_done(states, info[id(job)])

        def job_states(job: Job, states: list[RowState]) -> list[RowState]:
            return [states[x] for x, (o, _) in enumerate(owner) if o is job]

        def on_step(step: int, states: list[RowState], changed: list[int]) -> None:
            per_job: dict[int, list[StepSnapshot]] = {}
            finished: list[Job] = []
            for i in changed:
                job, k = owner[i]
                st = states[i]
                new = []
                for t in range(seen[i], len(st.token_ids)):
                    top = st.top_logprobs[t] if t < len(st.top_logprobs) else []
                    new.append((st.token_ids[t], st.token_logprobs[t], top))
                seen[i] = len(st.token_ids)
                if st.done:
                    st.text = engine.final_text(rows[i], st)
                    left[id(job)] -= 1
                    if left[id(job)] == 0:
                        finished.append(job)
                if job.stream:
                    per_job.setdefault(id(job), []).append(
                        StepSnapshot(k, st.text, len(st.token_ids), new, st.finish_reason)
                    )
            for job in batch:
                snaps = per_job.get(id(job))
                if snaps and job.on_step is not None:
                    job.on_step(snaps)
            for job in finished:
                finish(job, job_states(job, states))

        try:
            states = self.generator.run_rows(rows, sample_idx, on_step=on_step, admit=admit)
        except BaseException as e:  # report to every waiting request, keep serving
            log.exception("batch of %d requests failed", len(batch))
            for job in batch:
                if id(job) not in done_jobs and job.on_error is not None:
                    job.on_error(e)
            return
        for job in batch:
            if id(job) not in done_jobs:
                finish(job, job_states(job, states))
