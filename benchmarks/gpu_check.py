"""One command that checks LeanAttention on a CUDA GPU and writes ``benchmarks/RESULTS-gpu.md``.

    python benchmarks/gpu_check.py                 # ~5-8 minutes on one H200; needs only torch + triton
    python benchmarks/gpu_check.py --quick         # a smaller sweep (~2 minutes), same report

Nothing else is needed (no vLLM, no network, no transformers: the model in part (c) is a random Llama written in
plain PyTorch). Never run in CI. Three parts, each appended to the report as soon as it finishes, so a run cut
short still leaves what it measured:

(a) correctness of the compiled Triton kernel against ``scaled_dot_product_attention`` (fp32 math on the same
    inputs) over a sweep of shapes: bf16 first (the CPU interpreter cannot check bf16, so this is its first
    check), then fp16; dense, left-padded and paged caches; GQA groups 1/4/7/8, MQA, d 64/128/256; ragged lengths
    with 0, 1 and non-multiples of the tile; the SM-count grid and a small one; run-to-run determinism; and the
    outcome of the first-use self-check that ``backend="auto"`` runs (the fallback to SDPA it would take).
(b) ``benchmarks/decode_attention.py``: LeanAttention against the FlashDecoding split-K and FA-2-style Triton
    kernels and SDPA at batch 1/4/16 and context 1k..512k, equal and ragged lengths, bf16, with achieved TB/s and
    the fraction of the HBM roofline, per shape (so a shortfall shows where it is), and the averages against the
    goals: >= 2.6x FA-2, >= 1.7x split-K, >= 85 % of the roofline at >= 64k context.
(c) decode tokens/s of a small random Llama (hidden 1024, 8 layers, 16 query / 4 KV heads of 64) with
    LeanAttention vs SDPA on a static KV cache, same weights, same run.

``--smoke`` runs every part on tiny shapes on whatever device there is (on a CPU only under
``TRITON_INTERPRET=1``, where the Triton kernels run in the interpreter): it tests this script, not the GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prover.attention import attention_report, default_num_programs, lean_attention_decode  # noqa: E402
from prover.attention.baselines import sdpa_reference  # noqa: E402
from prover.attention.cases import to_paged  # noqa: E402
from prover.attention.selfcheck import TOLERANCE  # noqa: E402

DTYPES = (torch.bfloat16, torch.float16)  # bf16 first: the path the interpreter could not check
DEV = torch.device("cuda")  # --smoke on a CPU: torch.device("cpu")
GOALS = {"fa2": 2.6, "split_k": 1.7, "roofline_64k": 0.85}


class Report:
    """The markdown report, rewritten after every part so that a cut-short run keeps what it measured."""

    def __init__(self, path: Path, header: list[str]):
        self.path = path
        self.parts: list[str] = ["\n".join(header)]

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.path.write_text("\n\n".join(self.parts) + "\n", encoding="utf-8")
        print(text, flush=True)


def environment() -> list[str]:
    import triton

    if DEV.type == "cuda":
        props = torch.cuda.get_device_properties(0)
        device = (f"{torch.cuda.get_device_name(0)} ({props.multi_processor_count} SMs, "
                  f"{props.total_memory / 2**30:.0f} GiB, sm_{props.major}{props.minor})")  # fmt: skip
    else:
        device = "cpu, Triton interpreter (--smoke: a test of this script, not GPU figures)"

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        commit = "unknown (no git)"
    return [
        "# LeanAttention on a GPU (`benchmarks/gpu_check.py`)",
        "",
        f"- device: {device}",
        f"- torch {torch.__version__} (CUDA {torch.version.cuda}), triton {triton.__version__}, "
        f"python {platform.python_version()}",
        f"- repository commit: {commit}; run at {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}",
    ]


# ------------------------------------------------------------------------------------------- (a) correctness


def _case(bsz, h_q, h_kv, d, lens, dtype, pad_max, seed):
    g = torch.Generator(device=DEV).manual_seed(seed)
    pads = torch.randint(0, pad_max + 1, (bsz,), generator=g, device=DEV) if pad_max else None
    cap = max(lens) + pad_max
    q = torch.randn(bsz, h_q, d, generator=g, device=DEV, dtype=dtype)
    k = torch.randn(bsz, h_kv, max(cap, 1), d, generator=g, device=DEV, dtype=dtype)
    v = torch.randn(bsz, h_kv, max(cap, 1), d, generator=g, device=DEV, dtype=dtype)
    return q, k, v, torch.tensor(lens, dtype=torch.int32, device=DEV), pads


def correctness(quick: bool, smoke: bool = False) -> tuple[str, bool]:
    sms = default_num_programs(DEV)
    shapes = [  # (B, H_q, H_kv, d, lens)
        (4, 32, 8, 128, [4099, 1, 777, 2048]),
        (3, 16, 2, 64, [3000, 17, 1025]),
        (2, 8, 1, 256, [513, 64]),  # MQA, d 256
        (5, 28, 4, 128, [0, 129, 1, 4096, 300]),  # an empty sequence; a group of 7 (not a power of two)
        (16, 32, 8, 128, [1 + (i * 2654435761) % 8192 for i in range(16)]),  # ragged batch of 16
        (1, 32, 32, 128, [65539]),  # no GQA, one long sequence over every SM
    ]
    if quick:
        shapes = shapes[:4]
    if smoke:
        shapes = [(3, 14, 2, 32, [0, 33, 17])]
    lines = ["## (a) Correctness of the Triton kernel against SDPA", "",
             "max |kernel - SDPA| (SDPA in fp32 on the same inputs); tolerance bf16 2e-2, fp16 5e-3. "
             f"Grids: {sms} programs (the SM count) and 7.", "",
             "| dtype | B | H_q/H_kv | d | layout | max err (G=SMs) | max err (G=7) | deterministic | ok |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    all_ok = True
    tol = {torch.bfloat16: 2e-2, torch.float16: 5e-3}
    for dtype in DTYPES:
        for i, (bsz, h_q, h_kv, d, lens) in enumerate(shapes):
            for layout in ("dense", "leftpad", "paged"):
                q, k, v, seq, pads = _case(bsz, h_q, h_kv, d, lens, dtype, 37 if layout == "leftpad" else 0, i)
                truth = sdpa_reference(q.float(), k.float(), v.float(), seq, cache_leftpad=pads)
                kw: dict = {"cache_leftpad": pads}
                if layout == "paged":
                    kc, vc, table = to_paged(k.cpu(), v.cpu(), lens, page=16, seed=i)
                    k, v = kc.to(DEV), vc.to(DEV)
                    kw = {"block_table": table.to(DEV)}
                errs, det = [], True
                for programs in (sms, 7):
                    try:
                        out = lean_attention_decode(q, k, v, seq, backend="triton", num_programs=programs, **kw)
                        again = lean_attention_decode(q, k, v, seq, backend="triton", num_programs=programs, **kw)
                        errs.append(float((out.float() - truth).abs().max()))
                        det = det and bool(torch.equal(out, again))
                    except Exception as e:  # noqa: BLE001 - a compile/launch failure is a result to report
                        errs.append(float("nan"))
                        print(f"kernel failed: {type(e).__name__}: {e}", flush=True)
                ok = all(e <= tol[dtype] for e in errs) and det  # NaN fails
                all_ok &= ok
                lines.append(f"| {str(dtype)[6:]} | {bsz} | {h_q}/{h_kv} | {d} | {layout} | {errs[0]:.2e} | "
                             f"{errs[1]:.2e} | {'yes' if det else 'NO'} | {'ok' if ok else '**FAIL**'} |")  # fmt: skip
                del q, k, v, truth
    # the first-use self-check of backend="auto", per (dtype, head_dim, group, layout)
    for dtype in DTYPES[:1] if smoke else (*DTYPES, torch.float32):
        combos = ((64, 4, False), (128, 4, False), (128, 4, True), (128, 8, False), (256, 1, False))
        for d, group, paged in combos[:2] if smoke else combos:
            q, k, v, seq, _ = _case(2, 2 * group, 2, d, [300, 37], dtype, 0, d)
            kw = {}
            if paged:
                kc, vc, table = to_paged(k.cpu(), v.cpu(), [300, 37], page=16)
                k, v, kw = kc.to(DEV), vc.to(DEV), {"block_table": table.to(DEV)}
            with _kernel_device_on_cpu(smoke):
                lean_attention_decode(q, k, v, seq, **kw)
    lines += ["", "First-use self-check of `backend=\"auto\"` (what `/health` and `attention_report()` show; "
              f"tolerances {', '.join(f'{str(k)[6:]} {v:g}' for k, v in TOLERANCE.items())}):", "",
              "| dtype | d | group | paged | passed | serves with | max err | error |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in attention_report():
        all_ok &= r["ok"]
        err = "-" if r["max_err"] is None else f"{r['max_err']:.2e}"
        lines.append(f"| {r['dtype']} | {r['head_dim']} | {r['group']} | {r['paged']} | {r['ok']} | {r['backend']} | "
                     f"{err} | {r['error'] or ''} |")  # fmt: skip
    lines += ["", f"**Correctness: {'all passed' if all_ok else 'FAILURES above'}.**"]
    return "\n".join(lines), all_ok


@contextlib.contextmanager
def _kernel_device_on_cpu(smoke: bool):
    """Under --smoke on a CPU, let backend="auto" treat CPU tensors as the kernel's (interpreted) device."""
    import prover.attention as attention

    if not (smoke and DEV.type == "cpu"):
        yield
        return
    old = attention._on_kernel_device
    attention._on_kernel_device = lambda q: True
    try:
        yield
    finally:
        attention._on_kernel_device = old


