"""Expert iteration's training step: supervised fine-tuning of the prover on the verified pairs.

Each row becomes ``prompt + completion`` where the prompt is exactly what the prover strategy
sends (:func:`prover.search.prompts.prover_prompt` over the row's header, informal docstring and
statement) and the completion is the proof's tactic lines closed by the code fence
(:func:`prover.tinylm.formats.completion`), so the model learns the very continuation the
strategy will ask it for. The loss covers completion tokens only.

Training uses ``transformers.Trainer`` (its checkpoints let a killed run resume mid-training);
with ``lora=True`` the model is wrapped by ``peft`` and the adapters are merged before saving,
so the next round loads a plain checkpoint with any backend. The checkpoint folder holds
``finetune.json`` naming the data it was trained on; a rerun on the same data skips training.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prover.records import Problem
from prover.search.prompts import CHAT_STYLES, prover_prompt
from prover.settings import settings_from
from prover.settings.apps import FinetuneSettings
from prover.tinylm.formats import completion

MARKER = "finetune.json"


class FinetuneError(RuntimeError):
    """Fine-tuning cannot start; the message says what is missing."""


def finetune_settings(cfg: Any, *, prompt_style: str | None = None) -> FinetuneSettings:
    """``cfg.finetune`` (configs/synth.yaml) as :class:`prover.settings.apps.FinetuneSettings`; a null
    ``prompt_style`` becomes ``prompt_style`` (the prover's), then ``tiny``. A bad key names it."""
    settings = settings_from(FinetuneSettings, cfg, "finetune", error=FinetuneError)
    return dataclasses.replace(settings, prompt_style=settings.prompt_style or prompt_style or "tiny")


def training_text(row: dict[str, Any], style: str = "tiny", cot: bool = False) -> tuple[str, str]:
    """``(prompt, completion)`` for one SFT row, in the prover's own prompt format."""
    if style in CHAT_STYLES:
        raise FinetuneError(
            f"finetune: prompt_style {style!r} is a chat format; fine-tuning supports the raw-text "
            "styles ('tiny', 'deepseek') whose prompts the proof continues"
        )
    problem = Problem(
        name=row["name"],
        formal_statement=row["formal_statement"],
        header=row.get("header", ""),
        informal_statement=(row.get("informal_prefix") or "").strip() or None,
    )
    prompt = prover_prompt(problem, style, cot)
    assert isinstance(prompt, str)
    return prompt, completion(row["formal_proof"])


def data_fingerprint(rows: list[dict[str, Any]], settings: FinetuneSettings, base_model: str) -> str:
    h = hashlib.sha1()
    h.update(base_model.encode())
    h.update(json.dumps(asdict(settings), sort_keys=True).encode())
    for r in rows:
        h.update(json.dumps([r.get("header"), r["formal_statement"], r["formal_proof"]]).encode())
    return h.hexdigest()[:16]


class _SFTDataset:
    """Tokenised rows: input ids and labels with the prompt masked out (-100)."""

    def __init__(self, rows: list[dict[str, Any]], tokenizer: Any, settings: FinetuneSettings) -> None:
        self.examples: list[dict[str, list[int]]] = []
        eos = tokenizer.eos_token_id
        for row in rows:
            prompt, target = training_text(row, settings.prompt_style or "tiny", settings.cot)
            # the prompt as the served model sees a raw-text prompt (the transformers backend and vLLM add
            # the tokenizer's BOS); the completion continues it, so it gets no special tokens of its own
            p = tokenizer(prompt)["input_ids"]
            c = tokenizer(target, add_special_tokens=False)["input_ids"] + ([eos] if eos is not None else [])
            c = c[: settings.max_length]
            p = p[-(settings.max_length - len(c)) :] if settings.max_length > len(c) else []
            self.examples.append({"input_ids": p + c, "labels": [-100] * len(p) + c})

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.examples[i]


def _collator(pad_id: int):
    import torch

    def collate(batch: list[dict[str, list[int]]]) -> dict[str, Any]:
        n = max(len(b["input_ids"]) for b in batch)
        ids = [b["input_ids"] + [pad_id] * (n - len(b["input_ids"])) for b in batch]
        labels = [b["labels"] + [-100] * (n - len(b["labels"])) for b in batch]
        mask = [[1] * len(b["input_ids"]) + [0] * (n - len(b["input_ids"])) for b in batch]
        return {
            "input_ids": torch.tensor(ids),
            "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(mask),
        }

    return collate


def _tracker_callback(tracker: Any) -> Any:
    """A ``TrainerCallback`` that sends each logged loss and learning rate to ``tracker``."""
    from transformers import TrainerCallback

    class _TrackerCallback(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
            values = {f"train/{k}": float(v) for k, v in (logs or {}).items()
                      if k in ("loss", "learning_rate", "grad_norm") and isinstance(v, (int, float))}
            if values:
                tracker.log_metrics(values, step=int(state.global_step))

    return _TrackerCallback()


def finetune(
    base_model: str | Path,
    rows: list[dict[str, Any]],
    out_dir: str | Path,
    settings: FinetuneSettings,
    *,
    progress: bool = True,
    logger: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fine-tune ``base_model`` on ``rows``; save the result to ``out_dir/checkpoint``; return stats.

    ``logger``: the ``logger`` config node (prover/tracking.py); the Trainer's loss and learning rate
    go to that tracker through a ``TrainerCallback``, so the logger group's settings (folders, offline
    mode, store) apply here as in every other app. The Trainer's own ``report_to`` integrations stay
    off: they would read other settings (environment variables) and log to other places.

    Skips (and returns the saved stats) when ``out_dir/checkpoint`` was already trained on the
    same rows, settings and base model. Resumes from the Trainer's last checkpoint otherwise.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    out_dir = Path(out_dir)
    ckpt = out_dir / "checkpoint"
    base = str(base_model)
    fingerprint = data_fingerprint(rows, settings, base)
    marker = ckpt / MARKER
    if marker.is_file():
        saved = json.loads(marker.read_text())
        if saved.get("fingerprint") == fingerprint:
            return {**saved, "skipped": "already trained on this data"}
    if not rows:
        raise FinetuneError("finetune: no rows to train on")
    if not Path(base).exists():
        raise FinetuneError(
            f"finetune: base model {base!r} is not a local checkpoint folder; fine-tuning needs the weights "
            "on disk (download them first or point model.path at a folder)"
        )
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(base)
    if settings.lora:
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as e:  # pragma: no cover - peft is a dev dependency
            raise FinetuneError("finetune.lora=true needs peft: pip install 'proofforge[lora]'") from e
        model = get_peft_model(
            model,
            LoraConfig(
                r=settings.lora_r,
                lora_alpha=settings.lora_alpha,
                lora_dropout=settings.lora_dropout,
                target_modules=list(settings.lora_target_modules),
                task_type="CAUSAL_LM",
            ),
        )
    from prover.tracking import TrackerError, open_tracker

    try:
        tracker = open_tracker(logger, run_dir=out_dir, run_name=f"finetune-{out_dir.name}")
    except TrackerError as e:
        raise FinetuneError(f"finetune: {e}") from None
    tracker.log_config({"base_model": base, "rows": len(rows), "settings": asdict(settings)})
    dataset = _SFTDataset(rows, tokenizer, settings)
    trainer_dir = out_dir / "trainer"
    args = TrainingArguments(
        output_dir=str(trainer_dir),
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        learning_rate=settings.lr,
        warmup_steps=settings.warmup_steps,
        weight_decay=settings.weight_decay,
        logging_steps=1,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=1,
        save_only_model=False,
        report_to=[],  # tracking goes through _TrackerCallback (see the docstring)
        seed=settings.seed,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        remove_unused_columns=False,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=_collator(tokenizer.pad_token_id),
        callbacks=[_tracker_callback(tracker)],
    )
    if not progress:
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    resume = any(trainer_dir.glob("checkpoint-*")) if trainer_dir.exists() else False
    with tracker:
        result = trainer.train(resume_from_checkpoint=True if resume else None)
        tracker.log_summary({"train_loss": float(result.training_loss), "steps": int(result.global_step)})
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    final = trainer.model
    if settings.lora:
        final = final.merge_and_unload()
    ckpt.mkdir(parents=True, exist_ok=True)
    final.save_pretrained(ckpt)
    tokenizer.save_pretrained(ckpt)
    stats = {
        "fingerprint": fingerprint,
        "base_model": base,
        "rows": len(rows),
        "steps": int(result.global_step),
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "train_loss": result.training_loss if math.isfinite(result.training_loss) else None,
        "lora": settings.lora,
        "checkpoint": str(ckpt),
    }
    marker.write_text(json.dumps(stats, indent=2))
    return stats
