"""The Lean pins. Toolchain, Mathlib and the REPL tag must always agree (repl #76:
a REPL built for another Lean gave wrong verdicts). ``lean_project/`` carries the
same values; a test and ``proofforge-lean doctor`` check that they match.
"""

LEAN_VERSION = "v4.24.0"
LEAN_TOOLCHAIN = f"leanprover/lean4:{LEAN_VERSION}"
MATHLIB_REV = "v4.24.0"
REPL_REV = "v4.24.0"  # leanprover-community/repl has one tag per Lean release
REPL_GIT = "https://github.com/leanprover-community/repl"
MATHLIB_GIT = "https://github.com/leanprover-community/mathlib4"
ELAN_INIT_URL = "https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh"
