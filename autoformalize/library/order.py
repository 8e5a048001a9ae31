"""Ordering: the dependency DAG of a declaration set (networkx) and its translation layers."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from autoformalize.declarations import Declaration
from autoformalize.library.errors import DependencyCycleError, LibraryError


def dependency_graph(decls: Sequence[Declaration]) -> nx.DiGraph:
    """A DAG with an edge ``dep -> decl`` for each dependency inside the set; a cycle raises, naming it."""
    g = nx.DiGraph()
    names = [d.name for d in decls]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LibraryError(f"declared more than once: {', '.join(dupes)}")
    for d in decls:
        g.add_node(d.name)
    for d in decls:
        for dep in d.deps:
            if dep in g and dep != d.name:
                g.add_edge(dep, d.name)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return g
    raise DependencyCycleError([u for u, _ in cycle])


def translation_order(decls: Sequence[Declaration]) -> list[list[str]]:
    """Layers of names: every declaration comes after everything it depends on (sorted within a layer)."""
    return [sorted(layer) for layer in nx.topological_generations(dependency_graph(decls))]
