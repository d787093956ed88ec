"""Issue 17 item 2: one-pass poll validation, lazy content, the event registry.

The one-pass path (bytes -> pydantic-core) must give exactly what the careful
path (``json.loads`` then one element at a time) gives; the careful path is
reached by passing the decoded mapping.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from smartqq.content import Content, Face, Font, Text
from smartqq.errors import ProtocolError, UsageError
from smartqq.events import (
    _REGISTRY,
    EVENT_TYPES,
    BuddyMessage,
    Event,
    GroupMessage,
    InputNotify,
    KickMessage,
    MessageEvent,
    PollOutcome,
    UnknownEvent,
    _registry_version,
    parse_event,
    parse_poll,
)
from smartqq.poll_batch import oldest_first

FONT = ["font", {"size": 10, "color": "000000", "style": [0, 0, 0], "name": "宋体"}]


def _snapshot(events: tuple[Event, ...]) -> list[tuple[str, dict[str, Any]]]:
    return [(type(e).__name__, e.model_dump(mode="json")) for e in events]


def _both_paths(body: dict[str, Any]) -> tuple[Any, Any]:
    raw = json.dumps(body).encode()
    return parse_poll(raw), parse_poll(json.loads(raw))


def test_fast_path_equals_careful_path_on_a_mixed_batch() -> None:
    body = {
        "retcode": 0,
        "result": [
            {"poll_type": "kick_message", "value": {"way": "poll", "reason": "elsewhere"}},
            {
                "poll_type": "group_message",
                "value": {
                    "msg_id": 7,
                    "from_uin": 11,
                    "send_uin": 12,
                    "group_code": 13,
                    "time": 1_700_000_002,
                    "content": [FONT, "hi ", ["face", 14]],
                    "unknown_field": [1, 2],
                },
            },
            {"poll_type": "brand_new_type", "value": {"a": 1}},
            {"poll_type": "message", "value": {"from_uin": "not-a-number", "msg_id": 3}},
            {
                "poll_type": "message",
                "value": {
                    "msg_id": 5,
                    "from_uin": 2,
                    "time": 1_700_000_001,
                    "content": [FONT, "a "],
                },
            },
        ],
    }
    fast, careful = _both_paths(body)
    assert fast.outcome is PollOutcome.EVENTS
    assert _snapshot(fast.events) == _snapshot(careful.events)
    kinds = {type(e) for e in fast.events}
    assert {BuddyMessage, GroupMessage, KickMessage, UnknownEvent} == kinds
    unknown = [e for e in fast.events if isinstance(e, UnknownEvent)]
    assert {e.kind for e in unknown} == {"brand_new_type", "message"}
    refused = next(e for e in unknown if e.kind == "message")
    assert "from_uin" in (refused.error or "")
    group = next(e for e in fast.events if isinstance(e, GroupMessage))
    assert group.text == "hi "  # the trailing space belongs to a face-ended run
    assert group.content.segments == (Text("hi "), Face(14))
    assert group.model_extra == {"unknown_field": [1, 2]}


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["12", " 7 ", "1e3", "0x10", "\ud800"])
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
message_values = st.fixed_dictionaries(
    {"msg_id": st.integers(0, 50), "from_uin": st.integers(0, 2**40)},
    optional={
        "time": st.integers(0, 5) | st.none(),
        "to_uin": values,
        "send_uin": st.integers(0, 9),
        "content": st.lists(
            st.one_of(st.text(max_size=4), st.just(FONT), st.tuples(st.just("face"), values)),
            max_size=4,
        ).map(lambda xs: [list(x) if isinstance(x, tuple) else x for x in xs])
        | values,
        "extra": values,
    },
)
elements = st.fixed_dictionaries(
    {
        "poll_type": st.sampled_from(
            ["message", "group_message", "discu_message", "kick_message", "input_notify", "zz"]
        ),
        "value": message_values | values,
    }
)


@settings(max_examples=200)
@given(st.lists(elements, max_size=8))
def test_fast_path_equals_careful_path(result: list[dict[str, Any]]) -> None:
    fast, careful = _both_paths({"retcode": 0, "result": result})
    assert fast.outcome is careful.outcome
    assert len(fast.events) == len(result)
    assert _snapshot(fast.events) == _snapshot(careful.events)


@pytest.mark.parametrize(
    "value",
    [
        '{"msg_id": 1, "from_uin": Infinity}',
        '{"msg_id": 1, "from_uin": 1e400}',
        '{"msg_id": 1, "from_uin": NaN}',
        '{"msg_id": 1, "from_uin": 2, "content": ' + "[" * 3000 + "]" * 3000 + "}",
    ],
)
def test_hostile_numbers_and_nesting_are_typed(value: str) -> None:
    body = '{"retcode":0,"result":[{"poll_type":"message","value":' + value + "}]}"
    try:
        result = parse_poll(body.encode())
    except ProtocolError:
        return
    assert len(result.events) == 1
    assert isinstance(result.events[0], UnknownEvent | BuddyMessage)
    if isinstance(result.events[0], BuddyMessage):
        assert isinstance(result.events[0].text, str)


def test_infinity_in_a_font_or_picture_is_not_an_overflow() -> None:
    body = (
        '{"retcode":0,"result":[{"poll_type":"group_message","value":{"msg_id":1,'
        '"from_uin":2,"content":[["font",{"size":Infinity,"style":[Infinity,0,0]}],'
        '["cface",{"name":"a","file_id":-Infinity}],"x"]}}]}'
    )
    (event,) = parse_poll(body).events
    assert isinstance(event, GroupMessage)
    assert event.content.font == Font(size=10)
    assert event.text == "x"
    assert len(event.content.segments) == 2


def test_huge_integers_stay_integers() -> None:
    big = 10**30
    body = json.dumps(
        {
            "retcode": 0,
            "result": [{"poll_type": "message", "value": {"msg_id": 1, "from_uin": big}}],
        }
    )
    (event,) = parse_poll(body).events
    assert isinstance(event, BuddyMessage)
    assert event.from_uin == big


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"retcode":0,"result":' + b"[" * 100_000])
def test_deep_bodies_raise_protocol_error(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_poll(body)


# -- lazy content -----------------------------------------------------------------------

wire_elements = st.lists(
    st.one_of(
        st.text(max_size=5),
        st.sampled_from([" ", "a ", "  "]),
        st.just(FONT),
        st.just(["font"]),
        st.tuples(st.just("face"), st.integers(0, 200) | st.text(max_size=3)).map(list),
        st.tuples(st.just("cface"), st.text(max_size=3)).map(list),
        values,
    ),
    max_size=6,
)


@given(wire_elements)
def test_text_read_off_the_wire_equals_text_of_the_segments(wire: list[Any]) -> None:
    lazy = Content.parse(wire)
    parsed = Content.parse(wire)
    _ = parsed.segments  # forces segments: text is then joined from them
    assert (
        lazy.text == parsed.text == "".join(s.text for s in parsed.segments if isinstance(s, Text))
    )
    assert lazy == parsed


def test_content_is_parsed_on_first_use_and_cached() -> None:
    event = parse_event(
        {"poll_type": "message", "value": {"msg_id": 1, "from_uin": 2, "content": [FONT, "hi "]}}
    )
    assert isinstance(event, MessageEvent)
    assert event.content._segments is None  # nothing built by parsing
    assert event.text == "hi"
    assert event.content._segments is None  # text alone builds no segments
    first = event.content.segments
    assert first == (Text("hi"),)
    assert event.content.segments is first  # cached
    assert event.content.font == Font()


def _one_message(content: Any) -> MessageEvent:
    body = {
        "retcode": 0,
        "result": [
            {
                "poll_type": "message",
                "value": {"msg_id": 1, "from_uin": 2, "time": 3, "content": content},
            }
        ],
    }
    (event,) = parse_poll(json.dumps(body).encode()).events
    assert isinstance(event, BuddyMessage)
    return event


def test_from_json_the_wire_array_is_wrapped_on_first_read_only() -> None:
    wire = [FONT, "hi ", ["face", 14]]
    event = _one_message(wire)
    # One pass from the bytes left the array itself: no call into Python per message.
    assert event.__dict__["content"] == wire
    assert type(event.__dict__["content"]) is list
    first = event.content
    assert isinstance(first, Content)
    assert first.raw == tuple(wire)
    assert event.content is first  # wrapped once, then kept
    assert event.__dict__["content"] is first
    assert event.text == "hi "  # (the text pieces; the trailing space is not the last one)


def test_reading_content_changes_no_comparison_hash_dump_or_repr() -> None:
    wire = [FONT, "same ", ["face", 14]]
    unread, read = _one_message(wire), _one_message(wire)
    _ = read.content
    careful = parse_event(
        json.loads(
            json.dumps(
                {
                    "poll_type": "message",
                    "value": {"msg_id": 1, "from_uin": 2, "time": 3, "content": wire},
                }
            )
        )
    )
    assert type(careful.__dict__["content"]) is Content  # the Python path wraps at once
    dumps = {e.model_dump_json() for e in (unread, read, careful)}
    assert len(dumps) == 1
    fresh = _one_message(wire)
    assert fresh == read
    assert read == fresh
    assert careful == fresh
    assert hash(_one_message(wire)) == hash(read) == hash(careful)
    assert "content=Content(" in repr(_one_message(wire))
    assert _one_message([FONT, "other"]) != read


def test_content_that_is_not_an_array_is_still_checked_while_building() -> None:
    text = json.dumps([FONT, "from a JSON string"])
    event = _one_message(text)
    assert type(event.__dict__["content"]) is Content
    assert event.text == "from a JSON string"
    with pytest.raises(ValueError, match="content"):
        BuddyMessage.model_validate_json('{"msg_id": 1, "from_uin": 2, "content": "[not json"}')


def test_content_is_a_field_like_any_other() -> None:
    assert list(BuddyMessage.model_fields) == list(MessageEvent.model_fields)
    assert BuddyMessage.model_fields["content"].default == Content()
    with pytest.raises(AttributeError):
        _ = BuddyMessage.content  # as for every pydantic field: no class attribute
    built = BuddyMessage(msg_id=1, from_uin=2, content=Content.of("hi"))
    assert built.text == "hi"
    assert BuddyMessage(msg_id=1, from_uin=2).content == Content()
    with pytest.raises(ValidationError):
        built.content = Content.of("changed")  # type: ignore[misc]

    class Later(MessageEvent):  # a user's subclass gets the same field and wrapping
        note: str = ""

    later = Later.model_validate_json(json.dumps({"msg_id": 1, "from_uin": 2, "content": ["x"]}))
    assert type(later.__dict__["content"]) is list
    assert later.content.raw == ("x",)
    assert later.text == "x"


def test_content_stays_immutable() -> None:
    c = Content.parse([FONT, "x"])
    with pytest.raises(AttributeError):
        c.segments = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        c.anything = 1  # type: ignore[attr-defined]


def test_a_dumped_event_validates_back() -> None:
    event = parse_event(
        {
            "poll_type": "message",
            "value": {"msg_id": 1, "from_uin": 2, "content": [FONT, "hi", ["face", 14], " "]},
        }
    )
    dumped = event.model_dump(mode="json")
    assert dumped["content"] == [FONT, "hi", ["face", 14], " "]
    again = BuddyMessage.model_validate(dumped)
    assert again.content == event.content
    built = BuddyMessage(msg_id=1, from_uin=2, content=Content.of("yo", Face(1), font=Font()))
    assert BuddyMessage.model_validate(built.model_dump()).content == built.content


# -- the registry -----------------------------------------------------------------------


def test_registry_holds_every_wire_type_and_no_client_side_event() -> None:
    assert EVENT_TYPES["message"] is BuddyMessage
    assert EVENT_TYPES["kick_message"] is KickMessage
    import smartqq.legacy.tqq.events  # noqa: F401  (another channel's events: not registered)

    wire_types = {
        "message", "group_message", "discu_message", "sess_message", "buddies_status_change",
        "kick_message", "input_notify", "shake_message", "system_message", "sys_g_msg",
        "group_web_message", "file_message", "filesrv_transfer", "push_offfile",
        "notify_offfile", "av_request", "av_refuse", "tips", "buddylist_change", "nick_change",
    }  # fmt: skip
    assert wire_types <= set(EVENT_TYPES)
    assert all(EVENT_TYPES[t].__module__ == "smartqq.event_types" for t in wire_types)
    assert not any(name.startswith("tqq") for name in EVENT_TYPES)
    assert all(
        issubclass(cls, Event) and cls.poll_type == name for name, cls in EVENT_TYPES.items()
    )
    with pytest.raises(TypeError):
        EVENT_TYPES["x"] = Event  # type: ignore[index]


def test_a_class_defined_later_is_parsed_by_the_next_poll() -> None:
    body = b'{"retcode":0,"result":[{"poll_type":"perf_test_event","value":{"level":3}}]}'
    (before,) = parse_poll(body).events
    assert isinstance(before, UnknownEvent)

    class PerfTestEvent(Event):
        poll_type: ClassVar[str] = "perf_test_event"
        level: int

    (after,) = parse_poll(body).events
    assert isinstance(after, PerfTestEvent)
    assert after.level == 3


# -- ordering ---------------------------------------------------------------------------


def _reference_order(events: list[Event]) -> list[Event]:
    keyed = []
    last = 0
    for idx, ev in enumerate(events):
        t = getattr(ev, "time", 0)
        t = t if isinstance(t, int) and not isinstance(t, bool) else 0
        t = t or last
        last = t
        m = getattr(ev, "msg_id", 0)
        m = m if isinstance(m, int) and not isinstance(m, bool) else 0
        keyed.append(((t, m, idx), ev))
    return [ev for _, ev in sorted(keyed, key=lambda kv: kv[0])]


class _FloatTime(Event):  # no poll_type: not registered, only built here
    time: float = 0.0
    msg_id: int = 0


def _ordering_event(t: int, m: int, kind: int) -> Event:
    # Both fields typed ints (the fast loop), both extras (KickMessage), or a time
    # that is a declared field but not an int (counts as none, like an extra).
    if kind == 0:
        return BuddyMessage(msg_id=m, from_uin=1, time=t)
    if kind == 1:
        return KickMessage(time=t, msg_id=m)
    return _FloatTime(time=float(t), msg_id=m)


@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(-3, 4), st.sampled_from([0, 0, 0, 1, 2])),
        max_size=10,
    )
)
def test_oldest_first_matches_a_plain_sort(spec: list[tuple[int, int, int]]) -> None:
    events = [_ordering_event(t, m, kind) for t, m, kind in spec]
    assert list(oldest_first(events)) == _reference_order(events)


def test_a_poll_type_is_refined_by_a_subclass_never_taken_by_another_class() -> None:
    with pytest.raises(UsageError):

        class Impostor(Event):
            poll_type: ClassVar[str] = "input_notify"

    assert EVENT_TYPES["input_notify"] is InputNotify

    class Typing(InputNotify):
        poll_type: ClassVar[str] = "input_notify"

    try:
        body = b'{"retcode":0,"result":[{"poll_type":"input_notify","value":{"from_uin":5}}]}'
        (event,) = parse_poll(body).events
        assert type(event) is Typing
        assert isinstance(event, InputNotify)
    finally:
        _REGISTRY["input_notify"] = InputNotify
        _registry_version[0] += 1
