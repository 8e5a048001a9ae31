/-
The header every Mathlib problem runs on. Building this module once (`lake build`)
compiles everything the miniF2F/ProofNet headers import, so each REPL worker only
loads .olean files when it imports the header.
-/
import Mathlib
import Aesop
