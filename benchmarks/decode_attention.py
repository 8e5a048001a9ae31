"""Decode-attention benchmark: LeanAttention against FlashDecoding split-K, FA-2-style and SDPA.

Every row times all methods on the same inputs in the same process, and reports each baseline's time divided by
LeanAttention's (> 1 means LeanAttention is faster). On a GPU the methods are the Triton kernels of
``prover.attention.triton_kernel`` plus ``torch.nn.functional.scaled_dot_product_attention``, and each is also
reported as achieved bandwidth and as a fraction of the HBM roofline (KV bytes = 2*B*L*H_kv*d*bytes_per_elem over
the device's bandwidth; H200: 4.8 TB/s). On a CPU the methods are the PyTorch versions: LeanAttention is its
vectorized path (``backend="vectorized"``, the CPU default), so ``sdpa/lean`` is the figure that matters there;
CPU ratios say nothing about GPU kernels.

    python benchmarks/decode_attention.py --quick              # CPU: B 1/4/16 x L 1k/8k/32k, H_q/H_kv 8/2, ~2 min
    python benchmarks/decode_attention.py --contexts 1k 16k 128k 512k --batches 1 4 16 --ragged --out bench.jsonl

Shape defaults follow the LeanAttention paper's decode setting: H_q=32, H_kv=8, d=128 (CPU --quick: 8/2, so the
32k x 16 row's KV cache is 1 GiB, not 4).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prover.attention import default_num_programs, lean_attention_decode  # noqa: E402
from prover.attention.baselines import fa2_decode_torch, sdpa_decode, split_k_decode_torch  # noqa: E402
from prover.attention.schedule import default_block_n  # noqa: E402

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def parse_size(text: str) -> int:
    """'4k' -> 4096, '512K' -> 524288, '1000' -> 1000."""
    t = text.strip().lower()
    try:
        n = int(t[:-1]) * 1024 if t.endswith("k") else int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad context length {text!r}: use e.g. 1024 or 4k") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"bad context length {text!r}: must be at least 1")
    return n


def time_fn(fn: Callable[[], torch.Tensor], device: torch.device, warmup: int, reps: int) -> float:
    """Seconds per call: the median of CUDA-event timings on a GPU; on a CPU the minimum, the usual estimator on a
    machine shared with other work (interference only ever adds time)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times) if device.type == "cuda" else min(times)


def _attempt(fn: Callable[[], torch.Tensor]) -> torch.Tensor | None:
    """fn(), or None if the GPU ran out of memory (its cache is emptied so that the next method has room)."""
    try:
        return fn()
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        return None


def _fmt(value: float | None, width: int, mult: float, digits: int) -> str:
    return f"{'oom':>{width}}" if value is None else f"{value * mult:>{width}.{digits}f}"


