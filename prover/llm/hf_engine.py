"""The batched decode loop behind the transformers backend and the built-in server.

Why not ``model.generate``: one ``generate`` call applies one sampling configuration
to the whole batch, but the server batches *different* requests together, each with
its own temperature, top_p, stop strings, max_tokens and seed. This loop keeps a
per-row configuration and a per-row ``torch.Generator`` (so a seeded request gives
the same text whatever else shares its batch), reports every step to a callback
(streaming), drops finished rows from the KV cache, and lets new rows join between
steps (continuous batching: their prompts are prefilled and their caches left-padded
into the running batch). The model forward (and so
the attention implementation, e.g. LeanAttention) is the stock transformers one.
"""

from __future__ import annotations

import inspect
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class RowSpec:
    """One sequence to generate: a tokenised prompt and its sampling settings."""

    prompt_ids: list[int]
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: Sequence[str] = ()
    seed: int | None = None
    top_logprobs: int = 0  # how many alternatives to record per step (0: only the chosen token)
    ignore_eos: bool = False
    incremental: bool = False  # keep RowState.text current every step (a streamed row)
    cancel: threading.Event | None = None  # set it to abort the row (client went away)


@dataclass
class RowState:
    """What a row has produced so far. ``text`` is already cut at the first stop string."""

    token_ids: list[int] = field(default_factory=list)
    token_logprobs: list[float] = field(default_factory=list)
    top_logprobs: list[list[tuple[int, float]]] = field(default_factory=list)
    text: str = ""
    finish_reason: str | None = None  # "stop", "length" or "abort" once finished

    @property
    def done(self) -> bool:
        return self.finish_reason is not None


#: ``on_step(step, states, changed_row_indices)`` is called after every decode step.
StepCallback = Callable[[int, list[RowState], list[int]], None]
#: ``admit(n_active) -> [(row, generator), ...]`` offers new rows between decode steps.
AdmitCallback = Callable[[int], "list[tuple[RowSpec, torch.Generator]]"]


def row_generator(seed: int | None, sample_index: int = 0, device: str | torch.device = "cpu") -> torch.Generator:
    """A generator for one row: seeded rows are repeatable, sample ``j`` of a request gets its own stream."""
    g = torch.Generator(device=device)
    if seed is None:
        g.manual_seed(secrets.randbits(63))
    else:
        # Masked to 64 bits as torch itself wraps negative seeds, so any int works (no overflow) and
        # every seed torch accepted before keeps its stream.
        g.manual_seed(
            hash((int(seed), int(sample_index))) & 0x7FFF_FFFF_FFFF_FFFF if sample_index else int(seed) & 0xFFFF_FFFF_FFFF_FFFF
        )
    return g


def find_stop(text: str, stops: Sequence[str], start: int = 0) -> int:
    """Index of the earliest stop string in ``text`` at or after ``start`` (-1 if none)."""
    best = -1
    for s in stops:
        if not s:
            continue
        j = text.find(s, start)
        if j >= 0 and (best < 0 or j < best):
            best = j
    return best


