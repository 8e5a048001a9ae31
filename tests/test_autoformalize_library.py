"""Library -> NL: the dependency DAG, translation order with dependency context, cycles, resume, the
offline declaration scanner, and usedConstants through a LeanPool session on the scripted double."""

from __future__ import annotations

import asyncio
import re

import pytest

from autoformalize.declarations import Declaration
from autoformalize.library import (
    DependencyCycleError,
    extract_with_repl,
    informalize_library,
    scan_lean_source,
    translation_order,
)
from prover.lean.double_pools import scripted_verifier
from prover.llm.scripted import ScriptedGenerator
from prover.records import read_jsonl

# A hand-made dependency set: group -> subgroup -> normal -> quotient; order uses group only;
# lagrange uses subgroup and order; Nat.succ is outside the set (ignored for ordering).
DECLS = [
    Declaration("lagrange", kind="theorem", signature=": card H ∣ card G", deps=["Subgroup", "orderOf", "Nat.succ"]),
    Declaration("Quotient", kind="def", deps=["Normal", "Group"]),
    Declaration("Group", kind="class", deps=[]),
    Declaration("Normal", kind="def", deps=["Subgroup"]),
    Declaration("orderOf", kind="def", deps=["Group"]),
    Declaration("Subgroup", kind="structure", deps=["Group"]),
    Declaration("Isolated", kind="def", deps=[]),
]


def _translator(record: list[str]):
    def script(prompt: str, sample: int, call: int) -> str:
        name = re.search(r"Declaration `([^`]+)`", prompt).group(1)
        record.append(prompt)
        return f"NL[{name}]"

    return script


def test_translation_order_respects_dependencies() -> None:
    layers = translation_order(DECLS)
    assert layers == [["Group", "Isolated"], ["Subgroup", "orderOf"], ["Normal", "lagrange"], ["Quotient"]]
    pos = {n: i for i, layer in enumerate(layers) for n in layer}
    for d in DECLS:
        for dep in d.deps:
            if dep in pos:
                assert pos[dep] < pos[d.name]


def test_informalize_in_order_with_dependency_context(tmp_path) -> None:
    prompts: list[str] = []
    gen = ScriptedGenerator(_translator(prompts))
    out = tmp_path / "library.jsonl"
    done = informalize_library(DECLS, gen, out, progress=False)
    assert done == {d.name: f"NL[{d.name}]" for d in DECLS}
    assert len(gen.calls) == 4  # one batched call per layer
    rows = {r["name"]: r for r in read_jsonl(out)}
    by_prompt = {re.search(r"Declaration `([^`]+)`", p).group(1): p for p in prompts}
    # each prompt carries the translations of the declarations it depends on (in the set), nothing else
    assert "- `Subgroup`: NL[Subgroup]" in by_prompt["lagrange"]
    assert "- `orderOf`: NL[orderOf]" in by_prompt["lagrange"]
    assert "Nat.succ" not in by_prompt["lagrange"].split("Declaration `")[0]
    assert "NL[Group]" in by_prompt["Quotient"] and "NL[Normal]" in by_prompt["Quotient"]
    assert "Informal meanings" not in by_prompt["Group"]
    assert rows["Quotient"]["depth"] == 3 and rows["lagrange"]["context"] == ["Subgroup", "orderOf"]


def test_cycle_is_an_error_naming_it() -> None:
    decls = [Declaration("a", deps=["b"]), Declaration("b", deps=["c"]), Declaration("c", deps=["a"]),
             Declaration("d", deps=["a"])]
    with pytest.raises(DependencyCycleError) as e:
        translation_order(decls)
    assert set(e.value.cycle) == {"a", "b", "c"}
    assert "dependency cycle:" in str(e.value) and "d" not in e.value.cycle


def test_library_resumes_and_reuses_written_translations(tmp_path) -> None:
    out = tmp_path / "library.jsonl"

    def dying(prompt: str, sample: int, call: int) -> str:
        if call == 2:
            raise RuntimeError("killed")
        return "first:" + re.search(r"Declaration `([^`]+)`", prompt).group(1)

    with pytest.raises(RuntimeError, match="killed"):
        informalize_library(DECLS, ScriptedGenerator(dying), out, progress=False)
    assert {r["name"] for r in read_jsonl(out)} == {"Group", "Isolated", "Subgroup", "orderOf"}
    prompts: list[str] = []
    informalize_library(DECLS, ScriptedGenerator(_translator(prompts)), out, progress=False)
    rows = read_jsonl(out)
    assert len(rows) == len(DECLS) == len({r["name"] for r in rows})
    assert len(prompts) == 3  # Normal, lagrange, Quotient only
    lagrange = next(p for p in prompts if "Declaration `lagrange`" in p)
    assert "first:Subgroup" in lagrange  # the context comes from the earlier run's records


