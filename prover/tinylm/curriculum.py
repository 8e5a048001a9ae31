"""Curriculum over roles (TinyHelen's iterative, perplexity-driven training) and the held-out loss probe.

TinyHelen trains on the easiest part of its simplified data first and adds harder parts as the model's
held-out loss on what it already sees falls. Here the parts are the roles of :mod:`prover.tinylm.roles`
(``train.curriculum.stages``: lists of role names, easiest first); the model starts on stage 0 and moves
on when the held-out loss of the roles it trains on drops to ``advance_loss`` (checked every ``every``
steps), or after ``max_stage_steps`` steps at most. The batch of each step is still a pure function of
(seed, stage, steps since the stage began), and the stage and its start are saved with the checkpoint,
so a resumed run ends with the same weights as an uninterrupted one.

Without a curriculum (the default) every step draws from all the data, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from prover.tinylm.batches import DEFAULT_BUCKET, BatchOrder, TrainConfigError, collate, encode, label_logits


class _Sub:
    """A :class:`BatchOrder` over a subset of the data (indices into the full list)."""

    def __init__(self, indices: list[int], lengths: list[int], batch_size: int, seed: int, bucket: int) -> None:
        self.indices = indices
        self.order = BatchOrder([lengths[i] for i in indices], batch_size, seed, bucket)

    def __call__(self, step: int) -> list[int]:
        return [self.indices[i] for i in self.order(step)]


class Curriculum:
    """Which examples step ``s`` trains on (all of them when disabled)."""

    def __init__(self, cfg: dict[str, Any], roles: Sequence[str], lengths: list[int], batch_size: int,
                 seed: int, bucket: int = DEFAULT_BUCKET) -> None:
        self.enabled = bool(cfg.get("enabled", False))
        self.every = int(cfg.get("every", 50))
        self.advance_loss = float(cfg.get("advance_loss", 1.0))
        self.max_stage_steps = int(cfg.get("max_stage_steps", 10**9))
        self.stages: list[list[str]] = [list(s) for s in cfg.get("stages") or []]
        self.lengths, self.batch_size, self.seed, self.bucket = lengths, batch_size, seed, bucket
        self.stage, self.stage_start, self.history = 0, 0, []
        self._all = BatchOrder(lengths, batch_size, seed, bucket)
        if not self.enabled:
            return
        if self.every < 1:
            raise TrainConfigError(f"train.curriculum.every must be >= 1, got {self.every}")
        if not self.stages:
            raise TrainConfigError("train.curriculum.stages must list at least one stage of role names")
        known = set(roles)
        listed = [r for s in self.stages for r in s]
        unknown = sorted(set(listed) - known - {"prove", "correct"})
        if unknown:
            raise TrainConfigError(f"train.curriculum.stages names unknown role(s) {unknown}; known: {sorted(known)}")
        rest = sorted(known - set(listed))
        if rest:  # roles no stage names join the last stage
            self.stages[-1] = [*self.stages[-1], *rest]
        self.stage_of = [next(k for k, s in enumerate(self.stages) if r in s) for r in roles]
        self._subs: dict[int, _Sub] = {}

    def _sub(self, k: int) -> _Sub:
        if k not in self._subs:
            idx = [i for i, s in enumerate(self.stage_of) if s <= k]
            self._subs = {k: _Sub(idx, self.lengths, self.batch_size, self.seed * 7919 + k, self.bucket)}
        return self._subs[k]

    def batch(self, step: int) -> list[int]:
        if not self.enabled:
            return self._all(step)
        return self._sub(self.stage)(step - self.stage_start)

    def active_roles(self) -> list[str]:
        return [r for s in self.stages[: self.stage + 1] for r in s] if self.enabled else []

    def update(self, done: int, loss: float) -> None:
        """After step ``done``: move to the next stage when the held-out loss of the active roles is low
        enough (or the stage has run its maximum)."""
        if not self.enabled or self.stage >= len(self.stages) - 1:
            return
        if loss <= self.advance_loss or done - self.stage_start >= self.max_stage_steps:
            self.history.append({"stage": self.stage, "until_step": done, "heldout_loss": round(loss, 4)})
            self.stage, self.stage_start = self.stage + 1, done

    def state(self) -> dict[str, Any]:
        return {"stage": self.stage, "stage_start": self.stage_start, "history": self.history}

    def load_state(self, state: dict[str, Any]) -> None:
        self.stage = int(state.get("stage", 0))
        self.stage_start = int(state.get("stage_start", 0))
        self.history = list(state.get("history", []))

    def report(self, heldout_curve: list[Any], target: float | None) -> dict[str, Any]:
        """The stages and, when a target loss is set, the first probed step at which the held-out loss over
        all roles reached it (None when it never did)."""
        reached = None
        if target is not None:
            reached = next((int(step) for step, loss, *_ in heldout_curve if loss <= float(target)), None)
        return {"enabled": self.enabled, "stages": self.stages if self.enabled else [], "history": self.history,
                "target_loss": target, "steps_to_target": reached}


def loss_probe(tokenizer: Any, sets: dict[str, Sequence[Any]], per_set: int) -> dict[str, dict[str, torch.Tensor]]:
    """One padded batch of the first ``per_set`` held-out examples of each role (fixed, so losses compare)."""
    out: dict[str, dict[str, torch.Tensor]] = {}
    for name, rows in sets.items():
        rows = list(rows)[:per_set]
        if rows:
            out[name] = collate([encode(tokenizer, r.prompt(), r.completion()) for r in rows], tokenizer.pad_token_id)
    return out


@torch.no_grad()
def _loss_sum(model: Any, batch: dict[str, torch.Tensor]) -> tuple[float, int]:
    logits, labels, _ = label_logits(model, batch)
    return float(torch.nn.functional.cross_entropy(logits, labels, reduction="sum")), int(labels.numel())


def heldout_loss(model: Any, batches: Sequence[dict[str, torch.Tensor]]) -> float:
    """Mean per-token completion loss over the probe batches (the perplexity TinyHelen's curriculum reads)."""
    return probe_losses(model, dict(enumerate(batches)))[0]


def probe_losses(model: Any, probe: dict[Any, dict[str, torch.Tensor]]) -> tuple[float, dict[Any, float]]:
    """The held-out loss over all of ``probe``'s batches and per batch, one forward pass each."""
    was_training = model.training
    model.eval()
    sums = {name: _loss_sum(model, b) for name, b in probe.items()}
    model.train(was_training)
    total, count = sum(t for t, _ in sums.values()), sum(n for _, n in sums.values())
    return total / max(count, 1), {name: t / max(n, 1) for name, (t, n) in sums.items()}