# --------------------------------------------------------------------------------------------- (b) timings


def timings(quick: bool, out_dir: Path, smoke: bool = False) -> str:
    bench_path = REPO / "benchmarks" / "decode_attention.py"
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_decode_attention", bench_path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows_path = out_dir / "RESULTS-gpu.jsonl"
    contexts = ["1k", "16k", "64k", "512k"] if quick else ["1k", "4k", "16k", "64k", "128k", "256k", "512k"]
    batches = ["1", "4", "16"]
    extra = ["--device", DEV.type]
    if smoke:
        contexts, batches = ["100"], ["2"]
        extra += ["--heads-q", "4", "--heads-kv", "2", "--head-dim", "32", "--reps", "1"]
    log = io.StringIO()
    for ragged in (False, True):
        args = ["--contexts", *contexts, "--batches", *batches, "--dtype", "bf16", "--out", str(rows_path), *extra]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            bench.main([*args, "--ragged"] if ragged else args)
        print(buf.getvalue(), flush=True)
        log.write(buf.getvalue())
    name = torch.cuda.get_device_name(0) if DEV.type == "cuda" else "cpu"
    rows = [json.loads(line) for line in rows_path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["device"] == name and r["dtype"] == str(torch.bfloat16)]
    lines = ["## (b) Decode kernel timings (`benchmarks/decode_attention.py`, bf16, H_q 32, H_kv 8, d 128)", "",
             "Times in ms (median of 20 CUDA-event timings); `X/lean` = X's time over LeanAttention's (> 1: Lean "
             "faster); TB/s and % of the 4.8 TB/s HBM roofline count the KV bytes actually read.", "",
             "| B | L | ragged | lean | split_k | fa2 | sdpa | split_k/lean | fa2/lean | sdpa/lean | lean TB/s | "
             "lean %roof | split_k %roof | fa2 %roof | lean err |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip

    def f(x, mult=1.0, digits=3):
        return "oom" if x is None else "-" if x == "-" else f"{x * mult:.{digits}f}"

    for r in sorted(rows, key=lambda r: (r["ragged"], r["batch"], r["context"])):
        lines.append(
            f"| {r['batch']} | {r['context']} | {r['ragged']} | {f(r['lean_s'], 1e3)} | {f(r['split_k_s'], 1e3)} | "
            f"{f(r['fa2_s'], 1e3)} | {f(r['sdpa_s'], 1e3)} | {f(r['split_k_over_lean'], 1, 2)} | "
            f"{f(r['fa2_over_lean'], 1, 2)} | {f(r['sdpa_over_lean'], 1, 2)} | {f(r.get('lean_tbs', '-'), 1, 2)} | "
            f"{f(r.get('lean_roofline', '-'), 100, 1)} | {f(r.get('split_k_roofline', '-'), 100, 1)} | "
            f"{f(r.get('fa2_roofline', '-'), 100, 1)} | {f(r['lean_max_err'], 1, 4)} |"
        )

    def geo(xs):
        xs = [x for x in xs if x]
        return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")

    fa2 = [r["fa2_over_lean"] for r in rows]
    split = [r["split_k_over_lean"] for r in rows]
    long_roof = [r["lean_roofline"] for r in rows if r["context"] >= 65536 and r.get("lean_roofline")]
    roof = sum(long_roof) / len(long_roof) if long_roof else float("nan")

    def ar(xs):
        xs = [x for x in xs if x]
        return sum(xs) / len(xs) if xs else float("nan")

    def verdict(ok: bool) -> str:
        return "met" if ok else "**NOT met**"

    lines += ["", "Verdicts use the geometric mean over every row (the arithmetic mean, which a few large ratios "
              "dominate, is shown beside it).", "",
              "| goal | measured (geometric mean; arithmetic mean) | verdict |", "| --- | --- | --- |",
              f"| >= {GOALS['fa2']}x the FA-2-style kernel | {geo(fa2):.2f}x; {ar(fa2):.2f}x | "
              f"{verdict(geo(fa2) >= GOALS['fa2'])} |",
              f"| >= {GOALS['split_k']}x FlashDecoding split-K | {geo(split):.2f}x; {ar(split):.2f}x | "
              f"{verdict(geo(split) >= GOALS['split_k'])} |",
              f"| >= {GOALS['roofline_64k']:.0%} of the HBM roofline at >= 64k | {roof:.1%} (mean over "
              f"{len(long_roof)} rows) | {verdict(roof >= GOALS['roofline_64k'])} |"]  # fmt: skip
    weakest = sorted((r for r in rows if r["fa2_over_lean"] and r["split_k_over_lean"]),
                     key=lambda r: min(r["fa2_over_lean"], r["split_k_over_lean"]))[:3]  # fmt: skip
    if weakest:
        lines += ["", "Weakest shapes (aim the next change here): " + "; ".join(
            f"B {r['batch']} L {r['context']}{' ragged' if r['ragged'] else ''}: fa2/lean "
            f"{r['fa2_over_lean']:.2f}, split_k/lean {r['split_k_over_lean']:.2f}" for r in weakest)]  # fmt: skip
    lines += ["", f"Raw rows: `{rows_path.name}` (JSONL, one per shape; a rerun skips rows already there)."]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- (c) model decode speed


def _sync() -> None:
    if DEV.type == "cuda":
        torch.cuda.synchronize()


class RandomLlama:
    """A random-weight Llama decoder (RMSNorm, GQA attention, SwiGLU MLP; no rotary embedding, which costs the
    same for both attentions) over a static KV cache, so only the decode attention differs between runs."""

    def __init__(self, hidden=1024, layers=8, heads=16, kv_heads=4, head_dim=64, inter=2816, vocab=32000,
                 dtype=torch.bfloat16, seed=0):  # fmt: skip
        g = torch.Generator(device=DEV).manual_seed(seed)

        def w(*shape):
            return (torch.randn(*shape, generator=g, device=DEV, dtype=torch.float32) / math.sqrt(shape[0])).to(dtype)

        self.h, self.layers, self.hq, self.hkv, self.d = hidden, layers, heads, kv_heads, head_dim
        self.embed = w(vocab, hidden)
        self.w = [dict(q=w(hidden, heads * head_dim), k=w(hidden, kv_heads * head_dim),
                       v=w(hidden, kv_heads * head_dim), o=w(heads * head_dim, hidden),
                       gate=w(hidden, inter), up=w(hidden, inter), down=w(inter, hidden)) for _ in range(layers)]
        self.lm_head = w(hidden, vocab)
        self.dtype = dtype

    @staticmethod
    def norm(x):
        return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6).to(x.dtype)

    def decode(self, batch: int, prefix: int, steps: int, attention: str) -> float:
        """Tokens/s of ``steps`` greedy decode steps after a random ``prefix`` already in the cache."""
        cap = prefix + steps
        g = torch.Generator(device=DEV).manual_seed(1)
        caches = [(torch.randn(batch, self.hkv, cap, self.d, generator=g, device=DEV, dtype=self.dtype),
                   torch.randn(batch, self.hkv, cap, self.d, generator=g, device=DEV, dtype=self.dtype))
                  for _ in range(self.layers)]  # fmt: skip
        tok = torch.zeros(batch, dtype=torch.long, device=DEV)

        def step(pos: int) -> torch.Tensor:
            x = self.embed[tok]
            lens = torch.full((batch,), pos + 1, dtype=torch.int32, device=DEV)
            for w, (kc, vc) in zip(self.w, caches, strict=True):
                h = self.norm(x)
                q = (h @ w["q"]).view(batch, self.hq, self.d)
                kc[:, :, pos] = (h @ w["k"]).view(batch, self.hkv, self.d)
                vc[:, :, pos] = (h @ w["v"]).view(batch, self.hkv, self.d)
                if attention == "lean":
                    a = lean_attention_decode(q, kc, vc, lens)
                else:
                    a = sdpa_reference(q, kc, vc, lens)
                x = x + a.reshape(batch, -1) @ w["o"]
                h = self.norm(x)
                x = x + (torch.nn.functional.silu(h @ w["gate"]) * (h @ w["up"])) @ w["down"]
            return (self.norm(x) @ self.lm_head).argmax(-1)

        for i in range(3):  # warm-up (compiles, self-check)
            tok = step(prefix - 3 + i)
        _sync()
        t0 = time.perf_counter()
        for i in range(steps):
            tok = step(prefix + i)
        _sync()
        return batch * steps / (time.perf_counter() - t0)


