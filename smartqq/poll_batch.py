"""One-pass reading of a ``poll2`` batch: bytes to typed events in pydantic-core.

Design note. The common answer, ``{"retcode":0,"result":[{"poll_type":…,
"value":{…}}, …]}``, is validated by one pydantic-core validator straight from
the body bytes: the envelope, a tagged union on ``poll_type`` over the
registered event classes, and every event model, with no intermediate Python
``dict`` per element and no Python call per field. Message ``content`` stays
the wire array until a handler reads it (:class:`smartqq.content.Content`).

The fast path only has to be right, not complete: anything it does not
accept (a non-zero or non-integer retcode, JSON that pydantic-core's parser
refuses such as ``Infinity`` or very deep nesting, a batch element that is not
an object with a string ``poll_type``) returns ``None`` and the caller falls
back to the careful path, which reads the body with :func:`json.loads` and
classifies each element on its own. An element of a known type whose value
the model refuses still comes out of the fast path (as an untyped element) so
that only that element is re-read, never the rest of the batch.

It also holds what a poll answer means (:class:`PollOutcome`, read from the
retcode table in :mod:`smartqq.protocol.retcodes`) and the oldest-first
ordering. It does not import :mod:`smartqq.events` (which imports it): the
registry of event classes is handed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from operator import itemgetter
from typing import Annotated, Any

from pydantic import BaseModel, GetCoreSchemaHandler, TypeAdapter, ValidationError
from pydantic_core import core_schema

from .protocol import retcodes

__all__ = ["BatchReader", "PollOutcome", "batch_events", "oldest_first", "outcome_for"]


class PollOutcome(StrEnum):
    """What a poll answer means for the poll loop."""

    EVENTS = "events"
    IDLE = "idle"
    NEW_PTWEBQQ = "new_ptwebqq"
    PROBE = "needs_online_buddies_probe"
    RELINK = "relink"
    RELOGIN = "relogin"
    UNKNOWN = "unknown"


def outcome_for(retcode: int) -> PollOutcome:
    """The outcome of a non-zero poll retcode, from the one retcode table."""
    return PollOutcome(retcodes.poll_kind(retcode))


class _BatchSchema:
    """``Annotated`` metadata that builds the batch validator from the registry."""

    def __init__(self, classes: Mapping[str, type[BaseModel]]) -> None:
        self.classes = dict(classes)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def typed(cls: type[BaseModel]) -> core_schema.CoreSchema:
            # The class already says which poll_type it is: only the value is kept, as
            # "event" (an untyped element keeps "poll_type" and "value": one key says
            # which kind an element is, without an isinstance per element).
            event = core_schema.typed_dict_field(
                handler.generate_schema(cls), validation_alias="value"
            )
            return core_schema.typed_dict_schema({"event": event})

        tagged = core_schema.tagged_union_schema(
            {name: typed(cls) for name, cls in self.classes.items()},
            discriminator="poll_type",
        )
        # Tried second: an unknown poll_type, or a known one whose value the model
        # refused (the caller re-reads just that element for the error message).
        untyped = core_schema.typed_dict_schema(
            {
                "poll_type": core_schema.typed_dict_field(core_schema.str_schema()),
                "value": core_schema.typed_dict_field(core_schema.any_schema()),
            }
        )
        return core_schema.typed_dict_schema(
            {
                "retcode": core_schema.typed_dict_field(core_schema.int_schema(strict=True)),
                "result": core_schema.typed_dict_field(
                    core_schema.list_schema(
                        core_schema.union_schema([tagged, untyped], mode="left_to_right")
                    )
                ),
                "errmsg": core_schema.typed_dict_field(core_schema.any_schema(), required=False),
                "retmsg": core_schema.typed_dict_field(core_schema.any_schema(), required=False),
            }
        )


class BatchReader:
    """The fast path of ``parse_poll``; rebuilt when the registry changes.

    ``registry`` is the live poll_type -> class mapping and ``version`` a
    callable that changes whenever a class is registered (so a user-defined
    event class is picked up by the next poll).
    """

    def __init__(self, registry: Mapping[str, type[BaseModel]], version: Callable[[], int]) -> None:
        self._registry = registry
        self._version = version
        self._built_for = -1
        self._adapter: TypeAdapter[dict[str, Any]] | None = None

    def _validator(self) -> TypeAdapter[dict[str, Any]]:
        version = self._version()
        if self._adapter is None or version != self._built_for:
            schema = _BatchSchema(self._registry)
            self._adapter = TypeAdapter(Annotated[dict[str, Any], schema])
            self._built_for = version
        return self._adapter

    def read(self, body: bytes | str) -> dict[str, Any] | None:
        """``{"retcode": 0, "result": [element…], …}`` or ``None`` (use the careful path).

        An element the models accepted is ``{"event": model}``; any other one
        ``{"poll_type": str, "value": anything}``, for :func:`batch_events`'s
        ``careful`` reader.
        """
        try:
            envelope = self._validator().validate_json(body)
        except (ValidationError, ValueError, RecursionError, OverflowError):
            return None
        if envelope["retcode"] != 0:
            return None
        return envelope


def _int_field(event: BaseModel, name: str) -> int:
    # Typed fields live in __dict__; unknown wire fields in __pydantic_extra__
    # and may be anything.
    value = event.__dict__.get(name)
    if value is None:
        extra = event.__pydantic_extra__
        if extra:
            value = extra.get(name)
    if value.__class__ is int:
        return value
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


_TYPED = itemgetter("event")


def batch_events(elements: list[dict[str, Any]], careful: Callable[[Any], Any]) -> tuple[Any, ...]:
    """The events of a batch :meth:`BatchReader.read` returned, oldest first.

    An element the models did not take goes through ``careful`` (which makes it
    an ``UnknownEvent`` or reports why its model refused it).
    """
    try:  # the common batch: every element typed, taken out in C
        events = list(map(_TYPED, reversed(elements)))
    except KeyError:
        events = [el["event"] if "event" in el else careful(el) for el in reversed(elements)]
    return oldest_first(events)


def oldest_first(events: list[Any]) -> tuple[Any, ...]:
    """Events (given oldest first) ordered by (time, msg_id, arrival).

    An event without a ``time`` takes the time of the one before it. Batches
    are nearly always in order already, so the sort is skipped when a linear
    check finds nothing out of place.
    """
    last_time = 0
    prev_id = -1
    try:
        # Messages, the common batch: both ints sit in the fields.
        for ev in events:
            fields = ev.__dict__
            t = fields["time"]
            m = fields["msg_id"]
            if t.__class__ is not int or m.__class__ is not int:
                return _checked(events)
            if not t:
                t = last_time
            if t < last_time or (t == last_time and m < prev_id):
                return _sorted(events)
            last_time, prev_id = t, m
    except KeyError:  # an event without them among its fields
        return _checked(events)
    return tuple(events)


def _checked(events: list[Any]) -> tuple[Any, ...]:
    # oldest_first for events of any kind: a missing or non-int time or msg_id is 0.
    last_time = 0
    prev_id = -1
    for ev in events:
        t = _int_field(ev, "time") or last_time
        m = _int_field(ev, "msg_id")
        if t < last_time or (t == last_time and m < prev_id):
            return _sorted(events)
        last_time, prev_id = t, m
    return tuple(events)


def _sorted(events: list[Any]) -> tuple[Any, ...]:
    keyed = []
    last_time = 0
    for idx, ev in enumerate(events):
        t = _int_field(ev, "time") or last_time
        last_time = t
        keyed.append(((t, _int_field(ev, "msg_id"), idx), ev))
    keyed.sort(key=lambda kv: kv[0])
    return tuple(ev for _, ev in keyed)
