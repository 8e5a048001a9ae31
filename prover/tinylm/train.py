"""``proofforge-train-tiny``: train the tiny offline prover on the simplified Lean corpus.

A nanoGPT-style loop (AdamW, warmup + cosine LR, gradient clipping) over a small
``LlamaForCausalLM``, with the loss on completion tokens only, so the model learns to write
proofs rather than to repeat prompts. Everything that decides the result is a function of the
seed and the step: the corpus, the tokenizer, the initial weights and the batch drawn at each step.
So a training killed at any point and rerun with the same ``out_dir`` continues from its last
checkpoint and ends with the same weights as an uninterrupted run (same thread count).

Output (``out_dir``): HF checkpoint (``config.json``, ``model.safetensors``, tokenizer files,
``generation_config.json``), ``train_config.yaml`` (the resolved config), ``corpus/*.jsonl`` and,
written last, ``metrics.json``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from prover.config import cache_dir, to_container
from prover.tinylm.batches import (
    DEFAULT_BUCKET,
    TrainConfigError,
    collate,
    decision_weights,
    encode,
    weighted_loss,
)

CHECKPOINT = "checkpoint"
STATE_FILE = "state.pt"
CONFIG_FILE = "train_config.yaml"
METRICS_FILE = "metrics.json"
#: The embedded default stays tiny (TinyHelen trains ~14M-parameter Llamas); larger configs are refused.
MAX_PARAMS = 20_000_000
#: Config keys that do not change the trained weights, so a rerun may differ in them.
NON_TRAINING_KEYS = ("out_dir", "eval", "deterministic_algorithms", "train.stop_after", "train.checkpoint_every", "train.log_every",
                     "logger")



def default_out_dir() -> Path:
    return cache_dir() / "tinylm"


def resolve_out_dir(cfg: dict[str, Any]) -> Path:
    return Path(cfg.get("out_dir") or default_out_dir()).expanduser().resolve()


#: Numeric fields checked before anything runs: (dotted key, type, smallest allowed value or None).
_NUMERIC_FIELDS: tuple[tuple[str, type, float | None], ...] = (
    ("seed", int, None), ("threads", int, 1),
    ("corpus.train", int, 1), ("corpus.heldout", int, 0), ("corpus.corrector", int, 0),
    ("corpus.corrector_heldout", int, 0), ("corpus.holdout_mod", int, 1), ("corpus.mathlib_frac", float, 0),
    ("tokenizer.vocab_size", int, 1), ("tokenizer.whole_numbers", int, 0),
    ("arch.hidden_size", int, 1), ("arch.intermediate_size", int, 1), ("arch.num_hidden_layers", int, 1),
    ("arch.num_attention_heads", int, 1), ("arch.num_key_value_heads", int, 1),
    ("arch.max_position_embeddings", int, 1),
    ("train.steps", int, 1), ("train.batch_size", int, 1), ("train.bucket_batches", int, 1), ("train.warmup_steps", int, 0),
    ("train.checkpoint_every", int, 1), ("train.log_every", int, 1), ("train.stop_after", int, 0),
    ("train.lr", float, None), ("train.min_lr_frac", float, 0), ("train.weight_decay", float, 0),
    ("train.grad_clip", float, None), ("train.decision_weight", float, 0), ("train.probe_every", int, 0), ("train.probe_examples", int, 1),
    ("train.curriculum.every", int, 1), ("train.curriculum.advance_loss", float, 0),
    ("eval.max_new_tokens", int, 1), ("eval.batch_size", int, 1), ("eval.train_sample", int, 0),
)


def _check_numbers(cfg: dict[str, Any]) -> None:
    """Every numeric field present is a number of the right kind and not below its minimum.

    Why: a typo on the command line (``train.steps=5k``) otherwise surfaces as a traceback deep
    in training; here it is one line naming the key."""
    for dotted, kind, low in _NUMERIC_FIELDS:
        node: Any = cfg
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            continue
        ok = not isinstance(node, bool) and (isinstance(node, int) if kind is int else isinstance(node, (int, float)))
        if not ok:
            want = "an integer" if kind is int else "a number"
            raise TrainConfigError(f"{dotted} must be {want}, got {node!r}")
        if low is not None and node < low:
            raise TrainConfigError(f"{dotted} must be >= {low:g}, got {node}")


def _validate(cfg: dict[str, Any]) -> None:
    _check_numbers(cfg)
    arch, tr = cfg["arch"], cfg["train"]
    if arch["hidden_size"] % arch["num_attention_heads"]:
        raise TrainConfigError(
            f"arch.hidden_size ({arch['hidden_size']}) must be divisible by arch.num_attention_heads "
            f"({arch['num_attention_heads']})"
        )
    if arch["num_attention_heads"] % arch["num_key_value_heads"]:
        raise TrainConfigError("arch.num_attention_heads must be a multiple of arch.num_key_value_heads")
    from prover.tinylm.roles import scratchpad_of
    from prover.tinylm.tokenizer import check_number_mode

    try:
        scratchpad_of(cfg["corpus"].get("judge_numbers", False))
        check_number_mode((cfg.get("tokenizer") or {}).get("numbers", "corpus"))  # older configs: merged numbers
    except ValueError as e:
        raise TrainConfigError(str(e)) from None
    for key in ("steps", "batch_size", "checkpoint_every", "log_every"):
        if int(tr[key]) < 1:
            raise TrainConfigError(f"train.{key} must be >= 1, got {tr[key]}")
    if tr["lr"] <= 0:
        raise TrainConfigError(f"train.lr must be > 0, got {tr['lr']}")
    if cfg["corpus"]["train"] < 1:
        raise TrainConfigError("corpus.train must be >= 1")
    if int(tr["batch_size"]) > int(cfg["corpus"]["train"]) + int(cfg["corpus"]["corrector"]):
        raise TrainConfigError(
            f"train.batch_size ({tr['batch_size']}) exceeds the number of training examples "
            "(corpus.train + corpus.corrector)"
        )


def _training_view(cfg: dict[str, Any]) -> dict[str, Any]:
    """The config without keys that do not affect the weights (compared on resume)."""
    view = json.loads(json.dumps(cfg))
    for dotted in NON_TRAINING_KEYS:
        *parents, leaf = dotted.split(".")
        node = view
        for p in parents:
            node = node.get(p, {})
        node.pop(leaf, None)
    return view


def _check_or_save_config(out: Path, cfg: dict[str, Any]) -> None:
    path = out / CONFIG_FILE
    if path.is_file():
        old = to_container(OmegaConf.load(path))
        if _training_view(old) != _training_view(cfg):
            a, b = _training_view(old), _training_view(cfg)
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            raise TrainConfigError(
                f"{out} already holds a tiny model trained with a different config (differs in: {', '.join(diff)}); "
                "use another out_dir or delete that folder"
            )
    OmegaConf.save(OmegaConf.create(cfg), path)


@contextlib.contextmanager
def deterministic_torch(threads: int, algorithms: bool = True) -> Iterator[None]:
    """Fixed threads (and, if asked, deterministic kernels) for the duration of training, restored
    afterwards: the process may be a test session or a notebook that wants its own settings back.

    CPU kernels used here are deterministic at a fixed thread count anyway; the flag is a guard
    against a nondeterministic kernel sneaking in, and costs a one-off import of torch's compiler
    stack (seconds), which is why tests turn it off."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(max(1, int(threads)))
    if algorithms:
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        if algorithms:
            torch.use_deterministic_algorithms(old_det)
        torch.set_num_threads(old_threads)


