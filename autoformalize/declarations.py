"""The Lean declaration record shared by retrieval (what gets indexed) and library informalisation.

Herald's pipeline (via Lean-jixia) extracts, per declaration, its kind, signature, docstring and
dependencies; this is the same shape, so one extraction feeds both the retriever and the
library-to-NL translator.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


class DeclarationError(ValueError):
    """Declarations could not be read; the message names the input."""


@dataclass
class Declaration:
    """A Lean declaration: ``name`` (fully qualified), ``kind`` (theorem/def/...), ``signature`` (the
    binders and type, without the body), ``docstring``, ``code`` (full source when known) and the
    names it depends on."""

    name: str
    kind: str = "theorem"
    signature: str = ""
    docstring: str = ""
    code: str = ""
    deps: list[str] = field(default_factory=list)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Declaration:
        if not isinstance(data, dict) or not data.get("name"):
            raise DeclarationError(f"a declaration needs at least a 'name' field, got {data!r:.120}")
        names = {f.name for f in dataclasses.fields(cls)}
        # "type" is what Mathlib dumps and LeanDojo call the signature.
        if "signature" not in data and "type" in data:
            data = {**data, "signature": data["type"]}
        return cls(**{k: v for k, v in data.items() if k in names})

    def formal_text(self) -> str:
        """What the formal side of an index embeds: the name and the signature."""
        return f"{self.kind} {self.name} {self.signature}".strip()

    def informal_text(self) -> str:
        """An NL-ish view (docstring, else the name split into words) used to train query projections."""
        if self.docstring:
            return self.docstring
        return self.name.replace(".", " ").replace("_", " ")

    def prompt_line(self) -> str:
        """One line for a translation prompt."""
        doc = f"  -- {self.docstring.strip().splitlines()[0]}" if self.docstring.strip() else ""
        return f"{self.kind} {self.name} {self.signature}".strip() + doc
