"""Typed events from ``poll2`` (PROTOCOL §6.3) and :func:`parse_poll` (§6.2, §10).

Events form a class hierarchy; a handler registered for a base class sees
every subclass (``MessageEvent`` sees buddy, group, discussion and sess
messages)::

    Event
    ├── MessageEvent ── BuddyMessage, GroupMessage, DiscuMessage, SessMessage
    ├── BuddiesStatusChange, KickMessage, InputNotify, ShakeMessage,
    │   SystemMessage, SysGroupMessage, GroupWebMessage, FileMessage,
    │   FileServerTransfer, PushOfflineFile, NotifyOfflineFile, AVRequest,
    │   AVRefuse, Tips, BuddylistChange, NickChange
    ├── UnknownEvent                      -- any other poll_type, value kept raw
    └── LifecycleEvent ── LoggedIn, Disconnected, Reconnected, SessionExpired

A class that declares ``poll_type`` registers itself (``EVENT_TYPES``); the
parser validates a whole poll body in one pydantic-core pass over that
registry (:mod:`smartqq.poll_batch`) and message ``content`` is parsed on first
use. ``parse_poll`` raises only :class:`~smartqq.errors.ProtocolError`; a
malformed element becomes an :class:`UnknownEvent` carrying ``error`` without
costing the rest of the batch. Events come out oldest first by (time, msg_id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .errors import ProtocolError
from .event_types import (
    _REGISTRY,
    EVENT_TYPES,
    AVRefuse,
    AVRequest,
    BuddiesStatusChange,
    BuddylistChange,
    BuddyMessage,
    Disconnected,
    DiscuMessage,
    Event,
    FileMessage,
    FileServerTransfer,
    GroupMessage,
    GroupWebMessage,
    InputNotify,
    KickMessage,
    LifecycleEvent,
    LoggedIn,
    MessageEvent,
    NickChange,
    NotifyOfflineFile,
    PushOfflineFile,
    Reconnected,
    Replier,
    SessionExpired,
    SessMessage,
    ShakeMessage,
    SysGroupMessage,
    SystemMessage,
    Tips,
    UnknownEvent,
    _registry_version,
)
from .poll_batch import BatchReader, PollOutcome, batch_events, oldest_first, outcome_for
from .protocol.parsers import decode_json, snippet

__all__ = [
    "EVENT_TYPES",
    "AVRefuse",
    "AVRequest",
    "BuddiesStatusChange",
    "BuddyMessage",
    "BuddylistChange",
    "Disconnected",
    "DiscuMessage",
    "Event",
    "FileMessage",
    "FileServerTransfer",
    "GroupMessage",
    "GroupWebMessage",
    "InputNotify",
    "KickMessage",
    "LifecycleEvent",
    "LoggedIn",
    "MessageEvent",
    "NickChange",
    "NotifyOfflineFile",
    "PollOutcome",
    "PollResult",
    "PushOfflineFile",
    "Reconnected",
    "Replier",
    "SessMessage",
    "SessionExpired",
    "ShakeMessage",
    "SysGroupMessage",
    "SystemMessage",
    "Tips",
    "UnknownEvent",
    "parse_event",
    "parse_poll",
]


# What a hostile value can raise from inside a validator that pydantic does not wrap.
_HOSTILE = (ArithmeticError, RecursionError, ValueError, TypeError, UnicodeError)


def parse_event(element: Any) -> Event:
    """One ``{"poll_type":…,"value":{…}}`` element as a typed event (never raises)."""
    if not isinstance(element, Mapping):
        return UnknownEvent(value=element, error="batch element is not an object")
    poll_type = element.get("poll_type")
    value = element.get("value")
    if not isinstance(poll_type, str):
        return UnknownEvent(value=dict(element), error="batch element has no poll_type")
    cls = _REGISTRY.get(poll_type)
    if cls is None:
        return UnknownEvent(type_name=poll_type, value=value)
    if not isinstance(value, Mapping):
        return UnknownEvent(type_name=poll_type, value=value, error="value is not an object")
    try:
        return cls.model_validate(value)
    except (ValidationError, ProtocolError) as exc:
        return UnknownEvent(type_name=poll_type, value=value, error=_reason(exc))
    except _HOSTILE as exc:  # Infinity in a font size, content nested 100k deep...
        return UnknownEvent(type_name=poll_type, value=None, error=type(exc).__name__)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


@dataclass(frozen=True, slots=True)
class PollResult:
    retcode: int
    outcome: PollOutcome
    events: tuple[Event, ...] = ()
    ptwebqq: str | None = None
    errmsg: str = ""

    def __repr__(self) -> str:
        return (
            f"PollResult(retcode={self.retcode}, outcome={self.outcome.value}, "
            f"events={len(self.events)})"
        )


_READER = BatchReader(_REGISTRY, lambda: _registry_version[0])


def parse_poll(body: bytes | str | Mapping[str, Any]) -> PollResult:
    """Classify one poll2 answer and parse its events (oldest first)."""
    if isinstance(body, Mapping):
        obj: Any = body
        raw: bytes | str = repr(dict(body))[:200]
    elif isinstance(body, bytes | str):
        envelope = _READER.read(body)
        if envelope is not None:  # one pass: typed events straight from the bytes
            # An element that is not typed (unknown type, or refused by its model)
            # is read again on its own, the careful way.
            elements = envelope["result"]
            errmsg = str(envelope.get("errmsg") or envelope.get("retmsg") or "")
            if not elements:
                return PollResult(0, PollOutcome.IDLE, errmsg=errmsg)
            events = batch_events(elements, parse_event)
            return PollResult(0, PollOutcome.EVENTS, events, errmsg=errmsg)
        obj = decode_json(body)
        raw = body
    else:
        raise ProtocolError("poll2 answer is not a JSON object", repr(body)[:120])
    if not isinstance(obj, Mapping):
        raise ProtocolError("poll2 answer is not a JSON object", snippet(raw))
    code = obj.get("retcode")
    if isinstance(code, bool) or not isinstance(code, int | str):
        raise ProtocolError("poll2 answer has no integer retcode", snippet(raw))
    try:
        retcode = int(code)
    except ValueError:
        raise ProtocolError("poll2 retcode is not an integer", snippet(raw)) from None
    errmsg = str(obj.get("errmsg") or obj.get("retmsg") or "")
    if retcode == 0:
        result = obj.get("result")
        if result is None or isinstance(result, str):
            return PollResult(0, PollOutcome.IDLE, errmsg=errmsg)
        if not isinstance(result, list):
            raise ProtocolError("poll2 result is neither a list nor a string", snippet(raw))
        if not result:
            return PollResult(0, PollOutcome.IDLE, errmsg=errmsg)
        # newest first on the wire: walk oldest-first, then order by (time, msg_id).
        ordered = [parse_event(el) for el in reversed(result)]
        return PollResult(0, PollOutcome.EVENTS, oldest_first(ordered), errmsg=errmsg)
    if retcode == 116:
        p = obj.get("p")
        if not isinstance(p, str):
            raise ProtocolError("poll2 retcode 116 without a string p", snippet(raw))
        return PollResult(116, PollOutcome.NEW_PTWEBQQ, ptwebqq=p, errmsg=errmsg)
    return PollResult(retcode, outcome_for(retcode), errmsg=errmsg)
