"""Compile the Triton kernels for a CUDA target without a GPU (TTIR -> TTGIR -> LLVM IR -> PTX -> cubin).

The CPU interpreter checks what the kernels compute but not that they compile: the compiled path has its own
typing rules (loop-carried types, scalar atomics, cache modifiers, dot shapes). Triton's wheel bundles ptxas, so
the whole pipeline runs on a CPU-only machine. This is what CI uses in place of a GPU for that class of bug.

    python -m prover.attention.compile_check                 # every variant, sm_90 (H100/H200)
    python -m prover.attention.compile_check --arch 80 --only lean_bf16_d128_paged

Prints one JSON object per variant: name, seconds, shared memory bytes, and whether the PTX holds the
acquire-release ticket atomic (lean kernel only). Must run with TRITON_INTERPRET unset.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

__all__ = ["VARIANTS", "compile_variant", "main"]

# name -> (kernel attribute, pointer dtype, constexprs); BLOCK_N as default_block_n picks it
VARIANTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "lean_bf16_d128_paged": ("_lean_decode_kernel", "bf16",
                             {"BLOCK_B": 16, "BLOCK_N": 128, "D": 128, "PAGED": True, "HAS_LEFTPAD": False,
                              "DOT_F32": False}),
    "lean_fp16_d64_dense": ("_lean_decode_kernel", "fp16",  # batch of one: a one-lane length vector
                            {"BLOCK_B": 1, "BLOCK_N": 256, "D": 64, "PAGED": False, "HAS_LEFTPAD": False, "DOT_F32": False}),
    "lean_fp32_d256_leftpad": ("_lean_decode_kernel", "fp32",
                               {"BLOCK_B": 64, "BLOCK_N": 32, "D": 256, "PAGED": False, "HAS_LEFTPAD": True, "DOT_F32": True}),
    "split_k_bf16_d128_paged": ("_split_k_kernel", "bf16",
                                {"BLOCK_N": 128, "D": 128, "PAGED": True, "HAS_LEFTPAD": False, "DOT_F32": False}),
    "split_k_merge_bf16_d128": ("_split_k_merge_kernel", "bf16", {"BLOCK_N": 128, "D": 128}),
    "fa2_bf16_d128_dense": ("_fa2_decode_kernel", "bf16",
                            {"BLOCK_N": 128, "D": 128, "PAGED": False, "HAS_LEFTPAD": False, "DOT_F32": False}),
}  # fmt: skip


def _signature(fn: Any, dtype: str, constexprs: dict[str, Any]) -> dict[str, str]:
    sig = {}
    for name in fn.arg_names:
        if name in constexprs:
            sig[name] = "constexpr"
        elif name in ("Q", "K", "V", "Out"):
            sig[name] = f"*{dtype}"
        elif name.startswith("part_"):
            sig[name] = "*fp32"
        elif name.endswith("_ptr"):
            sig[name] = "*i32"
        elif name == "scale":
            sig[name] = "fp32"
        else:
            sig[name] = "i32"
    return sig


def compile_variant(
    name: str, arch: int = 90, block_g: int = 16, num_warps: int = 4, num_stages: int = 2
) -> dict[str, Any]:
    """Compile one variant to a cubin for ``sm_<arch>``; returns a summary."""
    if os.environ.get("TRITON_INTERPRET") == "1":
        raise RuntimeError("compile_check needs TRITON_INTERPRET unset (the interpreter replaces compiled kernels).")
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from . import triton_kernel

    attr, dtype, consts = VARIANTS[name]
    fn = getattr(triton_kernel, attr)
    consts = {"BLOCK_G": block_g, **consts}
    start = time.perf_counter()
    kernel = triton.compile(
        ASTSource(fn, _signature(fn, dtype, consts), consts),
        target=GPUTarget("cuda", arch, 32),
        options={"num_warps": num_warps, "num_stages": num_stages},  # as the launchers use them
    )
    ptx = kernel.asm["ptx"]
    return {
        "name": name,
        "arch": arch,
        "seconds": round(time.perf_counter() - start, 2),
        "shared_bytes": kernel.metadata.shared,
        "has_cubin": bool(kernel.asm.get("cubin")),
        "acq_rel_ticket": "atom.global.gpu.acq_rel.add" in ptx,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Compile the attention kernels for a CUDA target without a GPU.")
    p.add_argument("--arch", type=int, default=90, help="compute capability as an int (80 = A100, 90 = H100/H200)")
    p.add_argument("--only", nargs="+", choices=sorted(VARIANTS), help="variants to compile (default: all)")
    args = p.parse_args(argv)
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    try:
        for name in args.only or list(VARIANTS):
            print(json.dumps(compile_variant(name, args.arch)), flush=True)
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