def stop_holdback(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters might be the start of a stop string (so a stream must hold them back)."""
    keep = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), 0, -1):
            if text.endswith(s[:k]):
                keep = max(keep, k)
                break
    return keep


def _cache_kwarg(model: Any) -> str:
    """transformers 5.x names the cache argument ``cache``; older versions ``past_key_values``."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


class DecodeEngine:
    """Runs a batch of :class:`RowSpec` through a causal LM with left padding and a KV cache."""

    def __init__(self, model: Any, tokenizer: Any, device: str | torch.device | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.max_positions = int(getattr(model.config, "max_position_embeddings", 0) or 0) or None
        self.pad_id = self._pad_id()
        self.eos_ids = self._eos_ids()
        self._cache_arg = _cache_kwarg(model)

    def _pad_id(self) -> int:
        for v in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id):
            if v is not None:
                return int(v)
        return 0

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        for v in (self.tokenizer.eos_token_id, getattr(self.model.generation_config, "eos_token_id", None)):
            if isinstance(v, int):
                ids.add(v)
            elif isinstance(v, (list, tuple)):
                ids.update(int(x) for x in v)
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def final_text(self, row: RowSpec, st: RowState) -> str:
        """A finished row's text, re-derived from all its tokens and cut at the first stop string.

        Re-deriving matters: an EOS or a length stop can end a row after its last incremental decode.
        """
        text = self.decode(st.token_ids)
        j = find_stop(text, row.stop) if row.stop else -1
        return text[:j] if j >= 0 else text

    def row_limit(self, row: RowSpec) -> int:
        """``max_tokens`` clipped so prompt plus completion fits the model's context."""
        if self.max_positions is None:
            return row.max_tokens
        return max(0, min(row.max_tokens, self.max_positions - len(row.prompt_ids)))

    # -- sampling ---------------------------------------------------------------------------
    def _choose(
        self, logits: torch.Tensor, rows: list[RowSpec], gens: list[torch.Generator]
    ) -> tuple[list[int], torch.Tensor]:
        """Pick one token per row; return them with the raw (pre-temperature) log-probs."""
        logits = logits.float()
        logp = torch.log_softmax(logits, dim=-1)
        chosen = logits.argmax(dim=-1)
        temps = torch.tensor([r.temperature for r in rows], device=logits.device)
        sampled = (temps > 0).nonzero().flatten().tolist()
        if sampled:
            idx = torch.tensor(sampled, device=logits.device)
            probs = torch.softmax(logits[idx] / temps[idx, None], dim=-1)
            top_ps = torch.tensor([rows[i].top_p for i in sampled], device=logits.device)
            if bool((top_ps < 1).any()):
                sp, si = probs.sort(dim=-1, descending=True)
                drop = (sp.cumsum(-1) - sp) >= top_ps[:, None]  # keep the smallest prefix reaching top_p
                sp = sp.masked_fill(drop, 0.0)
                probs = torch.zeros_like(probs).scatter_(-1, si, sp)
            for k, i in enumerate(sampled):
                chosen[i] = torch.multinomial(probs[k], 1, generator=gens[i]).squeeze(0)
        return chosen.tolist(), logp

    # -- the loop ----------------------------------------------------------------------------
    def _prefill(self, rows: list[RowSpec]):
        """Left-padded prompt pass for ``rows``: (cache, mask, last positions, next-token logits)."""
        from transformers import DynamicCache

        width = max(len(r.prompt_ids) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for b, r in enumerate(rows):
            if r.prompt_ids:
                ids[b, width - len(r.prompt_ids) :] = torch.tensor(r.prompt_ids, dtype=torch.long)
                mask[b, width - len(r.prompt_ids) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.model.config)
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_arg: cache},
        )
        return cache, mask, positions[:, -1], out.logits[:, -1, :]

    def _mergeable(self, cache: Any) -> bool:
        """Only plain dense layers can be padded and concatenated (not sliding-window or offloaded ones)."""
        layers = getattr(cache, "layers", None)
        return bool(layers) and all(
            type(layer).__name__ == "DynamicLayer" and getattr(layer, "keys", None) is not None for layer in layers
        )

    def _merge(self, a: tuple, b: tuple) -> tuple:
        """Join two in-flight batches: left-pad the shorter KV cache and mask, concatenate along the batch."""
        from transformers import DynamicCache

        (ca, ma, pa, la), (cb, mb, pb, lb) = a, b
        width = max(ma.shape[1], mb.shape[1])
        na, nb = width - ma.shape[1], width - mb.shape[1]

        def pad(t: torch.Tensor, n: int) -> torch.Tensor:  # [B, H, S, D]: n zero positions on the left of S
            return torch.nn.functional.pad(t, (0, 0, n, 0)) if n else t

        data = [
            (torch.cat([pad(x.keys, na), pad(y.keys, nb)]), torch.cat([pad(x.values, na), pad(y.values, nb)]))
            for x, y in zip(ca.layers, cb.layers, strict=True)
        ]
        cache = DynamicCache(ddp_cache_data=data, config=self.model.config)
        mask = torch.cat([torch.nn.functional.pad(ma, (na, 0)), torch.nn.functional.pad(mb, (nb, 0))])
        return cache, mask, torch.cat([pa, pb]), torch.cat([la, lb])

    @torch.inference_mode()
    def run(
        self,
        rows: Sequence[RowSpec],
        on_step: StepCallback | None = None,
        gens: Sequence[torch.Generator] | None = None,
        incremental_text: bool = False,
        admit: AdmitCallback | None = None,
    ) -> list[RowState]:
        """Generate every row to completion; ``states[i]`` belongs to ``rows[i]``.

        ``incremental_text=True`` keeps ``RowState.text`` current after every step (for
        streaming); otherwise text is decoded per step only for rows with stop strings.
        ``admit(n_active)``, called between steps, may return new ``(row, generator)`` pairs
        to join the running batch (continuous batching); their states are appended to the
        returned list in admission order.
        """
        rows = list(rows)
        gens = list(gens) if gens is not None else [row_generator(r.seed, 0, "cpu") for r in rows]
        states: list[RowState] = []
        limits: list[int] = []
        stop_from: list[int] = []

        def register(new_rows: Sequence[RowSpec]) -> list[int]:
            """Add rows; return the indices of those that need decoding."""
            live = []
            for r in new_rows:
                i = len(states)
                states.append(RowState())
                limits.append(self.row_limit(r))
                stop_from.append(0)
                if limits[i] <= 0:
                    states[i].finish_reason = "length"
                else:
                    live.append(i)
            return live

        active = register(rows)  # batch position -> row index
        batch = self._prefill([rows[i] for i in active]) if active else None
        stream = incremental_text
        step = 0
        while True:
            if admit is not None and (batch is None or self._mergeable(batch[0])):
                joined = admit(len(active))
                if joined:
                    rows.extend(r for r, _ in joined)
                    gens.extend(g for _, g in joined)
                    fresh = register([r for r, _ in joined])
                    if fresh:
                        part = self._prefill([rows[i] for i in fresh])
                        batch = part if batch is None else self._merge(batch, part)
                        active = active + fresh
            if not active or batch is None:
                break
            cache, mask, last_pos, logits = batch
            tokens, logp = self._choose(logits, [rows[i] for i in active], [gens[i] for i in active])
            keep: list[int] = []
            changed: list[int] = []
            for b, i in enumerate(active):
                row, st, tok = rows[i], states[i], tokens[b]
                if row.cancel is not None and row.cancel.is_set():
                    st.finish_reason = "abort"
                    changed.append(i)
                    continue
                st.token_ids.append(tok)
                st.token_logprobs.append(float(logp[b, tok]))
                if row.top_logprobs > 0:
                    vals, idx = logp[b].topk(row.top_logprobs)
                    st.top_logprobs.append(list(zip(idx.tolist(), vals.tolist(), strict=True)))
                changed.append(i)
                if tok in self.eos_ids and not row.ignore_eos:
                    st.finish_reason = "stop"
                elif row.stop or stream or row.incremental:
                    text = self.decode(st.token_ids)
                    j = find_stop(text, row.stop, stop_from[i]) if row.stop else -1
                    if j >= 0:
                        text, st.finish_reason = text[:j], "stop"
                    else:
                        longest = max((len(s) for s in row.stop), default=0)
                        stop_from[i] = max(0, len(text) - longest)
                    st.text = text
                if not st.done and len(st.token_ids) >= limits[i]:
                    st.finish_reason = "length"
                if not st.done:
                    keep.append(b)
            step += 1
            if on_step is not None:
                on_step(step, states, changed)
            if not keep:
                active, batch = [], None
                continue  # a last chance for waiting rows to join before returning
            if len(keep) < len(active):
                sel = torch.tensor(keep, device=self.device)
                cache.batch_select_indices(sel)
                mask, last_pos = mask[sel], last_pos[sel]
                tokens = [tokens[b] for b in keep]
                active = [active[b] for b in keep]
            mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
            last_pos = last_pos + 1
            out = self.model(
                input_ids=torch.tensor(tokens, dtype=torch.long, device=self.device)[:, None],
                attention_mask=mask,
                position_ids=last_pos[:, None],
                use_cache=True,
                **{self._cache_arg: cache},
            )
            batch = (cache, mask, last_pos, out.logits[:, -1, :])
        for row, st in zip(rows, states, strict=True):
            st.text = self.final_text(row, st)
        return states
