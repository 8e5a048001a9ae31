"""The stream-K partition: every tile covered exactly once, equal shares within one tile, splits counted right,
and the tile -> program formula (the one the kernel uses) inverts the share boundaries."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prover.attention.schedule import (
    build_schedule,
    default_block_n,
    program_of_tile,
    program_range,
)

lens_st = st.lists(st.integers(0, 700), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(lens=lens_st, h_kv=st.integers(1, 4), block_n=st.sampled_from([16, 32, 64]), g=st.integers(1, 40))
def test_every_tile_exactly_once_and_balanced(lens, h_kv, block_n, g):
    s = build_schedule(lens, h_kv, block_n, g)
    expected_tiles = sum(h_kv * -(-n // block_n) for n in lens)
    assert s.num_tiles == expected_tiles
    seen: dict[tuple[int, int, int], int] = {}
    for segs in s.segments:
        for seg in segs:
            assert 0 <= seg.tile_start < seg.tile_end <= -(-lens[seg.batch] // block_n)
            for t in range(seg.tile_start, seg.tile_end):
                key = (seg.batch, seg.kv_head, t)
                seen[key] = seen.get(key, 0) + 1
    assert len(seen) == expected_tiles and all(c == 1 for c in seen.values())
    shares = [s.tiles_of_program(p) for p in range(g)]
    assert sum(shares) == expected_tiles
    assert max(shares) - min(shares) <= 1
    # contiguity: program p's range starts where p-1's ends
    for p in range(1, g):
        assert s.program_ranges[p][0] == s.program_ranges[p - 1][1]


@settings(max_examples=60, deadline=None)
@given(lens=lens_st, h_kv=st.integers(1, 4), block_n=st.sampled_from([16, 32]), g=st.integers(1, 40))
def test_splits_and_split_indices(lens, h_kv, block_n, g):
    s = build_schedule(lens, h_kv, block_n, g)
    per_head: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for p, segs in enumerate(s.segments):
        for seg in segs:
            per_head.setdefault((seg.batch, seg.kv_head), []).append((seg.split, p))
    for b, n in enumerate(lens):
        for h in range(h_kv):
            parts = per_head.get((b, h), [])
            assert s.num_splits(b, h) == len(parts) == (0 if n == 0 else len(parts))
            # split indices are 0..k-1 in program order, so a merge in split order is deterministic
            assert [i for i, _ in parts] == list(range(len(parts)))
            assert [p for _, p in parts] == sorted(p for _, p in parts)
    # middle segments of a program cover whole heads (only the first and last may be shared)
    for segs in s.segments:
        for seg in segs[1:-1]:
            assert seg.tile_start == 0 and seg.tile_end == -(-lens[seg.batch] // block_n)


def test_one_head_split_over_many_programs_at_unequal_points():
    s = build_schedule([1000, 30], 1, 16, 7)  # 63 + 2 = 65 tiles over 7 programs: 10,9,9,9,9,9,9... shares
    assert s.num_splits(0, 0) == 7
    sizes = [seg.num_tiles for segs in s.segments for seg in segs if seg.batch == 0]
    assert sum(sizes) == 63 and len(set(sizes)) > 1  # unequal cuts
    assert s.num_splits(1, 0) == 1


def test_more_programs_than_tiles_leaves_idle_programs():
    s = build_schedule([20, 5], 2, 16, 50)  # 2*2 + 2*1 = 6 tiles
    assert s.num_tiles == 6
    assert sum(1 for segs in s.segments if segs) == 6
    assert all(s.tiles_of_program(p) == 0 for p in range(6, 50))


@settings(max_examples=40, deadline=None)
@given(t=st.integers(1, 500), g=st.integers(1, 64), data=st.data())
def test_program_of_tile_inverts_program_range(t, g, data):
    tile = data.draw(st.integers(0, t - 1))
    p = program_of_tile(tile, t, g)
    lo, hi = program_range(p, t, g)
    assert lo <= tile < hi


def test_block_n_defaults_follow_onnxruntime():
    assert [default_block_n(d) for d in (64, 128, 256)] == [256, 128, 64]
    assert [default_block_n(d, torch.float32) for d in (64, 128, 256)] == [128, 64, 32]
    assert default_block_n(128, torch.bfloat16) == 128


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="seq_lens"):
        build_schedule([3, -1], 1, 16, 2)
    with pytest.raises(ValueError, match="num_programs"):
        build_schedule([3], 1, 16, 0)
