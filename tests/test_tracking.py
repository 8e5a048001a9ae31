"""The ``logger`` group: each tracker's real artefacts read back with that tool's own reader (TensorBoard's
event accumulator, MLflow's client on the file store, the protobuf records of a W&B offline run), from
``proofforge-eval`` and ``proofforge-train-tiny`` runs; a missing tracker is one line naming the extra."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import pytest

from evals.run import EvalConfigError, run_eval
from prover.config import compose
from prover.lean.double_pools import scripted_verifier
from prover.llm.scripted import ScriptedGenerator
from prover.tracking import TrackerError, open_tracker

RULES = [{"match": "omega", "response": {}}]


def _script(text: str, sample: int, call: int) -> str:
    return "  omega\n```" if sample % 2 == 0 else "  simp\n```"


def _eval(tmp_path: Path, logger: str, *extra: str) -> Path:
    cfg = compose("eval", ["prover=wholeproof", f"out_dir={tmp_path / 'run'}", "prover.budget.samples=4",
                           "dataset.limit=3", "report=false", f"logger={logger}", *extra])
    return run_eval(cfg, generator=ScriptedGenerator(_script), verifier=scripted_verifier(RULES), progress=False)


def _tb_scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_eval_logs_to_tensorboard(tmp_path):
    run = _eval(tmp_path, "tensorboard")
    scalars = _tb_scalars(run / "tensorboard")
    assert [s for s, _ in scalars["progress/problems_done"]] == [1, 2, 3]
    assert scalars["progress/proved_this_run"][-1] == (3, 3.0)
    summary = json.loads((run / "summary.json").read_text())
    curve = dict(scalars["pass_at_k/all"])
    assert sorted(curve) == [1, 2, 3, 4]
    assert curve[1] == pytest.approx(summary["groups"]["all"]["pass_at_k"]["1"])
    assert "pass_at_k/split_demo" in scalars and scalars["final/all/solved"] == [(0, 3.0)]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    assert any(t.startswith("config") for t in acc.Tags()["tensors"])  # the resolved config, as text
    assert any(t.startswith("budget") for t in acc.Tags()["tensors"])


def test_eval_logs_to_mlflow_file_store(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    store = (tmp_path / "mlruns").as_uri()
    run = _eval(tmp_path, "mlflow", f"logger.tracking_uri={store}", "logger.experiment=e10")
    client = MlflowClient(tracking_uri=store)
    exp = client.get_experiment_by_name("e10")
    (found,) = client.search_runs([exp.experiment_id])
    assert found.info.run_name == run.name and found.info.status == "FINISHED"
    assert found.data.params["prover.budget.samples"] == "4" and found.data.params["logger.backend"] == "mlflow"
    assert "wholeproof: 4 samples/problem" in found.data.tags["budget"]
    history = client.get_metric_history(found.info.run_id, "pass_at_k/all")
    assert sorted(m.step for m in history) == [1, 2, 3, 4]
    done = client.get_metric_history(found.info.run_id, "progress/problems_done")
    assert [m.value for m in sorted(done, key=lambda m: m.step)] == [1.0, 2.0, 3.0]
    assert "config.yaml" in [a.path for a in client.list_artifacts(found.info.run_id)]


def _wandb_records(run_file: Path) -> list:
    """The protobuf records of a W&B run file. Its framing is LevelDB's log format as W&B writes it
    (wandb/wandb, core/pkg/leveldb and the former wandb/sdk/internal/datastore.py): a 7-byte ``:W&B``
    header, 32 KiB blocks, each chunk ``crc32c:u32 length:u16 type:u8`` (1 full, 2 first, 3 middle, 4 last)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, block, out, buf = run_file.read_bytes(), 7, 32768, [], b""
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        pos += 7
        if kind == 0 and length == 0:  # zero padding to the end of the block
            pos += left - 7
            continue
        chunk, pos = data[pos:pos + length], pos + length
        buf = chunk if kind in (1, 2) else buf + chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(buf)
            out.append(record)
    return out


