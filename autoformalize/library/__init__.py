"""Library -> NL: informalise a Lean library's declarations in dependency order (Herald's hierarchy).

Herald translates Mathlib declarations in topological order of their dependencies, so the prompt for a
declaration can carry the natural-language versions of what it uses. Here:

* **extraction** (:mod:`.scan`, :mod:`.extract`), three ways: :func:`scan_lean_source` (a simple declaration scanner over ``.lean``
  text: the offline fallback, no Lean needed); :func:`extract_with_repl` (runs the file through a
  :class:`~prover.lean.pool.LeanPool` session with ``allTactics`` and adds each tactic's
  ``usedConstants`` to the enclosing declaration's dependencies); :func:`extract_with_dojo` (a
  LeanDojo trace, when ``lean-dojo`` is installed);
* **ordering** (:mod:`.order`): :func:`dependency_graph` builds a networkx DAG (edge ``dep -> decl``) over the
  declarations of the set; a cycle is an error naming it;
* **translation** (:mod:`.translate`): :func:`informalize_library` walks the DAG layer by layer (one batched generate call
  per layer), writing one JSONL record per declaration keyed by name, so a rerun resumes and reuses the
  translations already written as context.
"""

from autoformalize.library.errors import DependencyCycleError, LibraryError
from autoformalize.library.extract import declarations_from_traced_file, extract_with_dojo, extract_with_repl
from autoformalize.library.order import dependency_graph, translation_order
from autoformalize.library.scan import load_declarations, scan_lean_source, split_library_header
from autoformalize.library.translate import ainformalize_library, informalize_library, informalize_prompt

__all__ = [
    "DependencyCycleError",
    "LibraryError",
    "ainformalize_library",
    "declarations_from_traced_file",
    "dependency_graph",
    "extract_with_dojo",
    "extract_with_repl",
    "informalize_library",
    "informalize_prompt",
    "load_declarations",
    "scan_lean_source",
    "split_library_header",
    "translation_order",
]
