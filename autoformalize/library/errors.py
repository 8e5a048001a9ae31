"""Errors of library extraction and ordering; each message names the input."""

from __future__ import annotations


class LibraryError(ValueError):
    """The library could not be extracted or ordered; the message names the input."""


class DependencyCycleError(LibraryError):
    """The declarations' dependencies contain a cycle (named in the message and in ``cycle``)."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join([*cycle, cycle[0]]))
