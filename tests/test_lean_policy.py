"""The untrusted-code policy: every refused construct, and proofs that must stay allowed."""

import pytest

from prover.lean.policy import check_candidate, strip_comments_and_strings, target_theorem, theorem_name

STMT = "theorem t (a b : ℝ) (h : 0 < a) : a * b ≤ a * b + a := by"
HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen Real\n\n"


def cand(proof: str, prefix: str = "") -> str:
    return HEADER + prefix + STMT + "\n" + proof


REFUSED = [
    ("#eval", cand("  linarith", prefix='#eval IO.println "hi"\n')),
    ("#exit", cand("  linarith\n#exit")),
    ("run_cmd", cand("  linarith", prefix="run_cmd Lean.logInfo \"x\"\n")),
    ("run_tac", cand("  run_tac Lean.Elab.Tactic.evalTactic default")),
    ("axiom", cand("  exact cheat _ _", prefix="axiom cheat (a b : ℝ) : a * b ≤ a * b + a\n")),
    ("private axiom", cand("  exact c", prefix="private axiom c : False\n")),
    ("opaque", cand("  linarith", prefix="opaque magic : Nat\n")),
    ("implemented_by", cand("  linarith", prefix="@[implemented_by id] def f (n : Nat) : Nat := n\n")),
    ("extern", cand("  linarith", prefix='@[extern "c_f"] def g (n : Nat) : Nat := n\n')),
    ("unsafe", cand("  linarith", prefix="unsafe def h : Nat := 0\n")),
    ("debug option", cand("  linarith", prefix="set_option debug.skipKernelTC true in\n")),
    ("skipKernelTC", cand("  linarith", prefix="set_option skipKernelTC true\n")),
    ("macro", cand("  trivial'", prefix='macro "trivial\'" : tactic => `(tactic| sorry)\n')),
    ("syntax", cand("  linarith", prefix='syntax "foo" : tactic\n')),
    ("elab", cand("  linarith", prefix="elab \"foo\" : tactic => pure ()\n")),
    ("notation", cand("  linarith", prefix='notation "⊤⊤" => True\n')),
    ("infixl", cand("  linarith", prefix='infixl:65 " +' + "' \" => HAdd.hAdd\n")),
    ("second import", cand("  linarith", prefix="import Mathlib.Tactic\n")),
    ("initialize", cand("  linarith", prefix="initialize foo : IO.Ref Nat ← IO.mkRef 0\n")),
    ("changed statement", HEADER + STMT.replace("≤", "<") + "\n  linarith"),
    ("renamed theorem", HEADER + STMT.replace("theorem t", "theorem t2") + "\n  linarith"),
    ("statement missing", HEADER + "theorem other : True := trivial"),
    ("stronger tail", HEADER + STMT.replace(" := by", " ∧ True := by") + "\n  constructor"),
    ("declared twice", cand("  linarith", prefix="theorem t : True := trivial\n")),
    ("namespace trick", HEADER + "namespace X\n" + STMT + "\n  native_decide\nend X\ndef t := 0"),
    # holes found in review (each passed the policy before the fix)
    ("variable+include adds False", cand("  exact absurd hf id", prefix="variable (hf : False)\ninclude hf\n")),
    ("instance-implicit variable", cand("  exact (Fact.out : False).elim", prefix="variable [Fact False]\n")),
    ("instance changes +", cand("  norm_num", prefix="instance : Add ℝ := ⟨fun a b => a * b⟩\n")),
    ("attribute [instance]", cand("  norm_num", prefix="def myAdd : Add ℝ := ⟨fun a b => a⟩\nattribute [instance] myAdd\n")),
    ("@[instance]", cand("  norm_num", prefix="@[instance] def myAdd : Add ℝ := ⟨fun a b => a⟩\n")),
    ("@[default_instance]", cand("  norm_num", prefix="@[default_instance] def myAdd : Add ℝ := ⟨fun a b => a⟩\n")),
    ("@[tactic] elaborator", cand("  omega", prefix="@[tactic Lean.Parser.Tactic.omega] def ev : Lean.Elab.Tactic.Tactic :=\n"
                                  "  fun _ => Lean.Elab.admitGoal default\n")),
    ("attribute [term_elab]", cand("  linarith", prefix="attribute [local term_elab Lean.Parser.Term.app] foo\n")),
    ("simproc runs code", cand("  simp", prefix="simproc foo (_) := fun _ => do IO.println \"x\"; return .continue\n")),
    ("aesop tactic rule", cand("  aesop (add safe tactic myTac)")),
    ("by_elab", cand("  exact by_elab do return default")),
    ("#guard", cand("  linarith", prefix="#guard true\n")),
    ("#html", cand("  linarith", prefix="#html default\n")),
    ("char '\\\"' hides #eval", cand("  linarith", prefix="def c : Char := '\\\"'\n#eval IO.println 1\ndef s := \"y\"\n\"\n")),
    ("raw string hides #eval", cand('  linarith\ndef s : String := r#"a " b"#\n#eval IO.println 1\n-- "')),
    ("«» ident hides #eval", cand("  linarith", prefix='def «x\"» := 1\n#eval IO.println 1\ndef «y\"» := 2\n')),
    ("«--» ident hides #eval", cand("  linarith", prefix="def «--» := 1 #eval IO.println 1\n")),
    ("interpolation runs tactic", cand('  have := s!"{by run_tac pure ()}"\n  linarith')),
    ("ambiguous interpolation", cand("  linarith", prefix='def s := "{"\n#eval IO.println 1\ndef q := "}"\n')),
    ("code after comment close", "import Mathlib\n/-\n-/ #eval IO.println 1\n" + STMT + "\n  linarith"),
    ("«debug».skipKernelTC", cand("  linarith", prefix="set_option «debug».skipKernelTC true\n")),
    ("open renaming", cand("  linarith", prefix="open Real renaming sqrt → t2\n")),
    ("command after import", "import Mathlib #eval IO.println 1\n" + STMT + "\n  linarith"),
    ("@[csimp]", cand("  linarith", prefix="@[csimp] theorem c : @id = @id := rfl\n")),
    ("variable?", cand("  exact (Fact.out : False).elim", prefix="variable? [Fact False]\n")),
    ("notation3", cand("  linarith", prefix='notation3 "⊤⊤" => True\n')),
    ("unif_hint", cand("  linarith", prefix="unif_hint (n : ℕ) where ⊢ n =?= n\n")),
    ("#guard_msgs hides an error", cand("  linarith", prefix="/-- error: oops -/\n#guard_msgs in\nexample : 1 = 2 := rfl\n")),
    ("#check_failure", cand("  linarith", prefix="#check_failure (rfl : 1 = 2)\n")),
    ("eval%", cand("  have : (2 : ℕ) ^ 10 = eval% 2 ^ 10 := rfl\n  linarith")),
    ("unsafeBaseIO", cand("  have := IO.unsafeBaseIO (pure 0)\n  linarith")),
    ("set_option Elab.async", cand("  linarith", prefix="set_option Elab.async false\n")),
    ("set_option internal", cand("  linarith", prefix="set_option internal.cmdlineSnapshots true in\n")),
    ("set_option «Elab».x", cand("  set_option «Elab».async false in linarith")),
    ("unterminated comment", cand("  linarith /- the rest is hidden")),
    ("char after a symbol", cand("  linarith", prefix="def c := ⨁'\"'\n#eval 1\n-- \"\n")),
    ("instance after Classical", cand("  norm_num", prefix="attribute [local instance] Classical.dec\n  myAdd\n")),
]


