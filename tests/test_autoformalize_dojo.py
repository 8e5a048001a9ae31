"""``extract_with_dojo`` against a fake traced repo shaped like lean-dojo's own (it cannot install here).

The fake mirrors lean-dojo/LeanDojo ``src/lean_dojo/data_extraction/traced_data.py``:
``TracedRepo.get_traced_file(path)`` is ``traced_files_graph.nodes[str(path)]["traced_file"]`` (a missing
file raises ``KeyError``), ``TracedFile.abs_path`` is ``root_dir / path``, and ``get_premise_definitions``
returns ``{"full_name", "code", "start", "end", "kind"}`` dicts whose ``code`` has every comment (doc
comments too) stripped, ``start``/``end`` as ``[line, column]`` and ``kind`` the AST node's class name
lowered without ``Node`` (``commanddeclaration``, ``mathlibtacticlemma``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

from autoformalize.library import LibraryError, dependency_graph, extract_with_dojo

SOURCE = """\
import Mathlib

namespace Foo

/-- The double of a natural number. -/
def double (n : ℕ) : ℕ := 2 * n

/-- `double` is even. -/
theorem double_even (n : ℕ) : Even (double n) := by
  exact ⟨n, by simp [double]; ring⟩

end Foo

/-- A Mathlib-style lemma outside the namespace. -/
lemma twice (n : ℕ) : Foo.double n = n + n := by
  simp [Foo.double]; ring
"""

PREMISES = [  # what get_premise_definitions returns for SOURCE (comments stripped from code)
    {"full_name": "Foo.double", "code": "def double (n : ℕ) : ℕ := 2 * n", "start": [5, 1], "end": [6, 33],
     "kind": "commanddeclaration"},
    {"full_name": "Foo.double_even", "code": "theorem double_even (n : ℕ) : Even (double n)",
     "start": [8, 1], "end": [10, 37], "kind": "commanddeclaration"},
    {"full_name": "twice", "code": "lemma twice (n : ℕ) : Foo.double n = n + n", "start": [14, 1],
     "end": [16, 26], "kind": "mathlibtacticlemma"},
]


@dataclass
class FakeTracedFile:
    root_dir: Path
    path: Path

    @property
    def abs_path(self) -> Path:
        return self.root_dir / self.path

    def get_premise_definitions(self) -> list[dict]:
        return [dict(p) for p in PREMISES]


class FakeTracedRepo:
    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root_dir = root
        self.traced_files_graph = nx.DiGraph()
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
            self.traced_files_graph.add_node(rel, traced_file=FakeTracedFile(root, Path(rel)))

    def get_traced_file(self, path):  # as lean-dojo's: a KeyError for a file that is not traced
        assert self.traced_files_graph is not None
        return self.traced_files_graph.nodes[str(path)]["traced_file"]


@pytest.fixture
def traced(tmp_path):
    return FakeTracedRepo(tmp_path, {"Foo/Basic.lean": SOURCE})


def test_names_kinds_docstrings_and_dependencies_come_out_right(traced):
    decls = {d.name: d for d in extract_with_dojo("https://github.com/x/foo", "abc", "Foo/Basic.lean",
                                                  traced=traced)}
    assert list(decls) == ["Foo.double", "Foo.double_even", "twice"]  # LeanDojo's full names, qualified
    assert decls["Foo.double"].kind == "def" and decls["Foo.double_even"].kind == "theorem"
    assert decls["twice"].kind == "mathlibtacticlemma"  # LeanDojo's own kind is kept
    # docstrings from the traced file (the premise code has them stripped)
    assert decls["Foo.double"].docstring == "The double of a natural number."
    assert decls["twice"].docstring == "A Mathlib-style lemma outside the namespace."
    assert decls["Foo.double_even"].code.startswith("/-- `double` is even. -/\ntheorem double_even")
    # `double` inside the namespace and `Foo.double` outside both resolve to the qualified name
    assert decls["Foo.double_even"].deps == ["Foo.double"] and decls["twice"].deps == ["Foo.double"]
    assert decls["Foo.double"].deps == []
    assert decls["twice"].source == "https://github.com/x/foo@abc:Foo/Basic.lean"
    graph = dependency_graph(list(decls.values()))
    assert set(graph.edges) == {("Foo.double", "Foo.double_even"), ("Foo.double", "twice")}


def test_a_file_that_is_not_traced_is_one_line(traced):
    with pytest.raises(LibraryError, match=r"^Foo/Missing\.lean is not in the traced repo "
                                           r"https://github\.com/x/foo@abc:Foo/Missing\.lean$"):
        extract_with_dojo("https://github.com/x/foo", "abc", "Foo/Missing.lean", traced=traced)
