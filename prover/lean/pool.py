"""LeanPool: the local verifier — warm REPL workers keyed by header, run concurrently.

Why this shape (project-numina/kimina-lean-server's ``server/manager.py``): importing Mathlib
is the dominant cost, so each worker is one REPL holding one header environment,
built once under its own (longer) deadline, and every candidate body runs on that
environment. Idle workers form an LRU keyed by the exact normalised header; a
request reuses a matching idle worker, else starts one under the cap, else evicts
the least-recently-used idle worker, else waits. One candidate never blocks
another: a timeout or crash kills only that worker (replaced lazily on demand).

Per candidate (:mod:`prover.lean.check`): policy → body on the header env → ``#print axioms``
on the env the body produced → :func:`prover.lean.verdict.judge`. Tactic mode for search goes
through :meth:`LeanPool.session` (:mod:`prover.lean.session`); its results are never final verdicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

from prover.lean import verdict
from prover.lean.check import Prepared, Retry, Worker, check_on_worker, is_allocation_failure, prepare
from prover.lean.header import imports, split_header
from prover.lean.project import LeanMissingError
from prover.lean.repl import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MEMORY_LIMIT_GB,
    CommandResponse,
    Repl,
    ReplCrashed,
    ReplError,
    ReplTimeout,
)
from prover.lean.session import PoolSession
from prover.lean.verifier import Verifier
from prover.records import Candidate, Verdict


class _Runtime:
    """What must be cleaned up even if the pool object is dropped unclosed: workers and the loop thread."""

    def __init__(self) -> None:
        self.workers: dict[int, Worker] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None


def _finalize(rt: _Runtime) -> None:
    """Runs when an unclosed pool is garbage-collected or at interpreter exit: kill its process groups."""
    for w in list(rt.workers.values()):
        w.repl.kill_now()
    loop = rt.loop
    if loop is not None and not loop.is_closed():
        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(_shutdown(rt, loop), loop)


async def _shutdown(rt: _Runtime, loop: asyncio.AbstractEventLoop) -> None:
    """Reap the killed processes and close their transports on their own loop, then stop it."""
    workers = list(rt.workers.values())
    rt.workers.clear()
    await asyncio.gather(*(w.repl.close() for w in workers), return_exceptions=True)
    loop.stop()


def resolve_repl(project_dir: str | os.PathLike[str] | None, mathlib: bool | str = "auto") -> tuple[list[str], Path]:
    """argv and folder of the real REPL. ``mathlib="auto"``: the Mathlib project's REPL if built,
    else the standalone Lean-core REPL; raises the Mathlib variant's ``LeanMissingError`` if neither is."""
    argv, cwd, _ = resolve_repl_kind(project_dir, mathlib)
    return argv, cwd


def resolve_repl_kind(
    project_dir: str | os.PathLike[str] | None, mathlib: bool | str = "auto"
) -> tuple[list[str], Path, bool]:
    """:func:`resolve_repl` plus whether the REPL found is the Lean-core one (no Mathlib)."""
    from prover.lean.project import LeanMissingError, repl_command

    project = Path(project_dir) if project_dir else None
    if mathlib != "auto":
        argv, cwd = repl_command(project, mathlib=bool(mathlib))
        return argv, cwd, not bool(mathlib)
    try:
        argv, cwd = repl_command(project, mathlib=True)
        return argv, cwd, False
    except LeanMissingError as first:
        try:
            argv, cwd = repl_command(project, mathlib=False)
            return argv, cwd, True
        except LeanMissingError:
            raise first from None


#: Module roots a Lean-core REPL has (the toolchain's own packages); any other import needs Lake packages.
CORE_MODULE_ROOTS = frozenset({"Init", "Std", "Lean", "Lake"})


def non_core_imports(header: str | None) -> list[str]:
    """The modules ``header`` imports that a Lean-core REPL does not have (``Mathlib``, ``Aesop``...).

    Read by the header grammar (:func:`prover.lean.header.split_header`), so ``public``/``meta``
    imports and trailing comments count as Lean reads them; a header Lean rejects imports nothing here
    (its candidates fail with the header error).
    """
    if not header:
        return []
    split = split_header(header)
    if split.error is not None:
        return []
    found: list[str] = []
    for mod in imports(split.header):
        if mod.split(".")[0].strip("«»") not in CORE_MODULE_ROOTS and mod not in found:
            found.append(mod)
    return found


class MathlibMissingError(LeanMissingError):
    """A candidate imports Mathlib (or another Lake package) while only the Lean-core REPL is built."""


