"""Training batches of the tiny model: tokenised (prompt, completion) pairs, padding, and the step-indexed order.

Its own module because both the trainer (:mod:`.train`) and the curriculum (:mod:`.curriculum`) batch the same
way; the order being a pure function of (seed, step) is what makes a resumed run exact.
"""

from __future__ import annotations

from typing import Any

import torch


class TrainConfigError(ValueError):
    """The training config is unusable; the message names the offending field."""


class BatchOrder:
    """The examples of step ``s`` as a pure function of (seed, s).

    Each epoch is a fresh seeded permutation; within chunks of ``bucket`` batches the examples
    are sorted by length before batching (less padding, so fewer wasted FLOPs on CPU), and the
    batches are then shuffled. Being a function of the step, not of an iterator's state, is what
    makes resume exact. A last partial batch of each epoch is dropped.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int, bucket: int = 16) -> None:
        if len(lengths) < batch_size:
            raise TrainConfigError(f"train.batch_size ({batch_size}) exceeds the {len(lengths)} training examples")
        self.lengths, self.batch_size, self.seed, self.bucket = lengths, batch_size, seed, bucket
        self.per_epoch = len(lengths) // batch_size
        self._cache: dict[int, list[list[int]]] = {}

    def _batches(self, epoch: int) -> list[list[int]]:
        if epoch not in self._cache:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            bs, n = self.batch_size, len(self.lengths)
            usable = torch.randperm(n, generator=g).tolist()[: n - n % bs]
            chunk = bs * self.bucket
            batches: list[list[int]] = []
            for i in range(0, len(usable), chunk):
                part = sorted(usable[i : i + chunk], key=lambda j: self.lengths[j])
                batches += [part[k : k + bs] for k in range(0, len(part), bs)]
            order = torch.randperm(len(batches), generator=g).tolist()
            self._cache = {epoch: [batches[o] for o in order]}
        return self._cache[epoch]

    def __call__(self, step: int) -> list[int]:
        epoch, k = divmod(step, self.per_epoch)
        return self._batches(epoch)[k]


def encode(tokenizer: Any, prompt: str, completion: str, prompt_loss_from: int | None = None) -> tuple[list[int], list[int]]:
    """Prompt and completion tokenized separately (as at inference, where only the prompt is given),
    then ``</s>``; labels mask the prompt so the loss is on the completion only, except, when
    ``prompt_loss_from`` is a character offset into the prompt, the prompt tokens from there on
    (the tokens are the same either way: only which of them carry a loss changes)."""
    c = tokenizer(completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    if prompt_loss_from is None:
        p = tokenizer(prompt)["input_ids"]
        return p + c, [-100] * len(p) + c
    enc = tokenizer(prompt, return_offsets_mapping=True)
    p = enc["input_ids"]
    lp = [t if end > start >= prompt_loss_from else -100 for t, (start, end) in zip(p, enc["offset_mapping"], strict=True)]
    return p + c, lp + c


def collate(items: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for i, (x, y) in enumerate(items):
        ids[i, : len(x)] = torch.tensor(x)
        labels[i, : len(y)] = torch.tensor(y)
        mask[i, : len(x)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}
