"""Behaviour every Hydra app shares (prover/config.py hydra_app): library loggers, run folders, exit codes."""

from __future__ import annotations

import logging
import sys

import pytest

from prover.config import hydra_app


def _run_app(monkeypatch, task, *args: str, errors=None):
    monkeypatch.setattr(sys, "argv", ["proofforge-test", *args])
    hydra_app("check", task, prefix="proofforge-test: ", errors=errors or {})()


def test_library_loggers_stay_at_warning_unless_asked(monkeypatch, tmp_path):
    seen: list[int] = []
    for name in ("httpx", "httpcore"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)

    def task(cfg):
        seen.append(logging.getLogger("httpx").getEffectiveLevel())

    _run_app(monkeypatch, task, f"hydra.run.dir={tmp_path / 'a'}")
    assert seen == [logging.WARNING]
    logging.getLogger("httpx").setLevel(logging.NOTSET)
    _run_app(monkeypatch, task, f"hydra.run.dir={tmp_path / 'b'}", "hydra.verbose=httpx")
    assert seen[-1] == logging.DEBUG  # asked for: left alone


@pytest.fixture(autouse=True)
def _restore_logging():
    levels = {n: logging.getLogger(n).level for n in ("httpx", "httpcore")}
    yield
    for n, lv in levels.items():
        logging.getLogger(n).setLevel(lv)