@pytest.mark.parametrize("what,code", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused(what, code):
    reason = check_candidate(code, STMT)
    assert reason is not None and reason.startswith("refused"), what


def test_with_the_problem_header_redefining_a_name_of_the_statement_is_refused():
    # without the problem's `open Real`, a candidate's own `sqrt` would silently replace Real.sqrt
    header = "import Mathlib\nopen Real\n"
    stmt = "theorem u (x : ℝ) : sqrt (x ^ 2) = |x| := by"
    evil = "import Mathlib\ndef sqrt (x : ℝ) : ℝ := |x|\n" + stmt + "\n  simp [sqrt]"
    reason = check_candidate(evil, stmt, header)
    assert reason is not None and "header" in reason
    evil2 = header + "def sqrt (x : ℝ) : ℝ := |x|\n" + stmt + "\n  simp [sqrt]"
    reason = check_candidate(evil2, stmt, header)
    assert reason is not None and "sqrt" in reason
    helper = header + "lemma helper (x : ℝ) : sqrt (x ^ 2) = |x| := Real.sqrt_sq_eq_abs x\n"
    assert check_candidate(helper + stmt + "\n  exact helper x", stmt, header) is None


def test_a_problem_header_may_define_what_its_statement_uses():
    # ProofNet headers define names (`def is_topology`, `def f`) that the statement uses
    header = "import Mathlib\nopen Set\n\ndef is_top (X : Type*) (T : Set (Set X)) := univ ∈ T\n\n"
    stmt = "theorem e (X : Type*) (T : Set (Set X)) (h : is_top X T) : is_top X T :="
    assert check_candidate(header + stmt + " h", stmt, header) is None
    assert check_candidate(header + stmt + " h", stmt) is None
    changed = header.replace("univ ∈ T", "True")
    assert check_candidate(changed + stmt + " h", stmt, header) is not None


ALLOWED = [
    ("nlinarith", "  nlinarith [sq_nonneg (a - b), mul_pos h h]"),
    ("linarith", "  have h2 : 0 ≤ a := le_of_lt h\n  linarith"),
    ("byContradiction", "  apply Classical.byContradiction\n  intro hc\n  linarith"),
    ("calc", "  calc a * b ≤ a * b + a := by linarith"),
    ("show", "  show a * b ≤ a * b + a\n  linarith"),
    ("omega-like", "  exact le_add_of_nonneg_right (le_of_lt h)"),
    ("decide in have", "  have : (2 : ℕ) + 2 = 4 := by decide\n  linarith"),
    ("comment mentioning #eval", "  -- we avoid #eval and axiom here\n  linarith"),
    ("block comment", "  /- macro syntax elab -/ linarith"),
    ("string with keywords", '  have _s : String := "axiom #eval"\n  linarith'),
    ("identifier containing axiom", "  have my_axiom_free : True := trivial\n  linarith"),
    ("sorry is judged later", "  sorry"),
    ("classical local instance", "  classical\n  linarith"),
]


@pytest.mark.parametrize("what,proof", ALLOWED, ids=[a[0] for a in ALLOWED])
def test_allowed(what, proof):
    assert check_candidate(cand(proof), STMT) is None, what


def test_lexically_tricky_proofs_stay_allowed():
    helpers = ("@[simp] lemma helper (y : ℝ) : y + 0 = y := by simp\nattribute [local simp] mul_comm\n"
               "attribute [local instance] Classical.propDecidable\n")
    for proof in ("  have hc : 'a' ≠ 'b' := by decide\n  linarith",
                  "  have : s!\"{a}\" = s!\"{a}\" := rfl\n  linarith",
                  "  have : (∑' n : ℕ, (0 : ℝ)) = 0 := tsum_zero\n  linarith",
                  "  have h' : 0 ≤ a := h.le\n  nlinarith [h']"):
        assert check_candidate(cand(proof, prefix=helpers), STMT) is None, proof


def test_core_tactics_without_statement():
    for proof in ("by decide", "by omega", "by simp", "by rfl"):
        assert check_candidate(f"theorem x : 2 + 2 = 4 := {proof}", None) is None


def test_statement_whitespace_is_normalised():
    spaced = HEADER + STMT.replace(" (h", "\n    (h") + "\n  linarith"
    assert check_candidate(spaced, STMT) is None


def test_names():
    assert theorem_name(STMT) == "t"
    assert theorem_name("/-- doc -/\nlemma foo.bar' {x : ℕ} : x = x := rfl") == "foo.bar'"
    assert target_theorem("theorem a : True := trivial\ntheorem b : True := trivial", None) == "b"
    assert target_theorem("anything", STMT) == "t"


def test_quoted_theorem_names_reach_lean_quoted():
    stmt = "theorem «my thm» (n : ℕ) : n + 0 = n := by"
    code = "import Mathlib\n" + stmt + "\n  simp"
    assert check_candidate(code, stmt) is None
    assert theorem_name(stmt) == "«my thm»" and target_theorem(code, None) == "«my thm»"
    assert check_candidate(code + "\ntheorem my_thm : True := trivial", stmt) is not None


def test_strip_comments_nested():
    code = 'a /- x /- y -/ z -/ b -- c\n"d \\" e" f'
    out = strip_comments_and_strings(code)
    assert "x" not in out and "y" not in out and "z" not in out and "c" not in out
    assert "a" in out and "b" in out and "f" in out and "d" not in out
