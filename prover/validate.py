"""Refuse nonsense config values at start, with one line naming the key.

Why here, at the config layer: ``concurrency=0`` made the eval run nothing in parallel without a
word, ``lean.timeout=0`` surfaced as a self-check disagreement, ``lean.workers=-1`` was taken as
"the default". Every app checks the keys it uses with the same rules before it starts Lean or loads
a model, so the message names the key the user typed instead of a symptom later on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import OmegaConf


@dataclass(frozen=True)
class Bound:
    """``key`` (a dotted config path) must be a number (``integer``: a whole one) at least ``low``
    (strictly above it when ``strict``); ``None`` allowed when ``nullable``."""

    key: str
    low: float
    strict: bool = False
    integer: bool = False
    nullable: bool = False
    note: str = ""

    def problem(self, value: Any) -> str | None:
        if value is None:
            return None if self.nullable else "must be set"
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or (isinstance(value, float) and not math.isfinite(value)):
            return f"must be {'an integer' if self.integer else 'a number'}, got {value!r}"
        if self.integer and isinstance(value, float) and not value.is_integer():
            return f"must be an integer, got {value!r}"
        if value < self.low or (self.strict and value == self.low):
            low = int(self.low) if float(self.low).is_integer() else self.low
            want = f"> {low}" if self.strict else f">= {low}"
            return f"must be {want}{' or null' if self.nullable else ''}{self.note}, got {value!r}"
        return None


#: The ``lean`` group's numbers (configs/lean/*.yaml); absent keys are skipped (not every backend has all).
LEAN_BOUNDS: tuple[Bound, ...] = (
    Bound("lean.workers", 1, integer=True, nullable=True, note=" (null = one per core but one)"),
    Bound("lean.timeout", 0, strict=True, note=" seconds"),
    Bound("lean.header_timeout", 0, strict=True, note=" seconds"),
    Bound("lean.memory_limit_gb", 0, note=" (0 = no limit)"),
    Bound("lean.max_uses", 1, integer=True),
    Bound("lean.max_rss_gb", 0, strict=True, nullable=True),
)


def _lookup(cfg: Any, key: str) -> tuple[bool, Any]:
    node = cfg
    for part in key.split("."):
        try:
            if part not in node:
                return False, None
            node = node[part]
        except TypeError:
            return False, None
    return True, OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def check_values(cfg: Any, bounds: Sequence[Bound], error: Callable[[str], Exception]) -> None:
    """Raise ``error("<key> must be ..., got ...")`` for the first value out of its bound."""
    for b in bounds:
        present, value = _lookup(cfg, b.key)
        if not present:
            continue
        msg = b.problem(value)
        if msg:
            raise error(f"{b.key} {msg}")
