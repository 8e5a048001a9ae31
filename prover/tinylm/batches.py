"""Training batches of the tiny model: tokenised (prompt, completion) pairs, padding, and the step-indexed order.

Its own module because both the trainer (:mod:`.train`) and the curriculum (:mod:`.curriculum`) batch the same
way; the order being a pure function of (seed, step) is what makes a resumed run exact.
"""

from __future__ import annotations

from typing import Any

import torch


class TrainConfigError(ValueError):
    """The training config is unusable; the message names the offending field."""


#: Batches per length-sorting chunk (``train.bucket_batches``) when a config does not say.
DEFAULT_BUCKET = 16


class BatchOrder:
    """The examples of step ``s`` as a pure function of (seed, s).

    Each epoch is a fresh seeded permutation; within chunks of ``bucket`` batches the examples
    are sorted by length before batching (less padding, so fewer wasted FLOPs on CPU), and the
    batches are then shuffled. Being a function of the step, not of an iterator's state, is what
    makes resume exact. A last partial batch of each epoch is dropped.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int, bucket: int = DEFAULT_BUCKET) -> None:
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


def decision_weights(tokenizer: Any, completion: str, span: tuple[int, int] | None, weight: float,
                     n_ids: int) -> list[float] | None:
    """Per-token loss weights for the ``n_ids`` ids :func:`encode` gave (prompt, ``completion``, ``</s>``):
    ``weight`` on the completion tokens that overlap the character ``span`` of ``completion``, 1 elsewhere
    (None when there is nothing to weigh). Only the completion is tokenized again, for its offsets.

    Why: a judge's answer is 17 tokens of which one, the label, is the decision; under a per-token mean its
    loss is a sliver of the batch's, so the comparison that decides it gets a sliver of the gradient."""
    if span is None or weight == 1.0:
        return None
    enc = tokenizer(completion, add_special_tokens=False, return_offsets_mapping=True)
    inside = [weight if end > span[0] and start < span[1] else 1.0 for start, end in enc["offset_mapping"]]
    return [1.0] * (n_ids - len(inside) - 1) + inside + [1.0]


def collate(items: list[tuple[list[int], ...]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad (ids, labels) items into a batch; items with a third element (:func:`decision_weights`) add
    ``loss_weights`` (1 where an item has none)."""
    width = max(len(item[0]) for item in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    weighted = any(len(item) > 2 for item in items)
    weights = torch.ones((len(items), width)) if weighted else None
    for i, (x, y, *w) in enumerate(items):
        ids[i, : len(x)] = torch.tensor(x)
        labels[i, : len(y)] = torch.tensor(y)
        mask[i, : len(x)] = 1
        if weights is not None and w:
            weights[i, : len(w[0])] = torch.tensor(w[0])
    batch = {"input_ids": ids, "labels": labels, "attention_mask": mask}
    if weights is not None:
        batch["loss_weights"] = weights
    return batch


def label_logits(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The output logits at the positions that predict a label, those labels, and their loss weights.

    Why not ``model(**batch).loss``: that projects every position onto the vocabulary, and four tokens in five
    are prompt tokens whose logits no loss reads. The loss is the same; only the unread logits are skipped
    (``benchmarks/tinylm_step.py`` times a training step both ways)."""
    hidden = model.get_decoder()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    labels = batch["labels"][:, 1:]
    keep = labels != -100
    logits = model.get_output_embeddings()(hidden[:, :-1][keep]).float()
    weights = batch["loss_weights"][:, 1:][keep] if "loss_weights" in batch else torch.ones(logits.size(0))
    return logits, labels[keep], weights


def weighted_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The causal-LM loss of ``batch``: the mean over label tokens (the model's own loss), or, with
    ``loss_weights``, the weighted mean (the same value when every weight is 1)."""
    logits, labels, w = label_logits(model, batch)
    per_token = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    return (per_token * w).sum() / w.sum().clamp(min=1e-9)
