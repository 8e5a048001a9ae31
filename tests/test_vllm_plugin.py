"""The vLLM plugin against fake ``vllm`` package trees on disk, one per registry layout it meets.

The fakes mirror vllm-project/vllm's modules as read with the search tool: the registry of
``vllm/v1/attention/backends/registry.py`` (after the attention restructure, vllm PR #31916) and of
``vllm/attention/backends/registry.py`` just before it (``AttentionBackendEnum`` with ``CUSTOM = None``,
``get_path``/``get_class``/``is_overridden``, ``_ATTN_OVERRIDES``, ``register_backend(backend,
class_path=None, is_mamba=False)``); the 0.11 registry (``_Backend``, ``register_attn_backend``); the
pre-vllm-#30869 enum where ``CUSTOM`` and ``TORCH_SDPA`` share the value ``""`` (so one aliases the other);
and ``vllm/v1/attention/backend.py``'s ``AttentionBackend.supported_kv_cache_dtypes`` default
(``["auto", "float16", "bfloat16"]``) with ``supports_kv_cache_dtype``.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
import textwrap
from pathlib import Path

import pytest

from prover.attention.vllm_plugin import BACKEND_CLASS_PATH

IMPORT_UTILS = '''
import importlib

def resolve_obj_by_qualname(qualname: str):
    module_name, obj_name = qualname.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), obj_name)
'''

REGISTRY = '''
from collections.abc import Callable
from enum import Enum, EnumMeta
from typing import cast

from vllm.utils.import_utils import resolve_obj_by_qualname


class _AttentionBackendEnumMeta(EnumMeta):
    def __getitem__(cls, name: str):
        try:
            return super().__getitem__(name)
        except KeyError:
            members = cast("dict[str, Enum]", cls.__members__).keys()
            raise ValueError(f"Unknown attention backend: '{name}'. Valid options are: {', '.join(members)}") from None


class AttentionBackendEnum(Enum, metaclass=_AttentionBackendEnumMeta):
    FLASH_ATTN = "vllm.v1.attention.backends.flash_attn.FlashAttentionBackend"
    TORCH_SDPA = ""  # this tag is only used for ViT
    FLASHINFER = "vllm.v1.attention.backends.flashinfer.FlashInferBackend"
    CUSTOM = @CUSTOM@

    def get_path(self, include_classname: bool = True) -> str:
        path = _ATTN_OVERRIDES.get(self, self.value)
        if not path:
            raise ValueError(f"Backend {self.name} must be registered before use.")
        if not include_classname:
            path = path.rsplit(".", 1)[0]
        return path

    def get_class(self):
        return resolve_obj_by_qualname(self.get_path())

    def is_overridden(self) -> bool:
        return self in _ATTN_OVERRIDES

    def clear_override(self) -> None:
        _ATTN_OVERRIDES.pop(self, None)


_ATTN_OVERRIDES: dict = {}


def register_backend(backend, class_path: str | None = None, is_mamba: bool = False) -> Callable[[type], type]:
    def decorator(cls: type) -> type:
        _ATTN_OVERRIDES[backend] = f"{cls.__module__}.{cls.__qualname__}"
        return cls

    if class_path is not None:
        _ATTN_OVERRIDES[backend] = class_path
        return lambda x: x
    return decorator
'''

REGISTRY_0_11 = '''
import enum


class _Backend(enum.Enum):
    FLASH_ATTN = enum.auto()
    TORCH_SDPA = enum.auto()
    FLEX_ATTENTION = enum.auto()


BACKEND_MAPPING = {}


def register_attn_backend(backend: _Backend, class_path: str):
    def decorator(cls):
        BACKEND_MAPPING[backend] = class_path
        return cls

    return decorator
'''

ABSTRACT = '''
from abc import ABC, abstractmethod
from enum import Enum
from typing import ClassVar, Generic, TypeVar

import torch


class AttentionType(str, Enum):
    DECODER = "decoder"
    ENCODER = "encoder"
    ENCODER_ONLY = "encoder_only"
    ENCODER_DECODER = "encoder_decoder"


class AttentionBackend(ABC):
    supported_dtypes: ClassVar[list[torch.dtype]] = [torch.float16, torch.bfloat16]
    supported_kv_cache_dtypes: ClassVar[list[str]] = ["auto", "float16", "bfloat16"]
    forward_includes_kv_cache_update: bool = True

    @staticmethod
    @abstractmethod
    def get_name() -> str:
        raise NotImplementedError

    @classmethod
    def supports_kv_cache_dtype(cls, kv_cache_dtype) -> bool:
        if kv_cache_dtype is None:
            return True
        return (not cls.supported_kv_cache_dtypes) or (kv_cache_dtype in cls.supported_kv_cache_dtypes)


T = TypeVar("T")


class AttentionImpl(ABC, Generic[T]):
    pass
'''

BUILDER = '''
from abc import ABC
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Generic, TypeVar

import torch

M = TypeVar("M")


class AttentionCGSupport(Enum):
    ALWAYS = 3
    UNIFORM_BATCH = 2
    UNIFORM_SINGLE_TOKEN_DECODE = 1
    NEVER = 0


class AttentionMetadataBuilder(ABC, Generic[M]):
    _cudagraph_support: ClassVar[AttentionCGSupport] = AttentionCGSupport.NEVER
    reorder_batch_threshold: int | None = None


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
'''

LAYOUTS = {
    # after vllm PR #31916: abstract classes and builder in vllm/v1/attention/backend.py, registry under v1
    "v1": {"vllm/v1/attention/backends/registry.py": REGISTRY.replace("@CUSTOM@", "None"),
           "vllm/v1/attention/backend.py": ABSTRACT + BUILDER.replace("from abc import ABC\n", "")},
    # just before it: vllm/attention/backends/{registry,abstract}.py, builder in vllm/v1/attention/backends/utils.py
    "pre-move": {"vllm/attention/backends/registry.py": REGISTRY.replace("@CUSTOM@", "None"),
                 "vllm/attention/backends/abstract.py": ABSTRACT,
                 "vllm/v1/attention/backends/utils.py": BUILDER},
    "0.11": {"vllm/attention/backends/registry.py": REGISTRY_0_11},
    # before vllm PR #30869: CUSTOM = "" like TORCH_SDPA, so Enum makes it an alias of TORCH_SDPA
    "alias": {"vllm/v1/attention/backends/registry.py": REGISTRY.replace("@CUSTOM@", '""'),
              "vllm/v1/attention/backend.py": ABSTRACT + BUILDER.replace("from abc import ABC\n", "")},
}


def _purge() -> None:
    for name in list(sys.modules):
        if name == "vllm" or name.startswith("vllm.") or name == "prover.attention.vllm_backend":
            del sys.modules[name]


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch):
    def install(layout: str) -> Path:
        root = tmp_path / layout
        files = {"vllm/__init__.py": '__version__ = "0.0.fake"\n', "vllm/utils/__init__.py": "",
                 "vllm/utils/import_utils.py": IMPORT_UTILS, **LAYOUTS[layout]}
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
            for parent in path.relative_to(root).parents:  # every folder is a package
                if str(parent) != "." and not (root / parent / "__init__.py").exists():
                    (root / parent / "__init__.py").write_text("")
        _purge()
        monkeypatch.syspath_prepend(str(root))
        importlib.invalidate_caches()
        return root

    yield install
    _purge()


def _registry(layout: str):
    name = "vllm.v1.attention.backends.registry" if layout in ("v1", "alias") else "vllm.attention.backends.registry"
    return importlib.import_module(name)


@pytest.mark.parametrize("layout", ["v1", "pre-move"])
def test_registers_custom_and_vllm_resolves_the_backend(fake_vllm, layout):
    fake_vllm(layout)
    from prover.attention.vllm_plugin import register

    assert register() == BACKEND_CLASS_PATH
    enum = _registry(layout).AttentionBackendEnum
    assert enum.CUSTOM.is_overridden() and not enum.TORCH_SDPA.is_overridden()
    backend = enum["CUSTOM"].get_class()  # what vLLM does for --attention-backend CUSTOM
    assert backend.__module__ == "prover.attention.vllm_backend" and backend.get_name() == "CUSTOM"
    # the selector's kv-cache check: only the model's own dtype, as LeanAttentionImpl accepts
    assert backend.supports_kv_cache_dtype("auto") and not backend.supports_kv_cache_dtype("bfloat16")
    assert not backend.supports_kv_cache_dtype("fp8")
    with pytest.raises(NotImplementedError, match="kv_cache_dtype=bfloat16"):
        backend.get_impl_cls()(8, 64, 0.125, 2, kv_cache_dtype="bfloat16")
    assert register() == BACKEND_CLASS_PATH  # every vLLM process runs the plugin again: idempotent


@pytest.mark.parametrize("layout,reason", [
    ("0.11", r"vLLM 0\.0\.fake has no attention-backend registry .*needs vLLM >= 0\.14"),
    ("alias", r"AttentionBackendEnum\.CUSTOM is an alias of TORCH_SDPA; LeanAttention needs vLLM >= 0\.14"),
])
def test_unsupported_vllm_gets_one_warning_and_is_left_unchanged(fake_vllm, caplog, layout, reason):
    fake_vllm(layout)
    from prover.attention.vllm_plugin import register

    with caplog.at_level(logging.WARNING, logger="prover.attention.vllm_plugin"):
        assert register() is None  # no exception: vLLM's plugin loader has no try/except
    (record,) = caplog.records
    assert re.search(reason, record.getMessage()) and "vLLM runs unchanged" in record.getMessage()
    if layout == "0.11":
        assert _registry(layout).BACKEND_MAPPING == {}
    else:
        assert not _registry(layout).AttentionBackendEnum.TORCH_SDPA.is_overridden()


def test_custom_held_by_another_plugin_is_not_overwritten(fake_vllm, caplog):
    fake_vllm("v1")
    reg = _registry("v1")
    reg.register_backend(reg.AttentionBackendEnum.CUSTOM, "other_plugin.Backend")
    from prover.attention.vllm_plugin import register

    assert register() is None
    assert reg.AttentionBackendEnum.CUSTOM.get_path() == "other_plugin.Backend"
    assert "already registered to other_plugin.Backend by another plugin" in caplog.text


def test_an_unexpected_registry_error_is_a_warning_too(fake_vllm, caplog, monkeypatch):
    fake_vllm("v1")
    reg = _registry("v1")

    def broken(*args, **kwargs):
        raise TypeError("register_backend() changed")

    monkeypatch.setattr(reg, "register_backend", broken)
    from prover.attention.vllm_plugin import register

    assert register() is None
    assert "TypeError: register_backend() changed" in caplog.text


def test_the_floor_in_pyproject_is_the_one_the_plugin_names():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    from prover.attention.vllm_plugin import MIN_VLLM
    from prover.config import REPO_ROOT

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["vllm"] == [f"vllm>={MIN_VLLM}"]
    assert project["entry-points"]["vllm.general_plugins"]["proofforge_lean_attention"] == \
        "prover.attention.vllm_plugin:register"
