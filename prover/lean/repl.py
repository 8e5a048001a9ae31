"""One Lean REPL process (``leanprover-community/repl``) and its exact wire protocol.

Why this module exists: the REPL has no timeout, no memory limit and reports crashes
only on stderr, so a client that is not careful hangs, fills a pipe or leaks
processes. The rules followed here (read in leanprover-community/repl at tag v4.24.0,
``REPL/Main.lean`` and ``README.md``):

* the process runs in its own process group (``lake env`` spawns a child), so a
  timeout kills the whole group with SIGKILL;
* each request is single-line JSON followed by exactly one blank line (a second
  blank line, or bad JSON, is fatal to the REPL);
* each response is pretty-printed JSON over several lines ending with an empty line;
* stderr is drained concurrently into a bounded buffer so the pipe never fills;
* a response larger than ``max_response_bytes`` ends the request as a crash.

Responses become frozen dataclasses; a top-level ``{"message": ...}`` becomes a
:class:`ReplError` (returned, not raised: the process is still alive). Timeouts and
crashes raise :class:`ReplTimeout` / :class:`ReplCrashed` and leave no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from prover.records import Message, Pos, errors_in

#: Default cap on the virtual address space of one REPL (Mathlib's mmapped .oleans need ~8+ GB).
DEFAULT_MEMORY_LIMIT_GB = 12.0
#: Default cap on one response; anything larger is treated as a crash.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
#: How much of stderr to keep (the tail).
STDERR_KEEP_BYTES = 64 * 1024
#: A line Lean's runtime prints on stderr when a ``panic!`` fires or an internal invariant breaks
#: (``lean_panic_fn``: "PANIC at f m:l:c: msg"; "INTERNAL PANIC: ..."). The REPL then usually still
#: answers, from a state nobody tested: the candidate is ``crashed``, whatever the reply says.
PANIC_LINE = re.compile(r"^[ \t]*(?:INTERNAL PANIC|PANIC)\b.*$", re.MULTILINE)


class ReplException(RuntimeError):
    """Base of the errors that end a REPL process."""


class ReplTimeout(ReplException):
    """No reply before the deadline; the process group was killed."""


class ReplCrashed(ReplException):
    """The process exited, closed stdout, or answered something unparseable/oversized.

    ``stderr`` carries the tail of what the process printed on stderr, the only place
    a REPL says why it died.
    """

    def __init__(self, message: str, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message + (f"; stderr: {stderr.strip()[-2000:]}" if stderr.strip() else ""))
        self.reason = message
        self.stderr = stderr
        self.returncode = returncode


class _Broken(Exception):
    """Inside an exchange: the stream is unusable (``kill``: the process may still be running)."""

    def __init__(self, why: str, kill: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.kill = kill


# ------------------------------------------------------------------------ responses


def _messages(raw: Any) -> list[Message]:
    return [Message.from_dict(m) for m in (raw or [])]


@dataclass(frozen=True)
class ProofGoal:
    """A ``sorry`` the REPL reports with its goal: ``{"proofState", "goal", "pos", "endPos"}``.

    ``proof_state`` is the id tactic mode continues from (None when the REPL gave none, e.g. a
    ``sorry`` in a position it cannot resume). Mirrors leanprover-community/repl (tag v4.24.0)
    ``REPL/JSON.lean``'s ``Sorry`` structure.
    """

    goal: str
    proof_state: int | None = None
    pos: Pos | None = None
    end_pos: Pos | None = None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ProofGoal:
        ps = obj.get("proofState")
        return cls(goal=str(obj.get("goal", "")), proof_state=None if ps is None else int(ps),
                   pos=Pos.from_dict(obj.get("pos")), end_pos=Pos.from_dict(obj.get("endPos")))


@dataclass(frozen=True)
class TacticInfo:
    """One entry of ``allTactics``: a tactic as written, its goals before, its used constants.

    Mirrors repl (tag v4.24.0) ``REPL/JSON.lean``'s ``Tactic`` structure
    (``tactic``, ``goals``, ``proofState``, ``pos``, ``endPos``, ``usedConstants``).
    """

    tactic: str
    goals: str = ""
    proof_state: int | None = None
    pos: Pos | None = None
    end_pos: Pos | None = None
    used_constants: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TacticInfo:
        ps = obj.get("proofState")
        return cls(tactic=str(obj.get("tactic", "")), goals=str(obj.get("goals", "")),
                   proof_state=None if ps is None else int(ps), pos=Pos.from_dict(obj.get("pos")),
                   end_pos=Pos.from_dict(obj.get("endPos")),
                   used_constants=tuple(str(c) for c in obj.get("usedConstants") or []))


@dataclass(frozen=True)
class CommandResponse:
    """Reply to a ``cmd`` or ``path`` request. Missing lists mean empty (the REPL omits them)."""

    env: int
    messages: list[Message] = field(default_factory=list)
    sorries: list[dict[str, Any]] = field(default_factory=list)
    tactics: list[dict[str, Any]] = field(default_factory=list)
    infotree: list[Any] | None = None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> CommandResponse:
        return cls(
            env=int(obj["env"]),
            messages=_messages(obj.get("messages")),
            sorries=list(obj.get("sorries") or []),
            tactics=list(obj.get("tactics") or []),
            infotree=obj.get("infotree"),
        )

    @property
    def errors(self) -> list[Message]:
        return errors_in(self.messages)

    @property
    def proof_goals(self) -> list[ProofGoal]:
        """The ``sorries`` as typed records (tactic mode starts from their proof states)."""
        return [ProofGoal.from_json(x) for x in self.sorries]

    @property
    def tactic_infos(self) -> list[TacticInfo]:
        """``allTactics``' entries as typed records (empty unless the request asked for them)."""
        return [TacticInfo.from_json(x) for x in self.tactics]


