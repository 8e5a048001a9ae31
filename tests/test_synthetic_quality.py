"""Quality grades: parsing free-form model output and filtering on the graded scale."""

from __future__ import annotations

import asyncio

import pytest

from prover.llm.scripted import ScriptedGenerator
from prover.synthetic.quality import (
    QualityGrader,
    combine_grades,
    load_prompt,
    parse_grade,
    render_prompt,
)


@pytest.mark.parametrize(
    "text,grade",
    [
        ("Grade: excellent", "excellent"),
        (" good\n", "good"),
        ("Grade: Above-Average", "above average"),
        ("**Above average**. The statement is fine.", "above average"),
        ("rating = FAIR", "fair"),
        ("I would say this one is poor, since the domain is wrong.", "poor"),
        ("It is not good; overall poor.", "poor"),
        ("The statement looks excellent but the grade: fair", "fair"),  # the explicit grade wins
        ("average", None),
        ("goodness gracious", None),
        ("", None),
        ("☃ 1 2 3 %%", None),
    ],
)
def test_parse_grade(text, grade):
    assert parse_grade(text) == grade


def test_combine_grades_majority_with_ties_going_to_the_worse_grade():
    assert combine_grades(["good", "good", "poor"]) == "good"
    assert combine_grades(["good", "poor"]) == "poor"
    assert combine_grades([None, "excellent", None]) == "excellent"
    assert combine_grades([None, None]) is None


def test_prompt_file_has_both_slots_and_braces_survive(tmp_path):
    template = load_prompt(None)
    text = render_prompt(template, "Show x = 1.", "theorem t {x : ℕ} (h : x = 1) : x = 1 := by")
    assert text.endswith("theorem t {x : ℕ} (h : x = 1) : x = 1 := by\nGrade:")
    bad = tmp_path / "p.txt"
    bad.write_text("no slots here")
    with pytest.raises(ValueError, match=r"lacks the \$informal placeholder"):
        load_prompt(bad)


def test_grader_keeps_only_configured_grades():
    outputs = {"t1": "Grade: excellent", "t2": "Grade: fair", "t3": "gibberish", "t4": "above average"}

    def script(text: str, sample: int, call: int) -> str:
        last = text.rsplit("Formal statement:", 1)[1]
        return next(v for k, v in outputs.items() if f"theorem {k} " in last)

    items = [{"id": k, "informal": "x", "statement": f"theorem {k} : True := by\n"} for k in outputs]
    grader = QualityGrader(ScriptedGenerator(script))
    recs = asyncio.run(grader.agrade(items))
    assert [(r["id"], r["grade"], r["keep"]) for r in recs] == [
        ("t1", "excellent", True),
        ("t2", "fair", False),
        ("t3", None, False),
        ("t4", "above average", True),
    ]
    lenient = QualityGrader(ScriptedGenerator(script), keep=["excellent"], keep_unparsed=True)
    keep = {r["id"]: r["keep"] for r in asyncio.run(lenient.agrade(items))}
    assert keep == {"t1": True, "t2": False, "t3": True, "t4": False}


def test_unknown_grade_in_config_is_rejected():
    with pytest.raises(ValueError, match="unknown grade"):
        QualityGrader(ScriptedGenerator([]), keep=["great"])