def test_eval_logs_to_wandb_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = _eval(tmp_path, "wandb")
    (run_file,) = (run / "wandb").glob("offline-run-*/run-*.wandb")  # offline unless logger.mode=online
    records = _wandb_records(run_file)
    history = [{i.nested_key[0] if i.nested_key else i.key: json.loads(i.value_json) for i in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    done = [h for h in history if "progress/problems_done" in h]
    assert [h["progress/problems_done"] for h in done] == [1, 2, 3]
    assert sorted(h["step"] for h in history if "pass_at_k/all" in h) == [1, 2, 3, 4]
    summary = {}
    for r in records:
        if r.WhichOneof("record_type") == "summary":
            summary.update({u.key or "/".join(u.nested_key): json.loads(u.value_json) for u in r.summary.update})
    assert summary["final/all/problems"] == 3 and "4 samples/problem" in summary["budget"]
    config = {}
    for r in records:
        if r.WhichOneof("record_type") == "config":
            config.update({u.key: json.loads(u.value_json) for u in r.config.update})
    assert config["prover"]["budget"]["samples"] == 4


def test_train_tiny_logs_loss_and_learning_rate(tmp_path):
    from prover.tinylm.train import train_tiny

    out = tmp_path / "tiny"
    cfg = compose("train_tiny", [f"out_dir={out}", "logger=tensorboard", "corpus.train=64", "corpus.heldout=4",
                                 "corpus.corrector=8", "corpus.corrector_heldout=2", "train.steps=4",
                                 "train.batch_size=8", "train.log_every=1", "train.warmup_steps=2",
                                 "eval.train_sample=2", "arch.hidden_size=32", "arch.intermediate_size=64",
                                 "arch.num_hidden_layers=1", "arch.max_position_embeddings=1024",
                                 "++corpus.roles={}", "++corpus.roles_heldout={}"])  # no other-stage roles
    train_tiny(cfg)
    scalars = _tb_scalars(out / "tensorboard")
    assert [s for s, _ in scalars["train/loss"]] == [0, 1, 2, 3]
    lrs = [v for _, v in scalars["train/learning_rate"]]
    assert lrs[0] < lrs[1] and max(lrs) == pytest.approx(3e-3, rel=1e-6)  # warmup then the peak
    assert "final_loss" in scalars


def test_finetune_callback_forwards_trainer_logs(tmp_path):
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from prover.synthetic.finetune import _tracker_callback

    tracker = open_tracker({"backend": "tensorboard"}, run_dir=tmp_path, run_name="ft")
    cb = _tracker_callback(tracker)
    state = TrainerState()
    for step, (loss, lr) in enumerate([(2.0, 1e-4), (1.5, 5e-5)], start=1):
        state.global_step = step
        cb.on_log(TrainingArguments(output_dir=str(tmp_path / "t"), report_to=[]), state, TrainerControl(),
                  logs={"loss": loss, "learning_rate": lr, "epoch": 0.5})
    tracker.close()
    scalars = _tb_scalars(tmp_path / "tensorboard")
    assert scalars["train/loss"] == [(1, 2.0), (2, 1.5)] and "train/epoch" not in scalars
    assert [s for s, _ in scalars["train/learning_rate"]] == [1, 2]


@pytest.mark.parametrize("backend,module", [("tensorboard", "tensorboard"), ("mlflow", "mlflow"),
                                            ("wandb", "wandb")])
def test_missing_tracker_is_one_line_naming_the_extra(tmp_path, monkeypatch, backend, module):
    monkeypatch.setitem(sys.modules, module, None)  # import of it raises ImportError
    with pytest.raises(TrackerError, match=rf"^logger={backend} needs the {module} package: "
                                           r"pip install 'proofforge\[tracking\]'$"):
        open_tracker({"backend": backend}, run_dir=tmp_path, run_name="x")
    with pytest.raises(EvalConfigError, match=r"proofforge\[tracking\]"):
        _eval(tmp_path, backend)


def test_unknown_backend_is_named(tmp_path):
    with pytest.raises(TrackerError, match=r"logger.backend='neptune': choose one of none, tensorboard"):
        open_tracker({"backend": "neptune"}, run_dir=tmp_path, run_name="x")