@dataclass(frozen=True)
class TacticResponse:
    """Reply to a ``tactic`` request. ``goals == []`` is NOT success: check ``completed``."""

    proof_state: int
    goals: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    sorries: list[dict[str, Any]] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)
    proof_status: str | None = None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TacticResponse:
        return cls(
            proof_state=int(obj["proofState"]),
            goals=list(obj.get("goals") or []),
            messages=_messages(obj.get("messages")),
            sorries=list(obj.get("sorries") or []),
            traces=list(obj.get("traces") or []),
            proof_status=obj.get("proofStatus"),
        )

    @property
    def errors(self) -> list[Message]:
        return errors_in(self.messages)

    @property
    def completed(self) -> bool:
        """The REPL kernel-checked the assembled proof and reported no error (search success only)."""
        return self.proof_status == "Completed" and not self.errors


@dataclass(frozen=True)
class PickleResponse:
    """Reply to a pickle/unpickle request: the (new or same) env or proof-state id."""

    env: int | None = None
    proof_state: int | None = None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> PickleResponse:
        env = obj.get("env")
        ps = obj.get("proofState")
        return cls(env=None if env is None else int(env), proof_state=None if ps is None else int(ps))


@dataclass(frozen=True)
class ReplError:
    """A top-level ``{"message": ...}`` reply: the request failed but the process lives on."""

    message: str

    @property
    def unknown_proof_state(self) -> bool:
        return "unknown proof state" in self.message.lower()

    @property
    def unknown_environment(self) -> bool:
        return "unknown environment" in self.message.lower()


Response = Union[CommandResponse, TacticResponse, PickleResponse, ReplError]