def lr_at(step: int, tr: dict[str, Any]) -> float:
    """Linear warmup then cosine decay to ``lr * min_lr_frac`` (nanoGPT's schedule)."""
    lr, warm, total = float(tr["lr"]), int(tr["warmup_steps"]), int(tr["steps"])
    min_lr = lr * float(tr["min_lr_frac"])
    if step < warm:
        return lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return min_lr + 0.5 * (1 + math.cos(math.pi * min(1.0, progress))) * (lr - min_lr)


def _write_corpus(out: Path, corpus: Any, roles_train: Sequence[Any] = (), roles_heldout: Sequence[Any] = ()) -> None:
    folder = out / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", corpus.train), ("heldout", corpus.heldout),
                       ("corrector_train", corpus.corrector_train), ("corrector_heldout", corpus.corrector_heldout),
                       ("roles_train", roles_train), ("roles_heldout", roles_heldout)):
        tmp = folder / f"{name}.jsonl.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
        os.replace(tmp, folder / f"{name}.jsonl")


def _build_model(cfg: dict[str, Any], tokenizer: Any) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    arch = dict(cfg["arch"])
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        attention_dropout=0.0,
        rms_norm_eps=1e-5,
        **arch,
    )
    torch.manual_seed(int(cfg["seed"]))
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


