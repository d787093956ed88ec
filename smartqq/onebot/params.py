"""Action results and parameter reading shared by the action modules.

Design note: parameters arrive as JSON values, or as strings from a query
string or a form; the spec asks implementations to parse strings into the
type an action expects, so ``"10002"`` is a number and ``"true"`` a boolean.
A value of the wrong type is a failed call with retcode 100, never an
exception that escapes to a transport.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "RET_ASYNC",
    "RET_BAD_PARAM",
    "RET_FAILED",
    "RET_NO_DATA",
    "RET_NO_SESSION",
    "ActionError",
    "failed",
    "get_bool",
    "get_int",
    "get_str",
    "ok",
]

RET_ASYNC = 1
RET_BAD_PARAM = 100  # a parameter is missing or has the wrong type
RET_NO_DATA = 102  # no such user, group or message
RET_FAILED = 103  # the operation failed, or SmartQQ cannot do it
RET_NO_SESSION = 104  # the SmartQQ session is not usable (logged out, expired)


class ActionError(Exception):
    """An action failed; ``retcode`` and ``message`` go into the answer."""

    def __init__(self, retcode: int, message: str) -> None:
        super().__init__(message)
        self.retcode = retcode
        self.message = message


def ok(data: Any = None) -> dict[str, Any]:
    return {"status": "ok", "retcode": 0, "data": data, "message": "", "wording": ""}


def failed(retcode: int, message: str) -> dict[str, Any]:
    return {
        "status": "failed",
        "retcode": retcode,
        "data": None,
        "message": message,
        "wording": message,
    }


def get_int(params: dict[str, Any], key: str, default: int | None = None) -> int:
    value = params.get(key)
    if value is None or value == "":
        if default is None:
            raise ActionError(RET_BAD_PARAM, f"missing parameter {key!r}")
        return default
    if isinstance(value, bool):
        raise ActionError(RET_BAD_PARAM, f"parameter {key!r} must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ActionError(RET_BAD_PARAM, f"parameter {key!r} must be a number")


def get_bool(params: dict[str, Any], key: str, default: bool) -> bool:
    value = params.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise ActionError(RET_BAD_PARAM, f"parameter {key!r} must be a boolean")


def get_str(params: dict[str, Any], key: str, default: str | None = None) -> str:
    value = params.get(key)
    if value is None:
        if default is None:
            raise ActionError(RET_BAD_PARAM, f"missing parameter {key!r}")
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ActionError(RET_BAD_PARAM, f"parameter {key!r} must be a string")