def parse_response(obj: Any, kind: str) -> Response:
    """Type a decoded reply. ``kind`` is ``command``, ``tactic`` or ``pickle``."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if "message" in obj and "env" not in obj and "proofState" not in obj:
        return ReplError(str(obj["message"]))
    if kind == "command":
        return CommandResponse.from_json(obj)
    if kind == "tactic":
        return TacticResponse.from_json(obj)
    if kind == "pickle":
        return PickleResponse.from_json(obj)
    raise ValueError(f"unknown response kind {kind!r}")


def encode_request(obj: dict[str, Any]) -> bytes:
    """Single-line JSON plus exactly one blank line (``json.dumps`` escapes newlines in strings)."""
    return (json.dumps(obj, ensure_ascii=False) + "\n\n").encode("utf-8")


# -------------------------------------------------------------------------- process


def _limit_memory(limit_bytes: int) -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


class Repl:
    """One REPL process. Not safe for concurrent requests: a lock serialises them.

    ``argv`` is the full command (e.g. ``["lake", "env", ".../repl"]``), started in ``cwd``.
    ``uses`` counts requests answered; :meth:`rss_bytes` sums the RSS of the process
    and its children (``lake env`` is a parent of the real REPL).
    """

    def __init__(
        self,
        argv: Sequence[str],
        cwd: str | os.PathLike[str] | None = None,
        *,
        memory_limit_gb: float | None = DEFAULT_MEMORY_LIMIT_GB,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> None:
        if not argv:
            raise ValueError("Repl: empty argv")
        self.argv = [str(a) for a in argv]
        self.cwd = str(cwd) if cwd is not None else None
        self.memory_limit_gb = memory_limit_gb
        self.max_response_bytes = int(max_response_bytes)
        self.timeout = float(timeout)
        self.env = env
        self.uses = 0
        self.started_at = 0.0
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr = bytearray()
        self._stderr_total = 0  # bytes ever read from stderr (the buffer keeps only the tail)
        self._stderr_task: asyncio.Task[None] | None = None
        #: The first PANIC line printed on stderr during the last request, else None.
        self.last_panic: str | None = None
        self._lock = asyncio.Lock()
        self._dead = False

    # -- lifecycle

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and not self._dead

    @property
    def stderr(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    async def start(self) -> Repl:
        """Start the process (idempotent). Raises FileNotFoundError naming the missing program."""
        if self._proc is not None:
            return self
        preexec = None
        if self.memory_limit_gb:
            limit = int(self.memory_limit_gb * 1024**3)
            preexec = lambda: _limit_memory(limit)  # noqa: E731
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=preexec,
                limit=self.max_response_bytes + 1024,
            )
        except FileNotFoundError:
            raise FileNotFoundError(f"cannot start the Lean REPL: {self.argv[0]!r} not found") from None
        self.started_at = time.monotonic()
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        return self

    async def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        with contextlib.suppress(Exception):
            while True:
                chunk = await self._proc.stderr.read(65536)
                if not chunk:
                    return
                self._stderr += chunk
                self._stderr_total += len(chunk)
                if len(self._stderr) > STDERR_KEEP_BYTES:
                    del self._stderr[: len(self._stderr) - STDERR_KEEP_BYTES]

    def _kill_group(self) -> None:
        proc = self._proc
        if proc is None:
            return
        # The group id equals the pid (start_new_session); killing the group also reaches children
        # that outlived the leader (lake's REPL child). Not proc.kill() as well: Popen's kill polls
        # first and would reap the child behind asyncio's child watcher.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def kill_now(self) -> None:
        """Kill the process group without awaiting (for processes of an event loop that has ended)."""
        self._dead = True
        self._kill_group()

    async def close(self) -> None:
        """Kill the process group and reap it: no zombie or orphan is left. Safe to call twice."""
        proc = self._proc
        self._dead = True
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        self._kill_group()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 10)
        if self._stderr_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._stderr_task, 2)
            if not self._stderr_task.done():
                self._stderr_task.cancel()
        # close the transport's pipes so nothing is left for the GC to complain about
        transport = getattr(proc, "_transport", None)
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()

    async def __aenter__(self) -> Repl:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def rss_bytes(self) -> int:
        """Resident memory of the process and all its children (0 if gone)."""
        if not self.alive:
            return 0
        import psutil

        try:
            p = psutil.Process(self.pid)
            procs = [p, *p.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for q in procs:
            with contextlib.suppress(psutil.Error):
                total += q.memory_info().rss
        return total

    # -- protocol

    async def request(self, obj: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send one request and return the decoded JSON reply.

        Raises :class:`ReplTimeout` (process group killed) or :class:`ReplCrashed`
        (process killed if still running) — after either, this Repl is dead.
        """
        if not self.alive:
            if self._proc is None and not self._dead:
                await self.start()
            else:
                raise ReplCrashed("the REPL process is not running", self.stderr, self._returncode())
        timeout = self.timeout if timeout is None else float(timeout)
        async with self._lock:
            self.last_panic = None
            mark = self._stderr_total
            try:
                reply = await asyncio.wait_for(self._exchange(encode_request(obj)), timeout)
                self.last_panic = await self._panic_since(mark)
                return reply
            except asyncio.TimeoutError:
                self._dead = True
                await self.close()
                raise ReplTimeout(f"Lean REPL did not answer within {timeout:g} s") from None
            except _Broken as b:
                self._dead = True
                err = await self._crash(b)
                await self.close()
                raise err from None
            except asyncio.CancelledError:
                # a half-finished exchange leaves the stream out of sync: the process is unusable
                self._dead = True
                self._kill_group()
                raise

    async def _panic_since(self, mark: int) -> str | None:
        """The first PANIC line on stderr since byte ``mark``.

        Lean writes the line before the reply, but stderr is another pipe: a few loop turns let
        the drain task read what is already there before we look.
        """
        for _ in range(3):
            await asyncio.sleep(0)
        new = self._stderr_total - mark
        if new <= 0:
            return None
        tail = bytes(self._stderr[-min(new, len(self._stderr)) :]).decode("utf-8", "replace")
        m = PANIC_LINE.search(tail)
        return m.group(0).strip() if m else None

    def _returncode(self) -> int | None:
        return self._proc.returncode if self._proc else None

    async def _crash(self, broken: _Broken) -> ReplCrashed:
        """Kill if needed, let the process exit and stderr drain, so the report says why it died."""
        proc = self._proc
        if broken.kill:
            self._kill_group()
        if proc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 1.0)
        if self._stderr_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), 0.5)
        return ReplCrashed(broken.why, self.stderr, self._returncode())

    async def _exchange(self, data: bytes) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(data)
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            raise _Broken("the REPL closed its input (process exited)") from None
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                line = await proc.stdout.readline()
            except (ValueError, asyncio.LimitOverrunError):
                raise _Broken(f"REPL response exceeded {self.max_response_bytes} bytes", kill=True) from None
            if not line:
                raise _Broken("the REPL closed its output (process exited)")
            size += len(line)
            if size > self.max_response_bytes:
                raise _Broken(f"REPL response exceeded {self.max_response_bytes} bytes", kill=True)
            if not line.strip():
                if chunks:
                    break
                continue  # tolerate stray blank lines before a response
            chunks.append(line)
        text = b"".join(chunks).decode("utf-8", "replace")
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            raise _Broken(f"unparseable REPL response: {text[:200]!r}", kill=True) from None
        if not isinstance(obj, dict):
            raise _Broken(f"REPL response is not a JSON object: {text[:200]!r}", kill=True)
        self.uses += 1
        return obj

    # -- typed requests

    async def command(
        self,
        cmd: str,
        env: int | None = None,
        *,
        all_tactics: bool = False,
        root_goals: bool = False,
        infotree: str | None = None,
        timeout: float | None = None,
    ) -> CommandResponse | ReplError:
        req: dict[str, Any] = {"cmd": cmd}
        _command_options(req, env, all_tactics, root_goals, infotree)
        return parse_response(await self.request(req, timeout), "command")  # type: ignore[return-value]

    async def file(
        self,
        path: str | os.PathLike[str],
        env: int | None = None,
        *,
        all_tactics: bool = False,
        root_goals: bool = False,
        infotree: str | None = None,
        timeout: float | None = None,
    ) -> CommandResponse | ReplError:
        req: dict[str, Any] = {"path": str(path)}
        _command_options(req, env, all_tactics, root_goals, infotree)
        return parse_response(await self.request(req, timeout), "command")  # type: ignore[return-value]

    async def tactic(
        self, tactic: str, proof_state: int, *, timeout: float | None = None
    ) -> TacticResponse | ReplError:
        req = {"tactic": tactic, "proofState": int(proof_state)}
        return parse_response(await self.request(req, timeout), "tactic")  # type: ignore[return-value]

    async def pickle_env(
        self, path: str | os.PathLike[str], env: int, *, timeout: float | None = None
    ) -> PickleResponse | ReplError:
        req = {"pickleTo": str(path), "env": int(env)}
        return parse_response(await self.request(req, timeout), "pickle")  # type: ignore[return-value]

    async def pickle_proof_state(
        self, path: str | os.PathLike[str], proof_state: int, *, timeout: float | None = None
    ) -> PickleResponse | ReplError:
        req = {"pickleTo": str(path), "proofState": int(proof_state)}
        return parse_response(await self.request(req, timeout), "pickle")  # type: ignore[return-value]

    async def unpickle_env(
        self, path: str | os.PathLike[str], *, timeout: float | None = None
    ) -> PickleResponse | ReplError:
        req = {"unpickleEnvFrom": str(path)}
        return parse_response(await self.request(req, timeout), "pickle")  # type: ignore[return-value]

    async def unpickle_proof_state(
        self, path: str | os.PathLike[str], env: int | None = None, *, timeout: float | None = None
    ) -> PickleResponse | ReplError:
        req: dict[str, Any] = {"unpickleProofStateFrom": str(path)}
        if env is not None:
            req["env"] = int(env)
        return parse_response(await self.request(req, timeout), "pickle")  # type: ignore[return-value]


def _command_options(
    req: dict[str, Any], env: int | None, all_tactics: bool, root_goals: bool, infotree: str | None
) -> None:
    """Add only the options that are set, so requests match what the REPL's tests send."""
    if env is not None:
        req["env"] = int(env)
    if all_tactics:
        req["allTactics"] = True
    if root_goals:
        req["rootGoals"] = True
    if infotree is not None:
        req["infotree"] = infotree

