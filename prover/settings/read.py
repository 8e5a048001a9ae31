"""Reading a settings dataclass from a plain mapping, naming the key in every error.

Why: notebooks pass dicts, the stages hold composed ``DictConfig`` nodes, and JSON records carry objects;
all of them become the same typed settings here, so no code below the apps needs OmegaConf.
"""

# OmegaConf 2.3 reads ``Optional[X]``/``Union`` but not PEP 604 ``X | None`` in a structured config.
# ruff: noqa: UP007, UP045

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, Union

__all__ = ["SettingsError", "settings_from"]


class SettingsError(ValueError):
    """A settings node is unusable; the message names the key (``lean.timeout must be a number``)."""


T = TypeVar("T")


def settings_from(cls: type[T], data: Any, where: str, *, error: type[Exception] = SettingsError) -> T:
    """``cls`` from ``data``: an instance of it (returned as is), ``None`` (the defaults) or a mapping.

    A mapping's unknown key, a value of the wrong type and a value a class refuses (``__post_init__``)
    raise ``error`` (default :class:`SettingsError`; a caller passes its own config error type) naming the
    key under ``where`` (``prover.budget.samples``). A null value keeps the field's default unless the field
    is optional. Nested dataclasses are read the same way; lists and mappings (a ``ListConfig``/``DictConfig``
    too) become plain lists and dicts.
    """
    try:
        return _read(cls, data, where)
    except SettingsError as e:
        if error is SettingsError:
            raise
        raise error(str(e)) from None


def _read(cls: type[T], data: Any, where: str) -> T:
    if isinstance(data, cls):
        return data
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise SettingsError(f"{where or 'the config'} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(str(k) for k in data if k not in fields)
    if unknown:
        raise SettingsError(f"{where or 'the config'}: unknown key(s) {unknown}; expected some of {sorted(fields)}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        hint = hints[key]
        optional = _is_optional(hint)
        if value is None and not optional:
            continue  # null keeps the default
        values[key] = None if value is None else _coerce(_strip_optional(hint), value, f"{where}.{key}" if where else key)
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        message = str(e).replace("SamplingParams.", "")  # the class's own wording; ``where`` names the node
        first = message.split(" ", 1)[0]
        if not where:
            raise SettingsError(message) from None
        raise SettingsError(f"{where}.{message}" if first in fields else f"{where}: {message}") from None


def _is_optional(hint: Any) -> bool:
    return typing.get_origin(hint) is Union and type(None) in typing.get_args(hint)


def _strip_optional(hint: Any) -> Any:
    if _is_optional(hint):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else Any
    return hint


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """``value`` as ``hint`` (the few kinds the settings use), or a SettingsError naming ``where``."""
    if dataclasses.is_dataclass(hint):
        return _read(hint, value, where)  # type: ignore[arg-type]
    origin = typing.get_origin(hint)
    if origin is list:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise SettingsError(f"{where} must be a list, got {value!r}")
        (item,) = typing.get_args(hint) or (Any,)
        return [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise SettingsError(f"{where} must be a mapping, got {value!r}")
        return {str(k): _plain(v) for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise SettingsError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise SettingsError(f"{where} must be an integer, got {value!r}")
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"{where} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if isinstance(value, (Mapping, list, tuple)):
            raise SettingsError(f"{where} must be a string, got {value!r}")
        return str(value)
    return _plain(value)


def _plain(value: Any) -> Any:
    """Plain Python containers (a DictConfig/ListConfig node becomes a dict/list; values resolved)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_plain(v) for v in value]
    return value
