"""Where the Hydra configs live, and helpers to compose them outside a Hydra app.

Every entry point is a Hydra app over ``configs/<name>.yaml`` with groups
``model/ lean/ prover/ dataset/ experiment/``. In a source checkout the configs are
the repo's ``configs/``; in a wheel they ship as ``prover/_configs``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from prover.paths import MANIFEST, REPO_ROOT, cache_dir, config_dir  # noqa: F401  (re-exported for the apps)


def register_schemas() -> None:
    """Store the typed settings (prover/settings/) in Hydra's ConfigStore as the schemas of their groups.

    ``configs/lean/local.yaml`` starts with ``- /schema/lean@_here_: lean``, the prover presets with their
    strategy's schema, the model presets with ``model``, each app's own file with ``- /schema/app@_here_: <app>``
    (prover/settings/apps.py): Hydra merges each file onto its dataclass, so an
    unknown key (``lean.timout=5``) or a wrong type (``prover.budget.samples=many``) stops composition with
    Hydra's own message, and a key of another strategy (``prover.budget.expansions`` under
    ``prover=wholeproof``) is refused the same way. Idempotent.
    """
    from hydra.core.config_store import ConfigStore

    from prover import settings

    store = ConfigStore.instance()
    for group, name, node in (
        ("schema/lean", "lean", settings.LeanSettings),
        ("schema/model", "model", settings.ModelSettings),
        ("schema/prover", "wholeproof", settings.WholeProofSettings),
        ("schema/prover", "malot", settings.MALoTSettings),
        ("schema/prover", "bestfirst", settings.BestFirstSettings),
        ("schema/dataset", "dataset", settings.DatasetSettings),
        ("schema/logger", "logger", settings.LoggerSettings),
        ("schema/app", "eval", settings.EvalSettings),
        ("schema/app", "check", settings.CheckSettings),
        ("schema/app", "serve", settings.ServeSettings),
        ("schema/app", "lean_server", settings.LeanServerSettings),
        ("schema/app", "formalize", settings.FormalizeSettings),
        ("schema/app", "synth", settings.SynthSettings),
    ):
        store.store(group=group, name=name, node=node)


def compose(config_name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``configs/<config_name>.yaml`` with overrides, as the Hydra app would (for tests and notebooks)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_schemas()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def run_dir_for(cfg: DictConfig, *, error: Callable[[str], Exception], prog: str) -> Path:
    """``cfg.out_dir`` if set, else Hydra's run folder (inside a Hydra app), resolved.

    Outside a Hydra app without ``out_dir``, raises ``error`` with a message naming ``out_dir`` and ``prog``.
    """
    out = cfg.get("out_dir")
    if out:
        return Path(str(out)).expanduser().resolve()
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir).resolve()
    except (ImportError, ValueError):
        raise error(f"no run folder: set out_dir=<folder> (or run through {prog})") from None


def check_run_manifest(
    run_dir: Path,
    fingerprint: dict[str, Any],
    *,
    error: Callable[[str], Exception],
    describe: Callable[[list[str]], str],
    write: bool = True,
) -> dict[str, Any] | None:
    """Refuse to resume ``run_dir`` with a different config: its records would mix two configs.

    ``fingerprint`` maps the config parts results depend on to their values. A folder without a
    manifest gets one (unless ``write=False``, for callers that record it later) and the normalised
    fingerprint is returned; a folder whose manifest differs raises ``error(describe(changed_keys))``;
    an unreadable manifest raises ``error`` naming it. Returns None when the folder matches.
    """
    path = Path(run_dir) / MANIFEST
    new = json.loads(json.dumps(fingerprint, default=str))
    if not path.exists():
        if write:
            path.write_text(json.dumps(new, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return new
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise error(f"{path}: unreadable; delete it or use a new run folder") from None
    if not isinstance(old, dict):
        raise error(f"{path}: not a manifest (expected a JSON object); delete it or use a new run folder")
    if not any(k in old for k in new):  # only start-time records (a self-check): the run never started
        return new
    changed = sorted(k for k in new if old.get(k) != new[k])
    if changed:
        raise error(describe(changed))
    return None


def add_to_manifest(run_dir: Path, **records: Any) -> None:
    """Set ``records`` (outside the fingerprint: what ran, not what was asked) in the run's manifest.

    For facts known only once a run is going, such as which decode attention actually ran; they are
    never compared on resume. An unreadable manifest is left for :func:`check_run_manifest` to report.
    """
    path = Path(run_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except json.JSONDecodeError:
        return
    if not isinstance(data, dict):
        return
    data.update(json.loads(json.dumps(records, default=str)))
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_run_manifest(run_dir: Path, fingerprint: dict[str, Any]) -> None:
    """Record ``fingerprint`` in ``run_dir``'s manifest once the run has really started.

    Apps call :func:`check_run_manifest` with ``write=False`` before anything starts and this after
    Lean and the model are up: a run that fails before then leaves no manifest, so its folder is
    not taken for a started run (and :func:`discard_unstarted_run` may remove it). Keys already in
    the manifest that are not part of the fingerprint (a self-check record) are kept.
    """
    path = Path(run_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except json.JSONDecodeError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    data.update(json.loads(json.dumps(fingerprint, default=str)))
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


#: Written into each multirun job's folder when the job ends: its status and, on failure, the error.
JOB_STATUS = "job_status.json"
#: Written into the sweep folder when a multirun ends: how many jobs ran, finished and failed.
SWEEP_STATUS = "sweep_status.json"

#: What the last multirun of this process ended with (set by :class:`SweepStatusCallback`, read by
#: :func:`hydra_app`'s entry point to choose its exit status).
_LAST_SWEEP: dict[str, Any] | None = None


def job_dir_name(override_dirname: str) -> str:
    """A sweep job's folder name, built from its own overrides (Hydra's ``override_dirname``).

    Why not ``hydra.job.num``: adding a value to a sweep renumbers the jobs after it, so rerunning the
    grown sweep in the same folder would resume job 3 from what job 2 wrote. A name built from the
    overrides stays with the job. ``/`` (a path in a value) becomes ``%`` so one job is one folder;
    a name too long for a file system keeps a readable prefix and a hash of the whole.
    """
    name = override_dirname.replace(os.sep, "%").strip() or "default"
    if len(name) > 160:
        import hashlib

        name = f"{name[:120]}-{hashlib.sha1(name.encode()).hexdigest()[:12]}"
    return name


if not OmegaConf.has_resolver("proofforge_job_dir"):
    OmegaConf.register_new_resolver("proofforge_job_dir", job_dir_name)

#: Run folders this process claimed through ``${proofforge_run_dir:...}``, with the parents it created:
#: only these may be removed again when a run fails before it really started (:func:`discard_unstarted_run`).
_CLAIMED: dict[Path, list[Path]] = {}


def claim_run_dir(base: str) -> str:
    """A new run folder ``<base>/<time to the second>``, claimed atomically (``-2``, ``-3``... when taken).

    Why a claim and not ``${now:...}``: two runs started in the same second got the same folder, so
    the second refused to start (eval, formalize) or merged into the first (check). ``mkdir`` without
    ``exist_ok`` is atomic, so two processes never get the same name. Registered with ``use_cache``
    like Hydra's ``now``, so one config resolves to one folder.
    """
    root = Path(str(base)).expanduser()
    made = [p for p in (root, *root.parents) if not p.exists()]
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    i = 1
    while True:
        path = root / (stamp if i == 1 else f"{stamp}-{i}")
        try:
            path.mkdir()
        except FileExistsError:
            i += 1
            continue
        _CLAIMED[path.resolve()] = [p.resolve() for p in made]
        return str(path)


if not OmegaConf.has_resolver("proofforge_run_dir"):
    OmegaConf.register_new_resolver("proofforge_run_dir", claim_run_dir, use_cache=True)

def used_config_groups(*, _root_: DictConfig) -> str:
    """``group: option, option (chosen)`` for the config groups this app composes, for ``--help``.

    Hydra's ``$APP_CONFIG_GROUPS`` lists every group folder in ``configs/``, which every app shares:
    ``proofforge-check --help`` offered ``model=`` and ``prover=``, which it never reads. The groups an
    app composes are the keys of ``hydra.runtime.choices`` (configs/hydra/help/proofforge.yaml).
    """
    choices = _root_.hydra.runtime.get("choices") or {}
    lines = []
    for group in sorted(str(g) for g in choices):
        if group in ("hydra", "schema") or group.startswith(("hydra/", "schema/")):
            continue  # Hydra's own groups, and the typed schemas (register_schemas) under the presets
        options = sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))
        lines.append(f"{group}: {', '.join(options)} (default: {choices[group]})")
    return "\n".join(lines) or "(none)"


if not OmegaConf.has_resolver("proofforge_groups"):
    OmegaConf.register_new_resolver("proofforge_groups", used_config_groups)

#: What Hydra itself puts in a run folder; a folder holding nothing else has no results.
_HYDRA_FILES = (".hydra",)


def _detach_log_files(folder: Path) -> None:
    """Close the log handlers writing into ``folder`` (Hydra's ``<job>.log``): a later log line must not
    recreate, or fail on, a folder that is being removed."""
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename).resolve().is_relative_to(folder):
                handler.close()
                logger.removeHandler(handler)


def discard_unstarted_run(run_dir: Path, *, failed: bool) -> bool:
    """Remove a run folder this process claimed when the run left nothing in it; True when removed.

    After a failure, a folder without a manifest (the run never really started: Lean missing, a bad
    config) goes, with what Hydra and the app wrote before the failure (``.hydra/``, the log,
    ``config.yaml``, empty result files). After success (a dry run), only a folder holding nothing but Hydra's files goes.
    A folder the user named (``hydra.run.dir=...``) or a resumed one is never claimed, so never removed.
    """
    import shutil

    run_dir = Path(run_dir).resolve()
    if run_dir not in _CLAIMED or not run_dir.is_dir():
        return False
    allowed = {*_HYDRA_FILES}
    names = {p.name for p in run_dir.iterdir()}
    logs = {n for n in names if n.endswith(".log")}
    if failed:
        if (run_dir / MANIFEST).exists():
            return False
        empty = {n for n in names if (run_dir / n).is_file() and (run_dir / n).stat().st_size == 0}
        allowed |= {"config.yaml", *logs, *empty}  # e.g. an outcomes.jsonl opened before the failure
    elif any((run_dir / n).stat().st_size for n in logs):
        return False
    else:
        allowed |= logs
    if not names <= allowed:
        return False
    _detach_log_files(run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)
    for parent in _CLAIMED.pop(run_dir):
        try:
            parent.rmdir()  # only if empty: another run's folder keeps it
        except OSError:
            break
    return True


def _hydra_mode() -> tuple[bool, Path | None]:
    """(inside a multirun job, this job's folder); (False, None) outside a Hydra app."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
    except (ImportError, ValueError):
        return False, None
    return hc.mode == RunMode.MULTIRUN, Path(hc.runtime.output_dir)


def _write_job_status(job_dir: Path, status: str, **fields: Any) -> None:
    record = {"status": status, "finished_at": time.time(), **fields}
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / JOB_STATUS).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_job_status(job_dir: Path) -> dict[str, Any] | None:
    """A multirun job folder's ``job_status.json``, or None when the job never ended (or ran alone)."""
    path = Path(job_dir) / JOB_STATUS
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


try:
    from hydra.experimental.callback import Callback as _HydraCallback
except ImportError:  # pragma: no cover - hydra-core is a dependency
    _HydraCallback = object  # type: ignore[assignment,misc]


class SweepStatusCallback(_HydraCallback):  # type: ignore[misc,valid-type]
    """Counts a multirun's failed jobs from their ``job_status.json`` (configs/hydra/proofforge.yaml).

    Reading the job folders rather than Hydra's ``JobReturn``s works for every launcher: with
    submitit the jobs run in other processes and their returns never reach this one. Only statuses
    written since this sweep started count, so an old job folder in a reused sweep folder does not.
    """

    def __init__(self) -> None:
        self._started = time.time()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._started = time.time()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        global _LAST_SWEEP
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        jobs: dict[str, dict[str, Any]] = {}
        for path in sorted(sweep_dir.rglob(JOB_STATUS)):
            status = read_job_status(path.parent)
            if status is not None and float(status.get("finished_at", 0)) >= self._started - 1:
                jobs[str(path.parent.relative_to(sweep_dir))] = status
        failed = sorted(k for k, v in jobs.items() if v.get("status") != "ok")
        _LAST_SWEEP = {"sweep_dir": str(sweep_dir), "jobs": len(jobs), "failed": failed,
                       "errors": {k: jobs[k].get("error", "") for k in failed}}
        if sweep_dir.is_dir():
            (sweep_dir / SWEEP_STATUS).write_text(json.dumps(_LAST_SWEEP, indent=2) + "\n", encoding="utf-8")


#: Libraries whose INFO lines (httpx logs one per HTTP request) drown a run's console and log.
QUIET_LOGGERS = ("httpx", "httpcore", "httpx2", "httpcore2", "openai", "urllib3", "filelock", "huggingface_hub",
                 "datasets", "matplotlib")  # httpx2/httpcore2: the HTTP stack recent openai clients log through


def quiet_library_loggers(names: Sequence[str] = QUIET_LOGGERS) -> None:
    """Keep library loggers at WARNING unless asked: a level already set (``hydra.verbose=httpx``,
    ``hydra.job_logging.loggers.httpx.level=INFO``) is left alone."""
    for name in names:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def _interrupted_line(cfg: DictConfig, job_dir: Path | None) -> str:
    """What Ctrl-C leaves: the folder to resume from, or that nothing had started (and nothing is kept)."""
    if job_dir is not None and discard_unstarted_run(job_dir, failed=True):
        return "interrupted before the run started; nothing was written"
    out = cfg.get("out_dir") if isinstance(cfg, DictConfig) else None
    how = f"out_dir={out}" if out else f"hydra.run.dir={job_dir}"
    return f"interrupted; finished work is kept in {out or job_dir}; rerun with {how} (same config) to resume"


def hydra_app(
    config_name: str,
    task: Callable[[DictConfig], object],
    *,
    prefix: str,
    errors: Mapping[tuple[type[BaseException], ...], int],
) -> Callable[[], None]:
    """A console entry point: the Hydra app over ``configs/<config_name>.yaml`` that runs ``task(cfg)``.

    The config folder is resolved when the entry point is called, not at import. An exception
    matching a key of ``errors`` (tried in order, like ``except`` clauses) becomes one line
    ``f"{prefix}{exc}"`` on stderr and exit with that key's code; any other exception propagates.
    Hydra's job name still comes from ``task``'s module (it unwraps ``__wrapped__``).

    Under ``-m`` (multirun) a job's error must not end the sweep: Hydra's ``run_job`` catches only
    ``Exception``, so a ``SystemExit`` would stop the remaining jobs from launching. There, every
    error (known or not) is printed as one line, written with its traceback into the job's
    ``job_status.json``, and the sweep goes on; when it ends, the exit status is the number of
    failed jobs (at most 100), after one line naming them. Ctrl-C still ends the sweep.
    """

    started: list[bool] = []

    @functools.wraps(task)
    def run(cfg: DictConfig) -> None:
        started.append(True)
        multirun, job_dir = _hydra_mode()
        quiet_library_loggers()
        known = tuple(t for types in errors for t in types)
        t0 = time.monotonic()
        try:
            task(cfg)
        except KeyboardInterrupt:
            if multirun:
                raise  # Ctrl-C still ends the sweep
            from prover.exit_codes import INTERRUPTED

            print(f"{prefix}{_interrupted_line(cfg, job_dir)}", file=sys.stderr)
            sys.exit(INTERRUPTED)
        except known as e:
            code = next(c for types, c in errors.items() if isinstance(e, types))
            print(f"{prefix}{e}", file=sys.stderr)
            if not multirun:
                if job_dir is not None:
                    discard_unstarted_run(job_dir, failed=True)
                sys.exit(code)
            _write_job_status(job_dir, "failed", error=f"{prefix}{e}", exit_code=code,
                              seconds=round(time.monotonic() - t0, 2))  # type: ignore[arg-type]
            return
        except BaseException as e:
            if not multirun:
                if job_dir is not None:
                    discard_unstarted_run(job_dir, failed=True)
                raise
            if not isinstance(e, Exception):
                raise
            import traceback

            print(f"{prefix}{type(e).__name__}: {e} (traceback in {job_dir / JOB_STATUS})", file=sys.stderr)  # type: ignore[operator]
            _write_job_status(job_dir, "failed", error=f"{prefix}{type(e).__name__}: {e}",  # type: ignore[arg-type]
                              exit_code=1, traceback=traceback.format_exc(limit=20),
                              seconds=round(time.monotonic() - t0, 2))
            return
        if multirun:
            _write_job_status(job_dir, "ok", seconds=round(time.monotonic() - t0, 2))  # type: ignore[arg-type]
        elif job_dir is not None:
            discard_unstarted_run(job_dir, failed=False)

    def main() -> None:
        import hydra

        global _LAST_SWEEP
        _LAST_SWEEP = None
        register_schemas()
        try:
            hydra.main(config_path=str(config_dir()), config_name=config_name, version_base="1.3")(run)()
        except SystemExit as e:
            # Hydra prints a composition error (an unknown key, a wrong type: the schemas of
            # prover/settings/) and exits 1; no job ran, so it is a usage error (README's table).
            if e.code == 1 and not started:
                from prover.exit_codes import USAGE

                sys.exit(USAGE)
            raise
        sweep = _LAST_SWEEP
        if sweep and sweep["failed"]:
            n = len(sweep["failed"])
            print(f"{prefix}{n} of {sweep['jobs']} sweep jobs failed ({', '.join(sweep['failed'])}); "
                  f"their errors are in each folder's {JOB_STATUS} under {sweep['sweep_dir']}; rerun the "
                  f"same command with hydra.sweep.dir={sweep['sweep_dir']} to resume", file=sys.stderr)
            sys.exit(min(n, 100))

    return main


def to_container(cfg: Any) -> Any:
    """Plain dicts/lists from a DictConfig (resolved), or the value unchanged."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg
