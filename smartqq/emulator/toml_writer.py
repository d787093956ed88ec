"""Just enough TOML output to save a :class:`World` (the standard library only reads TOML).

Top-level lists of tables become ``[[name]]`` sections; nested lists and
tables are written inline. Strings use TOML basic-string escapes, which are
JSON's escapes plus DEL, so ``tomllib`` reads back exactly what was written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(key: object) -> str:
    text = str(key)
    return text if _BARE_KEY.match(text) else _string(text)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        body = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
        return "{" + body + "}" if body else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _table(data: Mapping[str, Any]) -> list[str]:
    return [f"{_key(k)} = {_value(v)}" for k, v in data.items() if v is not None]


def dumps(data: Mapping[str, Any]) -> str:
    """``data`` as a TOML document (``None`` values are left out, as TOML has no null)."""
    scalars = {k: v for k, v in data.items() if not _is_table_list(v)}
    lines = _table(scalars)
    for name, items in data.items():
        if _is_table_list(items):
            for item in items:
                lines += ["", f"[[{_key(name)}]]", *_table(item)]
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)
