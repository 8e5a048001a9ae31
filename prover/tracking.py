"""Experiment tracking: the ``logger`` config group (``none | tensorboard | mlflow | wandb``).

Every Hydra app that trains or evaluates opens one :class:`Tracker` for its run and logs the
resolved config, progress as it goes (problems done and solved so far; loss and learning rate for
training), and the final numbers (pass@k per split with the budget they were measured under).
The run folder stays the record of truth; a tracker is a view of it in the tool a lab already uses.

- ``tensorboard``: event files under ``<run folder>/tensorboard`` (``tensorboard --logdir``), written
  by ``torch.utils.tensorboard.SummaryWriter``.
- ``mlflow``: a local file store (``./mlruns``) unless ``logger.tracking_uri`` names another store.
  MLflow 3.x keeps the file store in maintenance mode and refuses it unless
  ``MLFLOW_ALLOW_FILE_STORE=true``; we set that only for a ``file:`` store we chose (a
  ``sqlite:///mlflow.db`` URI works too, with the full ``mlflow`` package).
- ``wandb``: offline mode (a run folder under ``<run folder>/wandb``, ``wandb sync`` uploads it)
  unless ``logger.mode=online``.

The trackers are the ``tracking`` extra (``pip install 'proofforge[tracking]'``); choosing one that
is not installed is one :class:`TrackerError` naming the extra.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prover.settings import LoggerSettings, settings_from

BACKENDS = ("none", "tensorboard", "mlflow", "wandb")
EXTRA = "pip install 'proofforge[tracking]'"


class TrackerError(ValueError):
    """A logger config that cannot be used; the message names the key or the missing extra."""


def _need(module: str, backend: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise TrackerError(f"logger={backend} needs the {module.split('.')[0]} package: {EXTRA}") from None


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


class Tracker:
    """No tracking (``logger=none``); the base of the real trackers, whose methods it names."""

    backend = "none"

    def log_config(self, config: Mapping[str, Any]) -> None:
        """The resolved config of the run."""

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Scalars at one step (a problem count, a training step)."""

    def log_summary(self, values: Mapping[str, Any]) -> None:
        """Final values of the run (numbers, or text such as the budget)."""

    def close(self) -> None:
        """Flush and end the run."""

    def log_eval_summary(self, summary: Mapping[str, Any]) -> None:
        """An eval ``summary.json``: pass@k per split/category group against k, with its budget."""
        budget = str(summary.get("budget_text", ""))
        final: dict[str, Any] = {"budget": budget}
        for group, g in (summary.get("groups") or {}).items():
            name = group.replace("=", "_")
            for k, value in sorted(g.get("pass_at_k", {}).items(), key=lambda kv: int(kv[0])):
                self.log_metrics({f"pass_at_k/{name}": float(value)}, step=int(k))
                final[f"final/{name}/pass@{k}"] = float(value)
            final[f"final/{name}/solved"] = int(g.get("solved", 0))
            final[f"final/{name}/problems"] = int(g.get("problems", 0))
        self.log_summary(final)

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TensorBoardTracker(Tracker):
    backend = "tensorboard"

    def __init__(self, log_dir: Path) -> None:
        _need("tensorboard", "tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def log_config(self, config: Mapping[str, Any]) -> None:
        import yaml

        self.writer.add_text("config", "```yaml\n" + yaml.safe_dump(dict(config), sort_keys=False) + "```")

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        for k, v in metrics.items():
            self.writer.add_scalar(k, float(v), global_step=step)

    def log_summary(self, values: Mapping[str, Any]) -> None:
        for k, v in values.items():
            if isinstance(v, (int, float)):
                self.writer.add_scalar(k, float(v), global_step=0)
            else:
                self.writer.add_text(k, str(v))

    def close(self) -> None:
        self.writer.close()


class MlflowTracker(Tracker):
    backend = "mlflow"

    def __init__(self, tracking_uri: str | None, experiment: str, run_name: str) -> None:
        _need("mlflow", "mlflow")
        from mlflow.tracking import MlflowClient

        if not tracking_uri:
            tracking_uri = Path("mlruns").resolve().as_uri()
        if tracking_uri.startswith("file:"):  # see the module docstring: MLflow 3.x's maintenance-mode store
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri)
        exp = self.client.get_experiment_by_name(experiment)
        exp_id = exp.experiment_id if exp is not None else self.client.create_experiment(experiment)
        self.run_id = self.client.create_run(exp_id, run_name=run_name).info.run_id

    def log_config(self, config: Mapping[str, Any]) -> None:
        import yaml
        from mlflow.entities import Param

        flat = _flatten(config)
        params = [Param(k[:250], str(v)[:6000]) for k, v in flat.items()]
        for i in range(0, len(params), 100):  # MLflow's batch limit is 100 params per call
            self.client.log_batch(self.run_id, params=params[i:i + 100])
        self.client.log_text(self.run_id, yaml.safe_dump(dict(config), sort_keys=False), "config.yaml")

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        for k, v in metrics.items():
            self.client.log_metric(self.run_id, k, float(v), step=step)

    def log_summary(self, values: Mapping[str, Any]) -> None:
        for k, v in values.items():
            if isinstance(v, (int, float)):
                self.client.log_metric(self.run_id, k.replace("@", "_at_"), float(v), step=0)
            else:
                self.client.set_tag(self.run_id, k, str(v))

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


class WandbTracker(Tracker):
    backend = "wandb"

    def __init__(self, project: str, run_dir: Path, run_name: str, mode: str, entity: str | None,
                 tags: list[str]) -> None:
        wandb = _need("wandb", "wandb")
        if mode not in ("offline", "online", "disabled"):
            raise TrackerError(f"logger.mode={mode!r}: wandb's mode is offline, online or disabled")
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(project=project, entity=entity, name=run_name, dir=str(run_dir), mode=mode,
                              tags=list(tags), reinit="create_new")

    def log_config(self, config: Mapping[str, Any]) -> None:
        self.run.config.update(dict(config), allow_val_change=True)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        # wandb steps must increase across calls; the step goes in as its own key instead
        self.run.log({**{k: float(v) for k, v in metrics.items()}, "step": step})

    def log_summary(self, values: Mapping[str, Any]) -> None:
        for k, v in values.items():
            self.run.summary[k] = v

    def close(self) -> None:
        self.run.finish()


def open_tracker(cfg: LoggerSettings | Mapping[str, Any] | None, *, run_dir: Path, run_name: str) -> Tracker:
    """The tracker the ``logger`` settings ask for (None or ``backend: none``: no tracking)."""
    c = settings_from(LoggerSettings, cfg, "logger", error=TrackerError)
    if c.backend not in BACKENDS:
        raise TrackerError(f"logger.backend={c.backend!r}: choose one of {', '.join(BACKENDS)}")
    run_dir = Path(run_dir)
    if c.backend == "none":
        return Tracker()
    if c.backend == "tensorboard":
        return TensorBoardTracker(Path(c.dir or run_dir / "tensorboard"))
    if c.backend == "mlflow":
        return MlflowTracker(c.tracking_uri, c.experiment, c.run_name or run_name)
    return WandbTracker(c.project, Path(c.dir or run_dir), c.run_name or run_name, c.mode, c.entity, list(c.tags))
