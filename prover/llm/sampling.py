"""The one builder of :class:`~prover.llm.generator.SamplingParams` from a config node.

Every stage that reads sampling settings from config (``prover.sampling``, the formalizer's
``translate``/``backtranslate``/``judge`` nodes, ...) builds them here, so an unknown key, a
wrong type and an out-of-range value get the same one-line error naming the node everywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from prover.llm.generator import SamplingParams
from prover.settings import SamplingSettings, settings_from

#: the keys a sampling node may set (the fields of SamplingParams)
SAMPLING_KEYS: tuple[str, ...] = tuple(SamplingParams.__dataclass_fields__)


def sampling_from_config(
    node: Any,
    *,
    what: str = "sampling",
    defaults: Mapping[str, Any] | None = None,
    error: type[Exception] = ValueError,
    **force: Any,
) -> SamplingParams:
    """SamplingParams from ``defaults``, then the node's keys (null keeps the default), then ``force``.

    ``what`` names the node in errors (``prover.sampling``); ``error`` is the caller's config error type.
    """
    if isinstance(node, (SamplingParams, SamplingSettings)):
        node = dataclasses.asdict(node)
    data = node if node is not None else {}
    if not isinstance(data, Mapping):
        raise error(f"{what} must be a mapping of sampling settings, got {type(data).__name__}")
    unknown = sorted(set(data) - set(SAMPLING_KEYS))
    if unknown:
        raise error(f"{what}: unknown key(s) {unknown}; expected some of {list(SAMPLING_KEYS)}")
    values = {**dict(defaults or {}), **{k: v for k, v in data.items() if v is not None}, **force}
    return settings_from(SamplingParams, values, what, error=error)


def with_stops(sampling: SamplingParams, stops: Sequence[str], **changes: Any) -> SamplingParams:
    """``sampling`` with ``stops`` appended to its stop strings (each once, order kept) and ``changes``.

    The one way a strategy adds its prompt format's stop strings to the configured ones.
    """
    merged = list(dict.fromkeys([*sampling.stop, *stops]))
    return dataclasses.replace(sampling, stop=merged, **changes)