LEAN = """import Mathlib

namespace Foo

/-- A number is tiny if it is below three. -/
def Tiny (n : ℕ) : Prop := n < 3

-- a comment that mentions Big, which must not count
theorem tiny_zero : Tiny 0 := by
  unfold Tiny; norm_num

/-- Big numbers. -/
@[simp] def Big (n : ℕ) : Prop := ¬ Tiny n

lemma big_five : Big 5 := by
  simp [Big, Tiny]

end Foo

/- a block comment: theorem ghost : False := sorry -/
theorem outside : Foo.Big 7 := by simp [Foo.Big, Foo.Tiny]
"""


def test_scan_lean_source_names_docstrings_and_deps() -> None:
    decls = {d.name: d for d in scan_lean_source(LEAN)}
    assert list(decls) == ["Foo.Tiny", "Foo.tiny_zero", "Foo.Big", "Foo.big_five", "outside"]
    assert decls["Foo.Tiny"].docstring == "A number is tiny if it is below three."
    assert decls["Foo.Tiny"].signature == "(n : ℕ) : Prop" and decls["Foo.Tiny"].kind == "def"
    assert decls["Foo.big_five"].kind == "theorem" and decls["Foo.big_five"].signature == ": Big 5"
    assert decls["Foo.tiny_zero"].deps == ["Foo.Tiny"]
    assert decls["Foo.Big"].deps == ["Foo.Tiny"]
    assert set(decls["outside"].deps) == {"Foo.Big", "Foo.Tiny"}
    assert translation_order(list(decls.values()))[0] == ["Foo.Tiny"]


def test_extract_with_repl_adds_used_constants() -> None:
    body_tactics = {"tactics": [
        {"tactic": "unfold Tiny", "goals": "⊢ Foo.Tiny 0", "proofState": 0,
         "pos": {"line": 8, "column": 2}, "endPos": {"line": 8, "column": 13},
         "usedConstants": ["Foo.Tiny", "Nat.lt"]},
        {"tactic": "simp [Big, Tiny]", "goals": "⊢ Foo.Big 5", "proofState": 1,
         "pos": {"line": 14, "column": 2}, "endPos": {"line": 14, "column": 18},
         "usedConstants": ["Foo.Big", "Foo.Tiny", "Nat.not_lt"]},
    ]}
    pool = scripted_verifier([{"match": "namespace Foo", "response": body_tactics}])
    try:
        decls = {d.name: d for d in asyncio.run(extract_with_repl(pool, LEAN, source="lib.lean"))}
    finally:
        pool.verify_sync([])
    assert "Nat.lt" in decls["Foo.tiny_zero"].deps
    assert {"Foo.Big", "Foo.Tiny", "Nat.not_lt"} <= set(decls["Foo.big_five"].deps)
    assert "Nat.not_lt" not in decls["Foo.tiny_zero"].deps


def test_dojo_extraction_without_lean_dojo_says_what_to_install(monkeypatch) -> None:
    import sys

    from autoformalize.library import LibraryError, extract_with_dojo

    monkeypatch.setitem(sys.modules, "lean_dojo", None)  # as if not installed
    with pytest.raises(LibraryError, match="pip install"):
        extract_with_dojo("https://github.com/x/y", "abc", "Y/Basic.lean")


def test_library_mode_limit_keeps_a_dependency_closed_prefix(tmp_path, capsys) -> None:
    """proofforge-formalize mode=library limit=N: the first N declarations in translation order, so every
    kept declaration's in-set dependencies are kept (and translated first)."""
    import json

    from autoformalize.cli import run_formalize
    from prover.config import compose

    src = tmp_path / "decls.jsonl"
    src.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in DECLS))
    prompts: list[str] = []
    cfg = compose("formalize", [f"out_dir={tmp_path / 'run'}", "mode=library", f"library.source={src}", "limit=4",
                                "progress=false", "lean=scripted"])
    run = run_formalize(cfg, generator=ScriptedGenerator(_translator(prompts)))
    rows = read_jsonl(run / "library.jsonl")
    assert [r["name"] for r in rows] == ["Group", "Isolated", "Subgroup", "orderOf"]
    assert "(limit=4 of 7)" in capsys.readouterr().out
    # a larger limit resumes the same folder: only the new declarations are translated
    run_formalize(compose("formalize", [f"out_dir={tmp_path / 'run'}", "mode=library", f"library.source={src}",
                                        "progress=false", "lean=scripted"]),
                  generator=ScriptedGenerator(_translator(prompts)))
    names = [r["name"] for r in read_jsonl(run / "library.jsonl")]
    assert len(names) == len(set(names)) == 7 and len(prompts) == 7


def test_scanner_reads_names_comments_and_strings_as_lean_does():
    src = ('def «my def» : Nat := 1\n'
           'def s : String := "-- not a comment /- nor this"\n'
           '/-! a module doc mentioning theorem hidden -/\n'
           '/-- uses «my def» -/\ntheorem uses : «my def» = 1 := rfl\n')
    decls = {d.name: d for d in scan_lean_source(src)}
    assert set(decls) == {"«my def»", "s", "uses"}
    assert decls["uses"].deps == ["«my def»"] and decls["uses"].docstring == "uses «my def»"
