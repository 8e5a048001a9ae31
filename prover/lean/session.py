"""Tactic mode: the typed seam best-first search and library extraction use, and the pool's session.

A verifier that offers tactic mode (:class:`TacticSessions`: the local :class:`~prover.lean.pool.LeanPool`)
lends a :class:`TacticSession` for one header: commands on the header's environment, tactics on
proof states. Replies are the REPL's own records (:class:`~prover.lean.repl.CommandResponse` with
typed :class:`~prover.lean.repl.ProofGoal` s and :class:`~prover.lean.repl.TacticInfo` s,
:class:`~prover.lean.repl.TacticResponse`), or a :class:`~prover.lean.repl.ReplError` when the REPL
refused the request. Results are search signals, never verdicts: a proof found in tactic mode is
re-checked with ``Verifier.verify``.

The Ray pool does not offer sessions (its REPLs live in actors, one call per candidate), so
``prover=bestfirst lean=ray`` is refused when the config is composed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

from prover.lean.repl import CommandResponse, Repl, ReplCrashed, ReplError, ReplTimeout, TacticResponse


@runtime_checkable
class TacticSession(Protocol):
    """One REPL borrowed for tactic mode on one header."""

    @property
    def env(self) -> int:
        """The header's environment (plus any preamble such as ``open Real``)."""
        ...

    async def command(self, cmd: str, env: int | None = None, **kw: Any) -> CommandResponse | ReplError:
        """Run ``cmd`` on ``env`` (default: the header's); ``all_tactics=True`` asks for ``tactic_infos``."""
        ...

    async def tactic(self, tactic: str, proof_state: int, *, timeout: float | None = None
                     ) -> TacticResponse | ReplError:
        """Run one tactic on a proof state of this session."""
        ...


@runtime_checkable
class TacticSessions(Protocol):
    """A verifier that lends tactic sessions (``async with verifier.session(header) as s``)."""

    def session(self, header: str = "") -> AbstractAsyncContextManager[TacticSession]: ...


class PoolSession:
    """:class:`TacticSession` over one of the pool's workers.

    Every call runs through ``call`` (the pool's loop thread). Positions in ``command`` replies are
    relative to the text sent (no header shift: callers send bodies, not full candidates). A timeout
    or crash marks the session ``broken`` so the pool retires the worker.
    """

    def __init__(self, call: Callable[[Awaitable[Any]], Awaitable[Any]], repl: Repl, env: int,
                 timeout: float) -> None:
        self._call = call
        self._repl = repl
        self._env = env
        self.timeout = timeout
        self.broken = False

    @property
    def env(self) -> int:
        return self._env

    async def command(self, cmd: str, env: int | None = None, **kw: Any) -> CommandResponse | ReplError:
        kw.setdefault("timeout", self.timeout)
        return await self._guard(self._repl.command(cmd, self.env if env is None else env, **kw))

    async def tactic(self, tactic: str, proof_state: int, *, timeout: float | None = None
                     ) -> TacticResponse | ReplError:
        return await self._guard(self._repl.tactic(tactic, proof_state, timeout=timeout or self.timeout))

    async def pickle_proof_state(self, path: str, proof_state: int) -> Any:
        return await self._guard(self._repl.pickle_proof_state(path, proof_state))

    async def unpickle_proof_state(self, path: str, env: int | None = None) -> Any:
        return await self._guard(self._repl.unpickle_proof_state(path, env))

    async def _guard(self, coro: Awaitable[Any]) -> Any:
        try:
            return await self._call(coro)
        except (ReplTimeout, ReplCrashed):
            self.broken = True
            raise