def model_decode(quick: bool, smoke: bool = False) -> str:
    if smoke:
        model, cases, steps = RandomLlama(hidden=64, layers=2, heads=4, kv_heads=2, head_dim=16, inter=128,
                                          vocab=100), [(2, 40)], 2  # fmt: skip
    else:
        model, steps = RandomLlama(), 64
        cases = [(1, 4096), (16, 4096), (16, 32768)] if not quick else [(1, 4096), (16, 4096)]
    m = model
    lines = [f"## (c) Decode tokens/s of a random Llama (bf16; hidden {m.h}, {m.layers} layers, {m.hq} query / "
             f"{m.hkv} KV heads of {m.d})",
             "", f"Greedy decode of {steps} tokens after a random prefix already in a static KV cache; the same weights "
             "and cache for both; LeanAttention through `lean_attention_decode` (auto: kernel after its "
             "self-check), SDPA through `scaled_dot_product_attention` with a length mask.", "",
             "| batch | prefix | lean_attention tok/s | sdpa tok/s | lean / sdpa |", "| --- | --- | --- | --- | --- |"]
    for batch, prefix in cases:
        res = {}
        for attention in ("lean", "sdpa") if smoke else ("lean", "sdpa", "lean", "sdpa"):  # interleaved; best of 2
            with _kernel_device_on_cpu(smoke):
                tps = model.decode(batch, prefix, steps, attention)
            res[attention] = max(res.get(attention, 0.0), tps)
        lines.append(f"| {batch} | {prefix} | {res['lean']:.0f} | {res['sdpa']:.0f} | "
                     f"{res['lean'] / res['sdpa']:.2f}x |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer shapes and contexts (~2 minutes)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny shapes on any device (CPU: needs TRITON_INTERPRET=1); tests the script, not the GPU")
    ap.add_argument("--out-dir", type=Path,
                    help="where RESULTS-gpu.md and RESULTS-gpu.jsonl go (default: benchmarks/; --smoke needs one)")
    args = ap.parse_args(argv)
    if args.out_dir is None:
        if args.smoke:
            ap.error("--smoke needs --out-dir: its figures must not replace benchmarks/RESULTS-gpu.md")
        args.out_dir = REPO / "benchmarks"
    global DEV
    if not torch.cuda.is_available():
        if not args.smoke:
            ap.error("no CUDA GPU is visible: this script checks the compiled kernels and needs one")
        if os.environ.get("TRITON_INTERPRET") != "1":
            ap.error("--smoke on a CPU runs the Triton kernels in the interpreter: set TRITON_INTERPRET=1")
        DEV = torch.device("cpu")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    report = Report(args.out_dir / "RESULTS-gpu.md", environment())
    t0 = time.perf_counter()
    text, ok = correctness(args.quick, args.smoke)
    report.add(text + f"\n\n({time.perf_counter() - t0:.0f} s)")
    t1 = time.perf_counter()
    report.add(timings(args.quick, args.out_dir, args.smoke) + f"\n\n({time.perf_counter() - t1:.0f} s)")
    t2 = time.perf_counter()
    report.add(model_decode(args.quick, args.smoke) + f"\n\n({time.perf_counter() - t2:.0f} s)")
    report.add(f"Total {time.perf_counter() - t0:.0f} s.")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