def _optimizer(model: Any, tr: dict[str, Any]) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": float(tr["weight_decay"])}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=float(tr["lr"]), betas=(0.9, 0.95), foreach=False)


def _save_state(out: Path, model: Any, opt: torch.optim.Optimizer, step: int, extra: dict[str, Any]) -> None:
    folder = out / CHECKPOINT
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (STATE_FILE + ".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, **extra}, tmp)
    os.replace(tmp, folder / STATE_FILE)


def is_trained(path: str | Path) -> bool:
    """A finished checkpoint dir: weights, config and tokenizer, and (for our own runs) metrics written last."""
    p = Path(path)
    has_model = (p / "config.json").is_file() and any((p / w).is_file() for w in ("model.safetensors", "pytorch_model.bin"))
    has_tok = (p / "tokenizer.json").is_file() or (p / "tokenizer_config.json").is_file()
    ours_unfinished = (p / CONFIG_FILE).is_file() and not (p / METRICS_FILE).is_file()
    return has_model and has_tok and not ours_unfinished


def train_tiny(cfg: DictConfig | dict[str, Any]) -> Path:
    """Train (or resume, or find already trained) the tiny model described by ``cfg``; returns its dir."""
    from transformers import AutoTokenizer

    from prover.tinylm import formats
    from prover.tinylm.corpus import build_corpus
    from prover.tinylm.curriculum import Curriculum, heldout_loss, loss_probe, probe_losses
    from prover.tinylm.evaluate import evaluate_model, evaluate_roles, summary_line
    from prover.tinylm.roles import build_roles
    from prover.tinylm.tokenizer import train_tokenizer

    cfg = to_container(cfg)
    _validate(cfg)
    out = resolve_out_dir(cfg)
    cfg["out_dir"] = str(out)
    if out.exists() and not out.is_dir():
        raise TrainConfigError(f"out_dir {out} is a file, not a folder: choose another out_dir")
    out.mkdir(parents=True, exist_ok=True)
    _check_or_save_config(out, cfg)
    if is_trained(out):
        print(f"tinylm: {out} is already trained (metrics in {out / METRICS_FILE})")
        return out

    seed, tr, cc = int(cfg["seed"]), cfg["train"], cfg["corpus"]
    from prover.tracking import TrackerError, open_tracker

    try:  # the logger group (prover/tracking.py): loss and learning rate as training goes
        tracker = open_tracker(cfg.get("logger"), run_dir=out, run_name=out.name)
    except TrackerError as e:
        raise TrainConfigError(str(e)) from None
    tracker.log_config(cfg)
    with tracker, deterministic_torch(int(cfg.get("threads", 1)), bool(cfg.get("deterministic_algorithms", True))):
        corpus = build_corpus(
            n_train=int(cc["train"]), n_heldout=int(cc["heldout"]), n_corrector=int(cc["corrector"]),
            n_corrector_heldout=int(cc.get("corrector_heldout", 0)), seed=seed,
            mathlib_frac=float(cc["mathlib_frac"]), holdout_mod=int(cc["holdout_mod"]),
            heldout_templates=list(cc.get("heldout_templates") or []),
        )
        roles_train, roles_heldout = build_roles(corpus.train, corpus.heldout, dict(cc.get("roles") or {}),
                                                 dict(cc.get("roles_heldout") or {}), seed,
                                                 judge_numbers=cc.get("judge_numbers", False))
        _write_corpus(out, corpus, roles_train, roles_heldout)
        if (out / "tokenizer.json").is_file():  # an interrupted run already trained and saved it
            tokenizer = AutoTokenizer.from_pretrained(out)
        else:
            role_texts = [t for ex in [*roles_train, *roles_heldout] for t in (ex.prompt(), ex.completion())]
            tokenizer = train_tokenizer([*corpus.texts(), *role_texts], int(cfg["tokenizer"]["vocab_size"]),
                                        int(cfg["tokenizer"].get("whole_numbers", 0)),
                                        str(cfg["tokenizer"].get("numbers", "corpus")))  # absent: an older config
            tokenizer.save_pretrained(out)

        max_len = int(cfg["arch"]["max_position_embeddings"])
        train_rows = [*corpus.train, *corpus.corrector_train, *roles_train]
        row_roles = ["prove"] * len(corpus.train) + ["correct"] * len(corpus.corrector_train) + [r.role for r in roles_train]
        copy_b = bool(tr.get("judge_copy_loss", False))

        def loss_from(ex: Any, role: str) -> int | None:
            return formats.judge_second_problem_start(ex.prompt()) if copy_b and role == "judge" else None

        weight = float(tr.get("decision_weight", 1.0))

        def item(ex: Any, role: str) -> tuple[list[int], ...]:
            ids, labels = encode(tokenizer, ex.prompt(), ex.completion(), loss_from(ex, role))
            w = decision_weights(tokenizer, ex.completion(), formats.decision_span(role, ex.completion()), weight, len(ids))
            return (ids, labels) if w is None else (ids, labels, w)

        data = [item(ex, role) for ex, role in zip(train_rows, row_roles, strict=True)]
        too_long = sum(len(it[0]) > max_len for it in data)
        if too_long:
            raise TrainConfigError(
                f"{too_long} training examples exceed arch.max_position_embeddings={max_len} tokens; raise it"
            )

        model = _build_model(cfg, tokenizer)
        opt = _optimizer(model, tr)
        lengths = [len(it[0]) for it in data]
        curriculum = Curriculum(tr.get("curriculum") or {}, row_roles, lengths, int(tr["batch_size"]), seed,
                                int(tr.get("bucket_batches", DEFAULT_BUCKET)))  # absent: an older config
        probe = loss_probe(tokenizer, {
            "prove": corpus.heldout, "correct": corpus.corrector_heldout,
            **{role: [r for r in roles_heldout if r.role == role] for role in sorted({r.role for r in roles_heldout})},
        }, int(tr.get("probe_examples", 16)))
        probe_every = int(tr.get("probe_every", 0))
        start, seconds, curve, heldout_curve = 0, 0.0, [], []
        state_path = out / CHECKPOINT / STATE_FILE
        if state_path.is_file():
            state = torch.load(state_path, map_location="cpu", weights_only=False)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            start, seconds, curve = int(state["step"]), float(state["seconds"]), list(state["curve"])
            heldout_curve = list(state.get("heldout_curve", []))
            curriculum.load_state(state.get("curriculum") or {})
            print(f"tinylm: resuming {out} from step {start}/{tr['steps']}")

        steps, every = int(tr["steps"]), int(tr["checkpoint_every"])
        stop_at = steps if tr.get("stop_after") is None else min(steps, start + int(tr["stop_after"]))
        n_params = sum(p.numel() for p in model.parameters())
        if n_params > MAX_PARAMS:
            raise TrainConfigError(f"the tiny model would have {n_params / 1e6:.1f}M parameters; keep it under "
                                   f"{MAX_PARAMS / 1e6:.0f}M (arch.*)")
        model.train()
        bar = tqdm(range(start, stop_at), initial=start, total=steps, desc=f"tinylm ({n_params / 1e6:.2f}M params)")
        t0 = time.perf_counter()
        for step in bar:
            lr = lr_at(step, tr)
            for g in opt.param_groups:
                g["lr"] = lr
            batch = collate([data[i] for i in curriculum.batch(step)], tokenizer.pad_token_id)
            loss = weighted_loss(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(tr["grad_clip"]))
            opt.step()
            opt.zero_grad(set_to_none=True)
            if step % int(tr["log_every"]) == 0 or step == steps - 1:
                curve.append([step, round(loss.item(), 4)])
                bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.1e}")
                tracker.log_metrics({"train/loss": loss.item(), "train/learning_rate": lr}, step=step)
            done = step + 1
            if curriculum.enabled and done % curriculum.every == 0:
                curriculum.update(done, heldout_loss(model, [probe[r] for r in curriculum.active_roles() if r in probe]))
            if probe_every and (done % probe_every == 0 or done == steps):
                overall, losses = probe_losses(model, probe)
                heldout_curve.append([done, round(overall, 4), {role: round(v, 4) for role, v in losses.items()}])
                bar.set_postfix(loss=f"{loss.item():.3f}", heldout=f"{heldout_curve[-1][1]:.3f}", lr=f"{lr:.1e}")
            if done % every == 0 or done == stop_at:
                _save_state(out, model, opt, done, {"seconds": seconds + time.perf_counter() - t0, "curve": curve,
                                                    "heldout_curve": heldout_curve,
                                                    "curriculum": curriculum.state()})
        bar.close()
        seconds += time.perf_counter() - t0
        if stop_at < steps:
            print(f"tinylm: stopped after step {stop_at}/{steps} as asked (train.stop_after); rerun to continue")
            return out

        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
        ev = cfg.get("eval") or {}
        t_eval = time.perf_counter()
        sets = {
            "heldout": corpus.heldout,
            "corrector_heldout": corpus.corrector_heldout,
            "train_sample": corpus.train[: int(ev.get("train_sample", 100))],
        }
        results = evaluate_model(model, tokenizer, sets, int(ev.get("max_new_tokens", 48)), int(ev.get("batch_size", 64)))
        if roles_heldout:
            results["roles"] = evaluate_roles(model, tokenizer, roles_heldout, int(ev.get("batch_size", 64)))
        metrics = {
            "params": n_params,
            "steps": steps,
            "train_examples": len(data),
            "train_seconds": round(seconds, 1),
            "eval_seconds": round(time.perf_counter() - t_eval, 1),
            "threads": torch.get_num_threads(),
            "final_loss": curve[-1][1] if curve else None,
            "loss_curve": curve,
            "heldout_loss_curve": heldout_curve,
            "curriculum": curriculum.report(heldout_curve, tr.get("target_loss")),
            "max_tokens": max(lengths),
            "eval": results,
        }
        tracker.log_summary({k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    tmp = out / (METRICS_FILE + ".tmp")
    tmp.write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    os.replace(tmp, out / METRICS_FILE)
    with contextlib.suppress(FileNotFoundError):
        (out / CHECKPOINT / STATE_FILE).unlink()
        (out / CHECKPOINT).rmdir()
    print(f"tinylm: trained in {seconds:.0f}s -> {out}")
    print(f"tinylm: {summary_line(results)}")
    return out
