"""Argument checks for the public calls: a bad argument is a :class:`UsageError`.

Without them a string where an id belongs, a 5,000-digit int, ``NaN`` or
``inf`` surfaced as ``TypeError``/``ValueError``/``OverflowError`` from deep
inside a request builder or aiohttp, or as a request the server had to reject.
"""

from __future__ import annotations

import math

from smartqq.errors import UsageError
from smartqq.events import Event

__all__ = ["MAX_ID", "check_id", "check_number", "check_options", "check_stream"]

MAX_ID = 2**64 - 1
"""uins, gids, dids and group codes are unsigned 64-bit on the wire (PROTOCOL §0.3)."""


def check_id(name: str, value: object) -> int:
    """``value`` as an id: a positive int that fits the protocol's 64 bits."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        shown = repr(value) if not isinstance(value, int) else f"{value.bit_length()}-bit int"
        raise UsageError(f"{name} must be a positive int id (at most 64 bits), not {shown}")
    return value


def check_number(name: str, value: object, *, positive: bool = False) -> float:
    """A finite, non-negative (or positive) real number of seconds, bytes or events."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{name} must be a number, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{name} must be finite")
    if value < 0 or (positive and value == 0):
        raise UsageError(f"{name} must be {'> 0' if positive else '>= 0'}")
    return float(value)


def check_options(
    *,
    qq: object,
    password: object,
    seconds: dict[str, object],
    positive: dict[str, object],
    backoff_cap: object,
    counts: dict[str, object],
) -> None:
    """The ``Client(...)`` arguments, checked before anything is built."""
    if (qq is None) != (password is None):
        raise UsageError("password login needs both qq= and password=")
    if qq is not None:
        check_id("qq", qq)
    if password is not None and not isinstance(password, str):
        raise UsageError("password must be a str")
    for name, value in seconds.items():
        check_number(name, value)
    for name, value in positive.items():
        check_number(name, value, positive=True)
    if check_number("backoff_cap", backoff_cap) < check_number(
        "backoff_base", positive["backoff_base"], positive=True
    ):
        raise UsageError("backoff_cap must be >= backoff_base")
    for name, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise UsageError(f"{name} must be an int >= 1")


def check_stream(event_type: object, buffer: object) -> None:
    """The arguments of ``client.events(...)``."""
    if event_type is not None and not (
        isinstance(event_type, type) and issubclass(event_type, Event)
    ):
        raise UsageError(f"cannot stream {event_type!r}: not an Event class")
    if buffer is not None and (
        isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 1
    ):
        raise UsageError("buffer must be an int >= 1")
