"""LeanAttention as a vLLM attention backend (selected with ``--attention-backend CUSTOM``).

This module imports vllm; it is loaded by vLLM itself, through the class path that
:func:`prover.attention.vllm_plugin.register` registers. The classes are thin: the cache layout, metadata and
forward pass live in :mod:`.vllm_paged`, which does not import vllm and is tested on CPU. Written against vLLM's
``vllm/v1/attention/backend.py`` interface; it cannot be exercised here (vLLM wheels are CUDA-only).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

try:  # since the attention restructure (vllm PR #31916): vllm/v1/attention/backend.py
    from vllm.v1.attention.backend import (
        AttentionBackend,
        AttentionCGSupport,
        AttentionImpl,
        AttentionMetadataBuilder,
        AttentionType,
        CommonAttentionMetadata,
    )
except ImportError:  # just before it (vllm/attention/backends/abstract.py); older vLLMs are refused by the plugin
    from vllm.attention.backends.abstract import AttentionBackend, AttentionImpl, AttentionType
    from vllm.v1.attention.backends.utils import (
        AttentionCGSupport,
        AttentionMetadataBuilder,
        CommonAttentionMetadata,
    )

from .vllm_paged import (
    LeanPagedMetadata,
    build_metadata,
    forward_step,
    kv_cache_shape,
)

__all__ = ["LeanAttentionBackend", "LeanAttentionImpl", "LeanAttentionMetadataBuilder"]


class LeanAttentionBackend(AttentionBackend):
    accept_output_buffer: bool = True
    forward_includes_kv_cache_update: bool = True
    supported_dtypes: ClassVar[list[torch.dtype]] = [torch.float16, torch.bfloat16, torch.float32]
    # Only the model's own dtype in the cache: LeanAttentionImpl refuses any other kv_cache_dtype. vLLM's default
    # list (vllm/v1/attention/backend.py) also admits "float16"/"bfloat16", which the selector would then accept.
    supported_kv_cache_dtypes: ClassVar[list[str]] = ["auto"]

    @staticmethod
    def get_name() -> str:
        return "CUSTOM"

    @staticmethod
    def get_impl_cls() -> type[LeanAttentionImpl]:
        return LeanAttentionImpl

    @staticmethod
    def get_builder_cls() -> type[LeanAttentionMetadataBuilder]:
        return LeanAttentionMetadataBuilder

    @staticmethod
    def get_kv_cache_shape(
        num_blocks: int, block_size: int, num_kv_heads: int, head_size: int, cache_dtype_str: str = "auto"
    ) -> tuple[int, ...]:
        return kv_cache_shape(num_blocks, block_size, num_kv_heads, head_size)

    @classmethod
    def get_supported_head_sizes(cls) -> list[int]:
        return [64, 128, 256]


class LeanAttentionMetadataBuilder(AttentionMetadataBuilder[LeanPagedMetadata]):
    # The prefill path reads lengths on the host, so no CUDA graphs; decodes go first.
    _cudagraph_support: ClassVar[AttentionCGSupport] = AttentionCGSupport.NEVER
    reorder_batch_threshold: int | None = 1

    def __init__(self, kv_cache_spec: Any, layer_names: list[str], vllm_config: Any, device: torch.device):
        self.kv_cache_spec = kv_cache_spec
        self.layer_names = layer_names
        self.vllm_config = vllm_config
        self.device = device

    def build(
        self, common_prefix_len: int, common_attn_metadata: CommonAttentionMetadata, fast_build: bool = False
    ) -> LeanPagedMetadata:
        m = common_attn_metadata
        return build_metadata(
            m.query_start_loc_cpu,
            m.seq_lens.cpu(),
            query_start_loc=m.query_start_loc,
            seq_lens=m.seq_lens,
            block_table=m.block_table_tensor,
            slot_mapping=m.slot_mapping,
            num_actual_tokens=m.num_actual_tokens,
        )


class LeanAttentionImpl(AttentionImpl[LeanPagedMetadata]):
    def __init__(
        self,
        num_heads: int,
        head_size: int,
        scale: float,
        num_kv_heads: int | None = None,
        alibi_slopes: list[float] | None = None,
        sliding_window: int | None = None,
        kv_cache_dtype: str = "auto",
        logits_soft_cap: float | None = None,
        attn_type: str = AttentionType.DECODER,
        kv_sharing_target_layer_name: str | None = None,
        **_: Any,
    ) -> None:
        unsupported = {
            "alibi_slopes": alibi_slopes is not None,
            "sliding_window": sliding_window not in (None, -1, (-1, -1)),
            "logits_soft_cap": bool(logits_soft_cap),
            f"kv_cache_dtype={kv_cache_dtype}": kv_cache_dtype != "auto",
            f"attn_type={attn_type}": attn_type != AttentionType.DECODER,
        }
        bad = [name for name, flag in unsupported.items() if flag]
        if bad:
            raise NotImplementedError(f"The LeanAttention backend does not support {', '.join(bad)}.")
        self.num_heads = num_heads
        self.head_size = head_size
        self.scale = float(scale)
        self.num_kv_heads = num_kv_heads or num_heads
        self.kv_sharing_target_layer_name = kv_sharing_target_layer_name

    def forward(
        self,
        layer: Any,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        kv_cache: torch.Tensor,
        attn_metadata: LeanPagedMetadata | None,
        output: torch.Tensor | None = None,
        output_scale: torch.Tensor | None = None,
        output_block_scale: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if output_scale is not None or output_block_scale is not None:
            raise NotImplementedError("The LeanAttention backend does not support fused output quantization.")
        assert output is not None, "vLLM allocates the output buffer (accept_output_buffer=True)"
        if attn_metadata is None:  # profiling run
            return output.fill_(0)
        return forward_step(
            query, key, value, kv_cache, attn_metadata, output,
            num_heads=self.num_heads, num_kv_heads=self.num_kv_heads, head_size=self.head_size, scale=self.scale,
            write_cache=self.kv_sharing_target_layer_name is None,
        )  # fmt: skip
