"""The stream-K tile partition of LeanAttention (arXiv 2405.10480), pure and testable.

Decode attention is memory bound: the time is the time to stream the KV cache. FlashAttention-2 gives each
(batch, head) one program, so a batch of one with 8 KV heads keeps 8 SMs busy; FlashDecoding splits each head
into a fixed number of equal chunks, which wave-quantises and straggles on ragged batches. LeanAttention instead
flattens every key tile of every (batch, KV head) into one list and hands a fixed grid of G programs contiguous,
equal ranges of it (to within one tile), crossing head boundaries freely. A head may therefore be cut at unequal
points across programs; the partial softmax states are merged with the associative (m, l, acc) combine.

Tiles are ordered batch-major, then KV head, then position: head index ``hid = b * H_kv + h``. A tile is
``block_n`` keys of one (b, h); the GQA group's query heads share it. Program ``p`` takes tiles
``[start_p, end_p)``: the first ``T mod G`` programs take ``ceil(T/G)`` tiles, the rest ``floor(T/G)``.

:func:`build_schedule` gives the partition as plain Python objects (segments per program, splits per head); the
PyTorch reference walks it and the tests check coverage and balance on it. The Triton kernel derives the same
numbers on the device from the sequence lengths (:func:`program_range` and :func:`program_of_tile` are the formulas
it uses), so a launch needs no host-side schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "LeanSchedule",
    "Segment",
    "build_schedule",
    "default_block_n",
    "program_of_tile",
    "program_range",
]


def default_block_n(head_dim: int, dtype: torch.dtype | None = None) -> int:
    """Keys per tile as onnxruntime's LeanAttention picks them: 256 for d <= 64, 128 for d <= 128, else 64.

    fp32 caches get half that: their tiles are twice the bytes, and at the fp16 size the kernel's shared memory
    exceeds an SM's (measured with ``python -m prover.attention.compile_check``).
    """
    n = 256 if head_dim <= 64 else 128 if head_dim <= 128 else 64
    return n // 2 if dtype == torch.float32 else n


def program_range(pid: int, num_tiles: int, num_programs: int) -> tuple[int, int]:
    """The half-open global tile range ``[start, end)`` of program ``pid``: equal shares within one tile."""
    if num_programs < 1:
        raise ValueError(f"num_programs must be >= 1, got {num_programs}")
    base, rem = divmod(num_tiles, num_programs)
    start = pid * base + min(pid, rem)
    return start, start + base + (1 if pid < rem else 0)


def program_of_tile(tile: int, num_tiles: int, num_programs: int) -> int:
    """The program whose range holds global tile ``tile`` (inverse of :func:`program_range`)."""
    base, rem = divmod(num_tiles, num_programs)
    big = rem * (base + 1)
    if tile < big:
        return tile // (base + 1)
    return rem + (tile - big) // base


@dataclass(frozen=True)
class Segment:
    """A program's contiguous run of tiles inside one (batch, KV head).

    ``tile_start``/``tile_end`` are tile indices *within the head* (half-open); ``split`` is this segment's
    position among the head's contributing programs (0 = the program holding the head's first tile), which is
    also the order in which partials are merged so that results are deterministic.
    """

    batch: int
    kv_head: int
    tile_start: int
    tile_end: int
    split: int

    @property
    def num_tiles(self) -> int:
        return self.tile_end - self.tile_start


@dataclass(frozen=True)
class LeanSchedule:
    """The whole partition for one decode step."""

    block_n: int
    num_programs: int
    num_kv_heads: int
    seq_lens: tuple[int, ...]
    head_offsets: tuple[int, ...]  # global tile offset of head hid; length B*H_kv + 1
    program_ranges: tuple[tuple[int, int], ...]
    segments: tuple[tuple[Segment, ...], ...]  # per program, in tile order
    splits: tuple[int, ...]  # per head hid: number of contributing programs (0 for an empty sequence)

    @property
    def num_tiles(self) -> int:
        return self.head_offsets[-1]

    @property
    def batch_size(self) -> int:
        return len(self.seq_lens)

    def head_id(self, batch: int, kv_head: int) -> int:
        return batch * self.num_kv_heads + kv_head

    def num_splits(self, batch: int, kv_head: int) -> int:
        return self.splits[self.head_id(batch, kv_head)]

    def tiles_of_program(self, pid: int) -> int:
        start, end = self.program_ranges[pid]
        return end - start


def build_schedule(
    seq_lens: Sequence[int], num_kv_heads: int, block_n: int, num_programs: int
) -> LeanSchedule:
    """Partition ``sum_b H_kv * ceil(len_b / block_n)`` tiles over ``num_programs`` programs."""
    lens = tuple(int(x) for x in seq_lens)
    if any(x < 0 for x in lens):
        raise ValueError(f"seq_lens must be >= 0, got {list(lens)}")
    if num_kv_heads < 1 or block_n < 1 or num_programs < 1:
        raise ValueError(
            f"num_kv_heads, block_n and num_programs must be >= 1, got {num_kv_heads}, {block_n}, {num_programs}"
        )
    offsets = [0]
    for length in lens:
        tiles = -(-length // block_n)
        for _ in range(num_kv_heads):
            offsets.append(offsets[-1] + tiles)
    num_tiles = offsets[-1]
    ranges = tuple(program_range(p, num_tiles, num_programs) for p in range(num_programs))

    num_heads = len(offsets) - 1
    splits = [0] * num_heads
    segments: list[tuple[Segment, ...]] = []
    hid = 0
    for start, end in ranges:
        segs: list[Segment] = []
        t = start
        while t < end:
            while offsets[hid + 1] <= t:  # skip heads that end before t (and empty sequences)
                hid += 1
            seg_end = min(end, offsets[hid + 1])
            b, h = divmod(hid, num_kv_heads)
            segs.append(Segment(b, h, t - offsets[hid], seg_end - offsets[hid], splits[hid]))
            splits[hid] += 1
            t = seg_end
        segments.append(tuple(segs))
    return LeanSchedule(
        block_n=block_n,
        num_programs=num_programs,
        num_kv_heads=num_kv_heads,
        seq_lens=lens,
        head_offsets=tuple(offsets),
        program_ranges=ranges,
        segments=tuple(segments),
        splits=tuple(splits),
    )
