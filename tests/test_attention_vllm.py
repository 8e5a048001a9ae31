"""The vLLM backend's vLLM-free half: a simulated vLLM step (decodes first, then a fresh and a chunked prefill,
plus a padding token) through write_kv_cache + LeanAttention decode + SDPA prefill over a scattered paged cache,
against dense causal attention; and the plugin's one warning without vLLM."""

from __future__ import annotations

import importlib
import sys

import pytest
import torch

from prover.attention.vllm_paged import build_metadata, forward_step, kv_cache_shape, write_kv_cache

H_Q, H_KV, D, PAGE = 8, 2, 64, 16


def _dense_truth(q, k, v, n_new):
    """Causal attention of the last n_new positions of one sequence: q [n_new, H_q, d], k/v [L, H_kv, d]."""
    length = k.shape[0]
    kk = k.double().permute(1, 0, 2).repeat_interleave(H_Q // H_KV, 0)
    vv = v.double().permute(1, 0, 2).repeat_interleave(H_Q // H_KV, 0)
    mask = torch.arange(length)[None, :] <= torch.arange(length - n_new, length)[:, None]
    out = torch.nn.functional.scaled_dot_product_attention(q.double().transpose(0, 1), kk, vv, attn_mask=mask)
    return out.transpose(0, 1)


@pytest.mark.parametrize("num_programs", [1, 6, 64])
def test_mixed_step_matches_dense_causal_attention(num_programs):
    g = torch.Generator().manual_seed(num_programs)
    # (cached tokens, new tokens): two decodes first (one brand-new sequence), then a fresh and a chunked prefill
    reqs = [(39, 1), (0, 1), (0, 13), (20, 7)]
    seq_lens = [c + n for c, n in reqs]
    max_blocks = max(-(-s // PAGE) for s in seq_lens)
    num_blocks = len(reqs) * max_blocks + 2
    kv_cache = torch.randn(kv_cache_shape(num_blocks, PAGE, H_KV, D), generator=g)  # garbage in unused slots
    table = torch.randperm(num_blocks, generator=g)[: len(reqs) * max_blocks].view(len(reqs), max_blocks)
    full_k = [torch.randn(s, H_KV, D, generator=g) for s in seq_lens]
    full_v = [torch.randn(s, H_KV, D, generator=g) for s in seq_lens]

    def slots(r, positions):
        return torch.tensor([int(table[r, p // PAGE]) * PAGE + p % PAGE for p in positions])

    # earlier steps already cached the context
    for r, (c, _) in enumerate(reqs):
        if c:
            write_kv_cache(full_k[r][:c], full_v[r][:c], kv_cache[0], kv_cache[1], slots(r, range(c)))
    # this step's new tokens, flattened, plus one padding token (slot -1) as CUDA-graph padding would add
    new_k = torch.cat([full_k[r][c:] for r, (c, _) in enumerate(reqs)] + [torch.randn(1, H_KV, D, generator=g)])
    new_v = torch.cat([full_v[r][c:] for r, (c, _) in enumerate(reqs)] + [torch.randn(1, H_KV, D, generator=g)])
    slot_mapping = torch.cat([slots(r, range(c, c + n)) for r, (c, n) in enumerate(reqs)] + [torch.tensor([-1])])
    n_tokens = sum(n for _, n in reqs)
    query = torch.randn(n_tokens + 1, H_Q * D, generator=g)
    qsl = torch.tensor([0] + torch.cumsum(torch.tensor([n for _, n in reqs]), 0).tolist())
    lens_t = torch.tensor(seq_lens)
    meta = build_metadata(qsl, lens_t, query_start_loc=qsl, seq_lens=lens_t, block_table=table,
                          slot_mapping=slot_mapping, num_actual_tokens=n_tokens)  # fmt: skip
    assert meta.num_decodes == 2
    output = torch.full((n_tokens + 1, H_Q * D), 7.0)
    forward_step(
        query, new_k.reshape(-1, H_KV * D), new_v.reshape(-1, H_KV * D), kv_cache, meta, output,
        num_heads=H_Q, num_kv_heads=H_KV, head_size=D, scale=D**-0.5, num_programs=num_programs, block_n=16,
    )  # fmt: skip
    out = output.view(-1, H_Q, D)
    q = query.view(-1, H_Q, D)
    for r, (_, n) in enumerate(reqs):
        lo, hi = int(qsl[r]), int(qsl[r + 1])
        torch.testing.assert_close(out[lo:hi].double(), _dense_truth(q[lo:hi], full_k[r], full_v[r], n),
                                   atol=2e-5, rtol=1e-4)  # fmt: skip
    assert torch.all(output[n_tokens] == 7.0)  # the padding row is left alone


def test_write_kv_cache_places_tokens_by_slot_and_skips_padding():
    kc = torch.zeros(3, 4, 1, 2)
    vc = torch.zeros(3, 4, 1, 2)
    key = torch.arange(6.0).view(3, 1, 2)
    write_kv_cache(key, -key, kc, vc, torch.tensor([5, -1, 0]))
    assert kc[1, 1, 0].tolist() == [0.0, 1.0] and kc[0, 0, 0].tolist() == [4.0, 5.0]
    assert vc[1, 1, 0].tolist() == [-0.0, -1.0]
    assert torch.count_nonzero(kc) == 3  # token 1 (slot -1) written nowhere; one of the 4 values is 0


def test_build_metadata_rejects_inconsistent_lengths():
    qsl = torch.tensor([0, 1, 5])
    with pytest.raises(ValueError, match="seq_lens shorter"):
        build_metadata(qsl, torch.tensor([3, 2]), query_start_loc=qsl, seq_lens=torch.tensor([3, 2]),
                       block_table=torch.zeros(2, 1), slot_mapping=torch.zeros(5), num_actual_tokens=5)  # fmt: skip


def test_vllm_free_modules_do_not_import_vllm(monkeypatch):
    import prover.attention.vllm_paged as paged
    import prover.attention.vllm_plugin as plugin

    monkeypatch.setitem(sys.modules, "vllm", None)  # any `import vllm` now raises ImportError
    importlib.reload(paged)
    importlib.reload(plugin)


class _FakeVllm:
    """The slice of vLLM's API the backend touches, installed into sys.modules so the glue code runs here."""

    def __init__(self, monkeypatch):
        import enum
        import types
        from dataclasses import dataclass
        from typing import Generic, TypeVar

        t = TypeVar("t")
        backend = types.ModuleType("vllm.v1.attention.backend")

        class AttentionBackend:
            pass

        class AttentionImpl(Generic[t]):
            pass

        class AttentionMetadataBuilder(Generic[t]):
            pass

        class AttentionType(str, enum.Enum):
            DECODER = "decoder"
            ENCODER = "encoder"

        class AttentionCGSupport(enum.Enum):
            NEVER = 0

        @dataclass
        class CommonAttentionMetadata:
            query_start_loc: torch.Tensor
            query_start_loc_cpu: torch.Tensor
            seq_lens: torch.Tensor
            num_reqs: int
            num_actual_tokens: int
            max_query_len: int
            max_seq_len: int
            block_table_tensor: torch.Tensor
            slot_mapping: torch.Tensor

        for obj in (AttentionBackend, AttentionImpl, AttentionMetadataBuilder, AttentionType, AttentionCGSupport,
                    CommonAttentionMetadata):  # fmt: skip
            setattr(backend, obj.__name__, obj)
        registry = types.ModuleType("vllm.v1.attention.backends.registry")

        class AttentionBackendEnum(enum.Enum):
            FLASH_ATTN = "x.FlashAttentionBackend"
            CUSTOM = None

        self.overrides = {}
        registry.AttentionBackendEnum = AttentionBackendEnum
        registry.register_backend = lambda member, path: self.overrides.__setitem__(member.name, path)
        for name in ("vllm", "vllm.v1", "vllm.v1.attention", "vllm.v1.attention.backends"):
            monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
        monkeypatch.setitem(sys.modules, "vllm.v1.attention.backend", backend)
        monkeypatch.setitem(sys.modules, "vllm.v1.attention.backends.registry", registry)
        monkeypatch.delitem(sys.modules, "prover.attention.vllm_backend", raising=False)
        self.CommonAttentionMetadata = CommonAttentionMetadata


@pytest.fixture
def fake_vllm(monkeypatch):
    yield _FakeVllm(monkeypatch)
    sys.modules.pop("prover.attention.vllm_backend", None)  # do not leave a fake-bound backend module behind


def test_plugin_registers_custom_backend_and_backend_runs_a_decode_step(fake_vllm):
    fake = fake_vllm
    from prover.attention.vllm_plugin import register

    path = register()
    assert fake.overrides == {"CUSTOM": path}
    module_name, cls_name = path.rsplit(".", 1)
    backend_cls = getattr(importlib.import_module(module_name), cls_name)
    assert backend_cls.get_name() == "CUSTOM"
    assert backend_cls.get_kv_cache_shape(10, PAGE, H_KV, D) == (2, 10, PAGE, H_KV, D)
    with pytest.raises(NotImplementedError, match="alibi_slopes"):
        backend_cls.get_impl_cls()(H_Q, D, 0.125, H_KV, alibi_slopes=[1.0])

    g = torch.Generator().manual_seed(0)
    kv_cache = torch.randn(backend_cls.get_kv_cache_shape(4, PAGE, H_KV, D), generator=g)
    table = torch.tensor([[2, 0], [3, 1]])
    lens = torch.tensor([20, 9])  # both requests decode one new token
    qsl = torch.tensor([0, 1, 2])
    slot_mapping = torch.tensor([0 * PAGE + 3, 3 * PAGE + 8])  # positions 19 and 8
    common = fake.CommonAttentionMetadata(qsl, qsl, lens, 2, 2, 1, 20, table, slot_mapping)
    meta = backend_cls.get_builder_cls()(None, ["layer.0"], None, torch.device("cpu")).build(0, common)
    impl = backend_cls.get_impl_cls()(H_Q, D, D**-0.5, H_KV)
    query = torch.randn(2, H_Q * D, generator=g)
    key = torch.randn(2, H_KV * D, generator=g)
    value = torch.randn(2, H_KV * D, generator=g)
    output = torch.empty(2, H_Q * D)
    impl.forward(None, query, key, value, kv_cache, meta, output=output)
    for r in range(2):
        n = int(lens[r])
        pos = torch.arange(n)
        blocks = table[r, pos // PAGE]
        k = kv_cache[0][blocks, pos % PAGE]
        v = kv_cache[1][blocks, pos % PAGE]
        torch.testing.assert_close(k[-1], key[r].view(H_KV, D))  # the new token was stored in its slot
        truth = _dense_truth(query[r].view(1, H_Q, D), k, v, 1)[0]
        torch.testing.assert_close(output[r].view(H_Q, D).double(), truth, atol=2e-5, rtol=1e-4)


def test_register_without_vllm_warns_and_never_raises(monkeypatch, caplog):
    # vLLM calls general plugins without a try/except: the plugin must never raise (tests/test_vllm_plugin.py)
    from prover.attention.vllm_plugin import register

    monkeypatch.setitem(sys.modules, "vllm", None)  # as if vLLM were not installed
    assert register() is None
    assert "vLLM is not installed (pip install 'proofforge[vllm]')" in caplog.text
