"""Every problem in a config at once, each with its key path, the valid values and a
"did you mean".

msgspec stops at the first mismatch, so a config with three typos took three runs to
fix. :func:`problems` walks the parsed YAML against the config's types (msgspec's own
type information) and collects what is wrong everywhere: unknown keys (with the
closest known one), values outside a fixed set (listing the set, with the closest),
and values of the wrong type (msgspec's message for that value alone). The loader
raises them together as one :class:`ConfigErrors`; what only code can check (files
exist, budgets parse) is checked after, as before.
"""

from __future__ import annotations

import difflib
import os
from typing import Any

import msgspec
from msgspec import inspect

from driftd.errors import ConfigError


class ConfigErrors(ConfigError):
    """Several config problems, one per line, each ``key.path: what is wrong``."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.path, first.problem)
        self.args = ("\n".join(str(e) for e in errors),)

    def __str__(self) -> str:
        if len(self.errors) == 1:
            return str(self.errors[0])
        return f"{len(self.errors)} problems:\n" + "\n".join(f"  {e}" for e in self.errors)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _suggest(value: str, options: list[str]) -> str:
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def problems(data: Any, kind: type, path: str = "") -> list[ConfigError]:
    """What is wrong with ``data`` as a ``kind`` (a msgspec Struct type), everywhere."""
    return _check(data, inspect.type_info(kind), path)


def _check(data: Any, info: inspect.Type, path: str) -> list[ConfigError]:
    if isinstance(info, inspect.StructType):
        return _struct(data, info, path)
    if isinstance(info, inspect.LiteralType):
        if data in info.values:
            return []
        options = [str(v) for v in info.values]
        listed = ", ".join(repr(v) for v in info.values)
        return [ConfigError(path, f"{data!r} is not one of {listed}"
                            f"{_suggest(str(data), options)}")]  # fmt: skip
    if isinstance(info, inspect.DictType) and isinstance(data, dict):
        out = []
        for key, value in data.items():
            out += _check(value, info.value_type, _join(path, str(key)))
        return out
    if isinstance(info, (inspect.ListType, inspect.SetType)) and isinstance(data, list):
        out = []
        for index, value in enumerate(data):
            out += _check(value, info.item_type, f"{path}[{index}]")
        return out
    if isinstance(info, inspect.UnionType):
        return _union(data, info, path)
    if isinstance(info, inspect.Metadata):
        return _check(data, info.type, path)
    return _convert(data, info, path)


def _struct(data: Any, info: inspect.StructType, path: str) -> list[ConfigError]:
    if not isinstance(data, dict):
        return _convert(data, info, path)
    fields = {f.encode_name: f for f in info.fields}
    out = []
    tag = info.tag_field
    for key, value in data.items():
        if key == tag:
            continue
        field = fields.get(key)
        if field is None:
            known = sorted(fields)
            out.append(ConfigError(_join(path, str(key)),
                                   f"unknown key{_suggest(str(key), known)} (known: "
                                   f"{', '.join(known)})"))  # fmt: skip
            continue
        out += _check(value, field.type, _join(path, key))
    for field in info.fields:
        if field.required and field.encode_name not in data:
            out.append(ConfigError(_join(path, field.encode_name), "required, missing"))
    return out


def _union(data: Any, info: inspect.UnionType, path: str) -> list[ConfigError]:
    structs = [t for t in info.types if isinstance(t, inspect.StructType)]
    if isinstance(data, dict) and structs:
        tagged = [t for t in structs if t.tag_field is not None]
        if tagged:
            field = tagged[0].tag_field
            by_tag = {str(t.tag): t for t in tagged}
            chosen = by_tag.get(str(data.get(field)))
            if chosen is None:
                given = data.get(field)
                listed = ", ".join(repr(t) for t in by_tag)
                hint = _suggest(str(given), list(by_tag))
                return [ConfigError(_join(path, field), f"{given!r} is not one of {listed}{hint}")]
            return _struct(data, chosen, path)
        return _struct(data, structs[0], path)
    literals = [t for t in info.types if isinstance(t, inspect.LiteralType)]
    if isinstance(data, str) and literals and not any(
        isinstance(t, inspect.StrType) for t in info.types
    ):
        values = [v for t in literals for v in t.values]
        return _check(data, inspect.LiteralType(tuple(values)), path)
    return _convert(data, info, path)


def _convert(data: Any, info: inspect.Type, path: str) -> list[ConfigError]:
    """Leave a leaf to msgspec itself; keep its message, drop its own path."""
    try:
        msgspec.convert(data, _python_type(info), strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc).partition(" - at `")[0].replace("`", "")
        return [ConfigError(path, message[0].lower() + message[1:] if message else message)]
    except TypeError:  # a type msgspec.inspect describes but convert cannot take alone
        return []
    return []


def _python_type(info: inspect.Type) -> Any:
    """The Python type behind msgspec's description of a leaf."""
    simple = {inspect.IntType: int, inspect.FloatType: float, inspect.StrType: str,
              inspect.BoolType: bool, inspect.NoneType: type(None),
              inspect.AnyType: Any}  # fmt: skip
    for kind, python in simple.items():
        if isinstance(info, kind):
            return python
    if isinstance(info, inspect.StructType):
        return info.cls
    if isinstance(info, inspect.UnionType):
        types = tuple(_python_type(t) for t in info.types)
        out = types[0]
        for t in types[1:]:
            out = out | t
        return out
    if isinstance(info, inspect.ListType):
        return list[_python_type(info.item_type)]
    if isinstance(info, inspect.DictType):
        return dict[_python_type(info.key_type), _python_type(info.value_type)]
    return Any


def unset_secrets(config: msgspec.Struct) -> list[tuple[str, str]]:
    """``(key path, variable)`` of every ``*_env`` setting whose environment variable (or
    ``VAR_FILE``) is unset: the config is valid, but that part will fail when used."""
    out: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                where = _join(path, str(key))
                if str(key).endswith("_env") and isinstance(item, str) and item:
                    if not (os.environ.get(item) or os.environ.get(f"{item}_FILE")):
                        out.append((where, item))
                else:
                    walk(item, where)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(msgspec.to_builtins(config), "")
    return out