def mathlib_missing(modules: Sequence[str]) -> MathlibMissingError:
    shown = ", ".join(modules[:3]) + (" ..." if len(modules) > 3 else "")
    return MathlibMissingError(
        f"a candidate imports {shown}, but only the Lean-core REPL is built (lean.mathlib: auto found no "
        "Mathlib REPL): run `proofforge-lean setup --mathlib` to build lean_project with Mathlib, "
        "then rerun; nothing was judged."
    )


def require_mathlib_for(verifier: Any, headers: Iterable[str | None]) -> None:
    """Raise :class:`MathlibMissingError` if ``verifier`` is Lean-core only and a header imports more."""
    if not getattr(verifier, "core_only", False):
        return
    for header in headers:
        mods = non_core_imports(header)
        if mods:
            raise mathlib_missing(mods)


def default_workers() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


class HeaderFailed(RuntimeError):
    """The header could not be loaded (timeout, crash or a top-level REPL error)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class LeanPool(Verifier):
    """Verifier over N local REPL processes.

    ``argv``/``cwd`` start one REPL; when ``argv`` is None they come from
    :func:`prover.lean.project.repl_command` (raising ``LeanMissingError`` with one
    sentence when Lean is not installed). ``timeout`` bounds each body request,
    ``header_timeout`` the header. Workers retire after ``max_uses`` bodies or when
    their RSS (with children) passes ``max_rss_gb``.
    """

    def __init__(
        self,
        argv: Sequence[str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        *,
        project_dir: str | os.PathLike[str] | None = None,
        mathlib: bool | str = "auto",
        workers: int | None = None,
        timeout: float = 60.0,
        header_timeout: float = 600.0,
        memory_limit_gb: float | None = DEFAULT_MEMORY_LIMIT_GB,
        max_uses: int | None = 200,
        max_rss_gb: float | None = None,
        allowed_axioms: Sequence[str] | frozenset[str] = verdict.ALLOWED_AXIOMS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        process_env: dict[str, str] | None = None,
        core_only: bool = False,
    ) -> None:
        if argv is None:
            argv, found_cwd, core_only = resolve_repl_kind(project_dir, mathlib)
            cwd = cwd or found_cwd
        #: The REPL is the standalone Lean-core one: a candidate importing Mathlib is a setup error
        #: (:class:`MathlibMissingError`), not a "header error" verdict.
        self.core_only = bool(core_only)
        self.argv = list(argv)
        self.cwd = str(cwd) if cwd is not None else None
        self.max_workers = max(1, int(workers) if workers else default_workers())
        self.timeout = float(timeout)
        self.header_timeout = float(header_timeout)
        self.memory_limit_gb = memory_limit_gb
        self.max_uses = max_uses
        self.max_rss_bytes = int(max_rss_gb * 1024**3) if max_rss_gb else None
        self.allowed = frozenset(allowed_axioms)
        self.max_response_bytes = max_response_bytes
        self.process_env = process_env
        self._idle: list[Worker] = []  # least recently used first
        self._busy: set[int] = set()  # ids of workers handed out
        self._count = 0  # live workers plus workers being started
        self._cond: asyncio.Condition | None = None
        self._rt = _Runtime()
        self._all = self._rt.workers
        self._thread_lock = threading.Lock()
        weakref.finalize(self, _finalize, self._rt)
        self._closing = False
        self.stats = {"started": 0, "retired": 0, "evicted": 0, "timeouts": 0, "crashes": 0}

    # ------------------------------------------------------------------ workers

    async def _call(self, coro: Any) -> Any:
        """Run ``coro`` on the pool's own loop thread and await it from the caller's loop.

        Why a private loop: REPL processes and their pipes belong to the event loop that
        started them, while callers such as ``Strategy.prove`` run ``asyncio.run`` once per
        problem with one shared verifier. Keeping every process on one long-lived loop
        makes the pool usable from any loop, any number of times. Cancelling the caller
        cancels the work on the pool's loop too.
        """
        loop = self._ensure_thread()
        fut = asyncio.run_coroutine_threadsafe(coro, loop)
        return await asyncio.wrap_future(fut)

    def _ensure_thread(self) -> asyncio.AbstractEventLoop:
        with self._thread_lock:
            rt = self._rt
            if rt.loop is None or rt.thread is None or not rt.thread.is_alive():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()
                    loop.close()

                rt.thread = threading.Thread(target=run, name="proofforge-lean-pool", daemon=True)
                rt.thread.start()
                ready.wait()
                rt.loop = loop
                self._cond = None
            return rt.loop

    def _stop_thread(self) -> None:
        with self._thread_lock:
            loop, thread = self._rt.loop, self._rt.thread
            self._rt.loop, self._rt.thread = None, None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not threading.current_thread():
                thread.join(timeout=10)

    def kill_all_now(self) -> None:
        """Kill every REPL process group synchronously (interpreter exit, emergencies)."""
        for w in list(self._all.values()):
            w.repl.kill_now()

    @property
    def cond(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    def pids(self) -> list[int]:
        """PIDs of the live REPL processes (for tests and monitoring)."""
        return [w.repl.pid for w in self._all.values() if w.repl.pid is not None and w.repl.alive]

    def _new_repl(self) -> Repl:
        return Repl(
            self.argv,
            self.cwd,
            memory_limit_gb=self.memory_limit_gb,
            max_response_bytes=self.max_response_bytes,
            timeout=self.timeout,
            env=self.process_env,
        )

    async def _spawn(self, header: str) -> Worker:
        """Start a REPL and build the header environment (always, even for an empty header)."""
        repl = self._new_repl()
        worker = Worker(header=header, repl=repl)
        self._all[id(worker)] = worker
        try:
            await repl.start()
            resp = await repl.command(header, timeout=self.header_timeout)
        except ReplTimeout:
            await self._discard(worker)
            raise HeaderFailed("timeout", f"header did not load within {self.header_timeout:g} s") from None
        except ReplCrashed as e:
            await self._discard(worker)
            raise HeaderFailed("crashed", f"REPL crashed while loading the header: {e}") from None
        except BaseException:
            await self._discard(worker)
            raise
        if isinstance(resp, ReplError):
            await self._discard(worker)
            raise HeaderFailed("failed", f"header rejected by the REPL: {resp.message}")
        assert isinstance(resp, CommandResponse)
        worker.env = resp.env
        worker.header_messages = list(resp.messages)
        self.stats["started"] += 1
        return worker

    async def _discard(self, worker: Worker) -> None:
        self._all.pop(id(worker), None)
        await worker.repl.close()
        async with self.cond:
            self._count -= 1
            self.cond.notify_all()

    async def _acquire(self, header: str, *, fresh: bool = False) -> Worker:
        """A worker holding ``header``'s env: idle match, else new under the cap, else evict LRU, else wait.

        ``fresh=True`` skips idle matches (a retry after an allocation failure wants a new process).
        Idle workers whose process died meanwhile (OOM killer...) are dropped, never handed out.
        """
        found: Worker | None = None
        evicted: Worker | None = None
        dead: list[Worker] = []
        async with self.cond:
            while True:
                if self._closing:
                    raise RuntimeError("LeanPool is closed")
                for w in [w for w in self._idle if not w.repl.alive]:
                    self._idle.remove(w)
                    self._all.pop(id(w), None)
                    self._count -= 1
                    dead.append(w)
                if not fresh:
                    found = next((w for w in reversed(self._idle) if w.header == header), None)
                    if found is not None:
                        self._idle.remove(found)
                        self._busy.add(id(found))
                        break
                if self._count < self.max_workers:
                    self._count += 1
                    break
                if self._idle:
                    evicted = self._idle.pop(0)  # least recently used; its slot passes to us
                    self.stats["evicted"] += 1
                    break
                await self.cond.wait()
        for w in dead:
            await w.repl.close()  # reap
        if found is not None:
            return found
        if evicted is not None:
            self._all.pop(id(evicted), None)
            await evicted.repl.close()
        w = await self._spawn(header)  # on failure _spawn has released the slot
        self._busy.add(id(w))
        return w

    async def _release(self, worker: Worker, *, broken: bool = False) -> None:
        retire = broken or not worker.repl.alive or self._closing
        if not retire and self.max_uses is not None and worker.uses >= self.max_uses:
            retire = True
        if not retire and self.max_rss_bytes is not None and worker.repl.rss_bytes() > self.max_rss_bytes:
            retire = True
        self._busy.discard(id(worker))
        if retire:
            if not broken:
                self.stats["retired"] += 1
            await self._discard(worker)
            return
        async with self.cond:
            worker.last_used = time.monotonic()
            self._idle.append(worker)
            self.cond.notify_all()

    # ------------------------------------------------------------------ verify

    async def verify(self, candidates: Sequence[Candidate]) -> list[Verdict]:
        """One verdict per candidate, in order; candidates run concurrently up to the worker cap."""
        return await self._call(self._verify_all(list(candidates)))

    async def verify_one(self, candidate: Candidate) -> Verdict:
        return await self._call(self._verify_one(candidate))

    async def _verify_all(self, candidates: list[Candidate]) -> list[Verdict]:
        return list(await asyncio.gather(*(self._verify_one(c) for c in candidates)))

    async def _verify_one(self, candidate: Candidate) -> Verdict:
        t0 = time.monotonic()
        try:
            v = await self._verify(candidate)
        except LeanMissingError:
            raise  # a setup error (MathlibMissingError) stops the run; it says nothing about the candidate
        except Exception as e:  # never raise for a bad candidate
            v = Verdict("crashed", reason=f"verifier error: {type(e).__name__}: {e}")
        v.seconds = time.monotonic() - t0
        v.candidate = candidate.id
        v.problem = candidate.problem
        return v

    async def _verify(self, c: Candidate) -> Verdict:
        prepared = prepare(c)
        if isinstance(prepared, Verdict):  # refused, or a header Lean rejects: judged before any REPL runs
            return prepared
        if self.core_only:
            require_mathlib_for(self, [prepared.split.header])
        try:
            return await self._run(prepared)
        except Retry:
            try:
                return await self._run(prepared, fresh=True)
            except Retry as e:
                return Verdict("crashed", reason=f"allocation failure, also on a fresh process: {e.reason}")

    async def _run(self, prepared: Prepared, *, fresh: bool = False) -> Verdict:
        try:
            w = await self._acquire(prepared.split.header, fresh=fresh)
        except HeaderFailed as e:
            if e.status == "crashed" and is_allocation_failure(e.reason):
                raise Retry(e.reason) from None
            return Verdict(e.status, reason=e.reason)  # type: ignore[arg-type]
        broken = True  # unless the check says otherwise (a Retry or an error leaves the worker broken)
        try:
            result, broken = await check_on_worker(w, prepared, timeout=self.timeout, allowed=self.allowed,
                                                   stats=self.stats)
            return result
        finally:
            await self._release(w, broken=broken)

    # ------------------------------------------------------------------ tactic mode

    @contextlib.asynccontextmanager
    async def session(self, header: str = "") -> AsyncIterator[PoolSession]:
        """Borrow a worker for tactic-mode search on ``header`` (normalised like candidates').

        The session holds the worker exclusively until the block ends; a timeout or crash
        inside it retires the worker. Results are search signals, never verdicts: a proof
        found this way must be re-checked with :meth:`verify`.
        """
        split = split_header(header)
        require_mathlib_for(self, [split.header])
        try:
            w = await self._call(self._acquire(split.header))
        except HeaderFailed as e:
            raise RuntimeError(e.reason) from None
        s = PoolSession(self._call, w.repl, w.env, self.timeout)
        try:
            if split.body.strip():  # e.g. `open Real`: run it once, on top of the header env, for this session
                resp = await s.command(split.body)
                if isinstance(resp, ReplError) or resp.errors:
                    why = resp.message if isinstance(resp, ReplError) else resp.errors[0].data
                    raise RuntimeError(f"session preamble failed: {why.strip()[:300]}")
                s._env = resp.env
            yield s
        finally:
            await self._call(self._release(w, broken=s.broken or not w.repl.alive))

    # ------------------------------------------------------------------ closing

    async def aclose(self) -> None:
        """Kill every REPL process, reap it and stop the pool's loop thread. Safe to call twice;
        the pool stays usable (workers start again lazily)."""
        if self._rt.loop is None:
            return
        try:
            await self._call(self._close_workers())
        finally:
            self._stop_thread()

    async def _close_workers(self) -> None:
        self._closing = True
        workers = list(self._all.values())
        self._all.clear()
        self._idle.clear()
        await asyncio.gather(*(w.repl.close() for w in workers), return_exceptions=True)
        if self._cond is not None:
            async with self._cond:
                self._count = 0
                self._cond.notify_all()
        self._busy.clear()
        self._closing = False

    def verify_sync(self, candidates: Sequence[Candidate]) -> list[Verdict]:
        """Blocking ``verify``, callable with or without a running event loop (scripts, notebooks).

        Workers stay warm between calls (header reuse); :meth:`close` or :meth:`aclose` ends them.
        """
        loop = self._ensure_thread()
        return asyncio.run_coroutine_threadsafe(self._verify_all(list(candidates)), loop).result()

    def close(self) -> None:
        """Blocking :meth:`aclose`."""
        loop = self._rt.loop
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close_workers(), loop).result(timeout=60)
        finally:
            self._stop_thread()
