"""notebooks/proof_search.ipynb runs top to bottom on the offline defaults (scripted generator + REPL double)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "proof_search.ipynb"


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o.get("text", ""))
        elif "data" in o:
            out.append(o["data"].get("text/plain", ""))
    return "".join(out)


def test_notebook_executes_offline_by_default(monkeypatch):
    monkeypatch.delenv("PROOFFORGE_NOTEBOOK_OFFLINE", raising=False)  # the default cell, as a user runs it
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(NOTEBOOK.parents[1]), os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")
    assert "offline (scripted generator + scripted REPL double): True" in text
    # the MA-LoT run: failed drafts with Lean's positioned error, then a corrected proof
    assert "simp made no progress" in text and "lean error at 2:2" in text
    assert "proved: True" in text and "verdict: proved" in text
    # step by step: the corrector's prompt carries Lean's feedback on the failed draft
    assert "Lean reported:\nsimp made no progress" in text and "[corrector, round 1] proved" in text
    # the best-first tree was searched and drawn
    assert "(root)" in text and "exact h.1" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the search tree was not drawn"


def test_the_documented_notebook_command_is_installed_by_the_dev_extra():
    import re
    import shutil
    import sys

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    root = NOTEBOOK.parents[1]
    assert "jupyter execute notebooks/proof_search.ipynb" in (root / "docs" / "evals.md").read_text()
    dev = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    names = {re.split(r"[<>=\[; ]", d, maxsplit=1)[0].lower() for d in dev}
    assert {"nbclient", "ipykernel"} <= names  # nbclient provides `jupyter execute`, ipykernel the kernel
    assert shutil.which("jupyter-execute", path=str(Path(sys.executable).parent)) is not None