def methods(device: torch.device, num_programs: int, block_n: int, num_sms: int):
    """name -> fn(q, k, v, lens, scale) for this device."""
    if device.type == "cuda":
        from prover.attention.triton_kernel import (
            fa2_decode_triton,
            flash_decoding_num_splits,
            split_k_decode_triton,
        )

        def split_k(q, k, v, lens, scale):
            tiles = -(-k.shape[2] // block_n)
            s = flash_decoding_num_splits(q.shape[0] * k.shape[1], tiles, num_sms)
            return split_k_decode_triton(q, k, v, lens, scale=scale, block_n=block_n, num_splits=s)

        return {
            "lean": lambda q, k, v, lens, scale: lean_attention_decode(
                q, k, v, lens, scale=scale, num_programs=num_programs, block_n=block_n, backend="triton"
            ),
            "split_k": split_k,
            "fa2": lambda q, k, v, lens, scale: fa2_decode_triton(q, k, v, lens, scale=scale, block_n=block_n),
            "sdpa": lambda q, k, v, lens, scale: sdpa_decode(q, k, v, lens, scale=scale),
        }

    def split_k_cpu(q, k, v, lens, scale):
        return split_k_decode_torch(q, k, v, lens, scale=scale, num_splits=max(1, num_programs // (q.shape[0] * k.shape[1])))

    return {
        "lean": lambda q, k, v, lens, scale: lean_attention_decode(
            q, k, v, lens, scale=scale, num_programs=num_programs, block_n=block_n, backend="vectorized"
        ),
        "split_k": split_k_cpu,
        "fa2": lambda q, k, v, lens, scale: fa2_decode_torch(q, k, v, lens, scale=scale),
        "sdpa": lambda q, k, v, lens, scale: sdpa_decode(q, k, v, lens, scale=scale),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="short sweep: CPU B 1/4/16 x L 1k/8k/32k with H_q/H_kv 8/2; GPU L 1k/4k, B 1/2")
    p.add_argument("--contexts", nargs="+", type=parse_size, help="context lengths (e.g. 1k 64k 512k)")
    p.add_argument("--batches", nargs="+", type=int, help="batch sizes")
    p.add_argument("--heads-q", type=int, help="default 32 (CPU --quick: 8)")
    p.add_argument("--heads-kv", type=int, help="default 8 (CPU --quick: 2)")
    p.add_argument("--head-dim", type=int, default=128)
    p.add_argument("--dtype", choices=sorted(DTYPES), help="default bf16 on GPU, fp32 on CPU")
    p.add_argument("--ragged", action="store_true", help="per-sequence lengths uniform in [L/8, L]")
    p.add_argument("--num-programs", type=int, help="LeanAttention grid (default: SM count / CPU count)")
    p.add_argument("--block-n", type=int, help="keys per tile (default by head dim)")
    p.add_argument("--bandwidth-tbs", type=float, default=4.8, help="HBM bandwidth for the roofline (H200: 4.8)")
    p.add_argument("--reps", type=int, help="timed repetitions per method (GPU: median reported; CPU: minimum)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads for every method (1 avoids oversubscription on a shared machine; "
                        "0 = torch's default)")
    p.add_argument("--out", type=Path, help="append rows to this JSONL file; rows already there are skipped")
    args = p.parse_args(argv)

    device = torch.device(args.device)
    gpu = device.type == "cuda"
    small = args.quick and not gpu
    if args.heads_q is None:
        args.heads_q = 8 if small else 32
    if args.heads_kv is None:
        args.heads_kv = 2 if small else 8
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda but no CUDA GPU is visible")
    for flag in ("batches", "heads_q", "heads_kv", "head_dim", "num_programs", "block_n", "reps"):
        values = getattr(args, flag)
        if any(v < 1 for v in (values if isinstance(values, list) else [values] if values is not None else [])):
            p.error(f"--{flag.replace('_', '-')} must be at least 1")
    if args.heads_q % args.heads_kv:
        p.error(f"--heads-q ({args.heads_q}) must be a multiple of --heads-kv ({args.heads_kv})")
    if args.out is not None and args.out.is_dir():
        p.error(f"--out {args.out} is a folder: give a .jsonl file path")
    if args.threads < 0:
        p.error("--threads must be >= 0")
    if args.threads and not gpu:
        torch.set_num_threads(args.threads)
    dtype = DTYPES[args.dtype or ("bf16" if gpu else "fp32")]
    if small:
        contexts, batches = args.contexts or [1024, 8192, 32768], args.batches or [1, 4, 16]
    elif args.quick:
        contexts, batches = args.contexts or [1024, 4096], args.batches or [1, 2]
    elif gpu:
        contexts = args.contexts or [1024, 4096, 16384, 65536, 131072, 262144, 524288]
        batches = args.batches or [1, 4, 16]
    else:
        contexts, batches = args.contexts or [1024, 4096, 16384], args.batches or [1, 4, 16]
    reps = args.reps or (20 if gpu else 3)
    warmup = 3 if gpu else 1
    num_programs = args.num_programs or default_num_programs(device)
    num_sms = torch.cuda.get_device_properties(device).multi_processor_count if gpu else num_programs
    block_n = args.block_n or default_block_n(args.head_dim, dtype)
    fns = methods(device, num_programs, block_n, num_sms)
    elem = torch.finfo(dtype).bits // 8
    name = torch.cuda.get_device_name(device) if gpu else "cpu"
    print(f"device={name} dtype={dtype} H_q={args.heads_q} H_kv={args.heads_kv} d={args.head_dim} "
          f"G={num_programs} block_n={block_n} ragged={args.ragged} reps={reps}"
          + ("" if gpu else f" threads={torch.get_num_threads()}"))  # fmt: skip

    writer = None
    if args.out is not None:
        from prover.records import JsonlWriter

        writer = JsonlWriter(args.out, key=lambda r: f"{r['device']}|{r['dtype']}|{r['batch']}|{r['context']}|{r['ragged']}")

    header = f"{'B':>3} {'L':>7} " + " ".join(f"{m + ' ms':>11}" for m in fns) + "  " + "  ".join(
        f"{m}/lean" for m in fns if m != "lean"
    )
    if gpu:
        header += "  " + "  ".join(f"{m} %roof" for m in fns)
    print(header)
    gen = torch.Generator(device=device).manual_seed(0)  # on the GPU: a 512k x 16 cache is generated in place
    for bsz in batches:
        for length in contexts:
            key = f"{name}|{dtype}|{bsz}|{length}|{args.ragged}"
            if writer is not None and writer.done(key):
                print(f"{bsz:>3} {length:>7}  (already in {args.out})")
                continue
            kv_bytes = 2 * bsz * length * args.heads_kv * args.head_dim * elem
            if gpu and kv_bytes * 1.2 > torch.cuda.mem_get_info(device)[0]:
                print(f"{bsz:>3} {length:>7}  skipped: {kv_bytes / 2**30:.1f} GiB of KV does not fit")
                continue
            shape = (bsz, args.heads_kv, length, args.head_dim)
            k = torch.randn(shape, generator=gen, dtype=dtype, device=device)
            v = torch.randn(shape, generator=gen, dtype=dtype, device=device)
            q = torch.randn(bsz, args.heads_q, args.head_dim, generator=gen, dtype=dtype, device=device)
            if args.ragged:
                lens = torch.randint(max(1, length // 8), length + 1, (bsz,), generator=gen, device=device)
            else:
                lens = torch.full((bsz,), length, device=device)
            lens = lens.to(dtype=torch.int32)
            used_bytes = 2 * int(lens.sum()) * args.heads_kv * args.head_dim * elem
            scale = args.head_dim**-0.5
            row = {"device": name, "dtype": str(dtype), "batch": bsz, "context": length, "ragged": args.ragged,
                   "num_programs": num_programs, "block_n": block_n, "kv_bytes": used_bytes}  # fmt: skip
            truth = None
            for m in ("sdpa", "split_k"):  # SDPA expands GQA heads and can run out of memory at 512k x 16
                truth = _attempt(functools.partial(fns[m], q, k, v, lens, scale))
                if truth is not None:
                    truth, row["truth"] = truth.float(), m
                    break
            for m, fn in fns.items():
                call = functools.partial(fn, q, k, v, lens, scale)
                out = _attempt(call)
                if out is None:  # out of memory: recorded as such, the other methods still run
                    row[f"{m}_max_err"] = row[f"{m}_s"] = None
                    continue
                row[f"{m}_max_err"] = (out.float() - truth).abs().max().item() if truth is not None else None
                del out
                row[f"{m}_s"] = time_fn(call, device, warmup, reps)
                if gpu:
                    row[f"{m}_tbs"] = used_bytes / row[f"{m}_s"] / 1e12
                    row[f"{m}_roofline"] = row[f"{m}_tbs"] / args.bandwidth_tbs
            for m in fns:
                if m != "lean":
                    both = row[f"{m}_s"] is not None and row["lean_s"] is not None
                    row[f"{m}_over_lean"] = row[f"{m}_s"] / row["lean_s"] if both else None
            line = f"{bsz:>3} {length:>7} " + " ".join(_fmt(row[m + "_s"], 11, 1e3, 3) for m in fns) + "  "
            line += "  ".join(_fmt(row[m + "_over_lean"], len(m) + 5, 1, 2) for m in fns if m != "lean")
            if gpu:
                line += "  " + "  ".join(_fmt(row.get(m + "_roofline"), len(m) + 6, 100, 1) for m in fns)
            print(line, flush=True)
            if writer is not None:
                writer.write(row)
            del k, v, q, truth
    if writer is not None:
        writer.close()
    if not gpu:
        print("CPU run: LeanAttention is its vectorized PyTorch path (the CPU default), the baselines PyTorch "
              "stand-ins; ratios say nothing about GPU kernels (run benchmarks/gpu_check.py on a GPU).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
