"""parse_poll over every shape of PROTOCOL §6."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartqq.content import CustomFace, Face, OfflinePic, Text, UnknownSegment
from smartqq.errors import ProtocolError, UsageError
from smartqq.events import (
    BuddiesStatusChange,
    BuddyMessage,
    DiscuMessage,
    GroupMessage,
    GroupWebMessage,
    InputNotify,
    KickMessage,
    MessageEvent,
    PollOutcome,
    SessMessage,
    SysGroupMessage,
    SystemMessage,
    UnknownEvent,
    parse_event,
    parse_poll,
)

FONT = ["font", {"size": 10, "color": "000000", "style": [0, 0, 0], "name": "宋体"}]


@pytest.mark.parametrize(
    "body",
    [
        b'{"retcode":102,"errmsg":""}',
        b'{"retcode":0,"result":"ok"}',
        b'{"errmsg":"error!!!","retcode":0}',
        b'{"retcode":0,"retmsg":"ok","errmsg":"error"}',
        b'{"retcode":100012,"retmsg":"no message cost[10.01s]"}',
        b'{"retcode":1202}',
        b'{"retcode":0,"result":[]}',
    ],
)
def test_idle_forms(body: bytes) -> None:
    r = parse_poll(body)
    assert r.outcome is PollOutcome.IDLE
    assert r.events == ()


def test_116_carries_new_ptwebqq() -> None:
    r = parse_poll('{"retcode":116,"p":"' + "ab" * 24 + '"}')
    assert r.outcome is PollOutcome.NEW_PTWEBQQ
    assert r.ptwebqq == "ab" * 24
    with pytest.raises(ProtocolError):
        parse_poll(b'{"retcode":116}')


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (103, PollOutcome.PROBE),
        (120, PollOutcome.RELINK),
        (121, PollOutcome.RELINK),
        (100, PollOutcome.RELOGIN),
        (108, PollOutcome.RELOGIN),
        (100000, PollOutcome.RELOGIN),
        (100001, PollOutcome.RELOGIN),
        (100002, PollOutcome.RELOGIN),
        (4242, PollOutcome.UNKNOWN),
    ],
)
def test_session_retcodes(code: int, outcome: PollOutcome) -> None:
    assert parse_poll({"retcode": code, "t": "0"}).outcome is outcome


def test_2012_buddy_and_group_message_fields() -> None:
    body = {
        "retcode": 0,
        "result": [
            {
                "poll_type": "group_message",
                "value": {
                    "msg_id": 5002,
                    "from_uin": 3296454801,
                    "to_uin": 2840000000,
                    "msg_id2": 123,
                    "msg_type": 43,
                    "reply_ip": 176756886,
                    "group_code": 777,
                    "send_uin": 4038121268,
                    "seq": 9,
                    "time": 1445532578,
                    "info_seq": 12345678,
                    "content": [FONT, "天气 "],
                },
            },
            {
                "poll_type": "message",
                "value": {
                    "msg_id": 5001,
                    "from_uin": 4038121268,
                    "to_uin": 2840000000,
                    "msg_id2": 55,
                    "msg_type": 9,
                    "reply_ip": 176886372,
                    "time": 1445532577,
                    "content": [FONT, "hi", ["face", 14], " "],
                },
            },
        ],
    }
    r = parse_poll(json.dumps(body))
    assert r.outcome is PollOutcome.EVENTS
    buddy, group = r.events
    assert isinstance(buddy, BuddyMessage)
    assert buddy.from_uin == 4038121268  # > 2**31 stays an int
    assert buddy.content.segments == (Text("hi"), Face(14))
    assert isinstance(group, GroupMessage)
    assert group.group_uin == 3296454801
    assert group.sender_uin == 4038121268
    assert group.info_seq == 12345678
    assert group.text == "天气"


def test_late_2015_fields_and_discussion() -> None:
    body = {
        "retcode": 0,
        "result": [
            {
                "poll_type": "discu_message",
                "value": {
                    "content": [FONT, "d"],
                    "from_uin": 10,
                    "did": 10,
                    "send_uin": 7,
                    "msg_id": 3,
                    "msg_type": 0,
                    "time": 1450000001,
                    "to_uin": 1,
                },
            },
            {
                "poll_type": "group_message",
                "value": {
                    "content": [
                        FONT,
                        [
                            "cface",
                            {"name": "x.jpg", "file_id": 1, "key": " " * 16, "server": "0.0.0.0:0"},
                        ],
                        "pic",
                    ],
                    "from_uin": 20,
                    "group_code": 20,
                    "msg_id": 2,
                    "msg_type": 0,
                    "send_uin": 8,
                    "time": 1450000000,
                    "to_uin": 1,
                },
            },
        ],
    }
    events = parse_poll(body).events
    assert [type(e) for e in events] == [GroupMessage, DiscuMessage]
    assert isinstance(events[0], GroupMessage)
    assert isinstance(events[0].content.segments[0], CustomFace)
    assert isinstance(events[1], DiscuMessage)
    assert events[1].chat_key == ("discu_message", 10)
    assert events[1].sender_uin == 7


def test_batch_newest_first_is_dispatched_oldest_first() -> None:
    msgs = [
        {
            "poll_type": "message",
            "value": {
                "msg_id": mid,
                "from_uin": 1,
                "to_uin": 2,
                "time": t,
                "content": [FONT, str(mid)],
            },
        }
        for mid, t in [(13, 101), (12, 100), (11, 100)]
    ]
    r = parse_poll({"retcode": 0, "result": msgs})
    assert [e.text for e in r.events if isinstance(e, MessageEvent)] == ["11", "12", "13"]


def test_non_message_events() -> None:
    def ev(pt: str, v: dict[str, Any]) -> Any:
        return parse_event({"poll_type": pt, "value": v})

    assert isinstance(
        ev("buddies_status_change", {"uin": 1, "status": "away", "client_type": 1}),
        BuddiesStatusChange,
    )
    k = ev("kick_message", {"way": "poll", "show_reason": 1, "reason": "elsewhere"})
    assert isinstance(k, KickMessage)
    assert k.reason == "elsewhere"
    assert isinstance(
        ev("input_notify", {"from_uin": 1, "msg_type": 121, "reply_ip": 4294967295}), InputNotify
    )
    assert isinstance(
        ev("system_message", {"type": "verify_required", "from_uin": 3}), SystemMessage
    )
    assert isinstance(
        ev("sys_g_msg", {"type": "group_join", "gcode": 5, "new_member": 9}), SysGroupMessage
    )
    assert isinstance(ev("group_web_message", {"xml": "<d/>"}), GroupWebMessage)
    s = ev(
        "sess_message",
        {
            "msg_id": 1,
            "from_uin": 2,
            "id": 3,
            "ruin": 4,
            "service_type": 0,
            "content": [FONT, ["offpic", {"success": 1, "file_path": "/p"}], ["x"]],
        },
    )
    assert isinstance(s, SessMessage)
    assert s.content.segments == (OfflinePic("/p"), UnknownSegment(["x"]))


def test_unknown_and_malformed_elements_lose_nothing() -> None:
    body = {
        "retcode": 0,
        "result": [
            {"poll_type": "brand_new_type", "value": {"a": 1}},
            {"poll_type": "message", "value": {"from_uin": "not-a-number"}},
            {"poll_type": "message", "value": "scalar"},
            {"value": {}},
            7,
            {"poll_type": "message", "value": {"msg_id": 1, "from_uin": 2, "content": "garbage"}},
        ],
    }
    events = parse_poll(body).events
    assert len(events) == 6
    assert all(isinstance(e, UnknownEvent) for e in events)
    kinds = {e.kind for e in events}
    assert "brand_new_type" in kinds
    assert sum(1 for e in events if isinstance(e, UnknownEvent) and e.error) == 5


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"nope",
        b"[]",
        b'{"result":[]}',
        b'{"retcode":"abc"}',
        b'{"retcode":0,"result":{}}',
        b'{"retcode":null}',
        b"[" * 5000,
    ],
)
def test_unreadable_bodies_raise_protocol_error(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_poll(body)


async def test_unbound_reply_is_a_usage_error() -> None:
    e = parse_event({"poll_type": "message", "value": {"msg_id": 1, "from_uin": 2}})
    assert isinstance(e, BuddyMessage)
    with pytest.raises(UsageError):
        await e.reply("x")
    assert await e.get_sender() == "2"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
poll_types = st.sampled_from(
    [
        "message",
        "group_message",
        "discu_message",
        "sess_message",
        "kick_message",
        "buddies_status_change",
        "x",
    ]
)
elements = st.fixed_dictionaries(
    {
        "poll_type": poll_types,
        "value": json_values
        | st.dictionaries(
            st.sampled_from(
                ["msg_id", "from_uin", "to_uin", "time", "content", "send_uin", "did", "uin"]
            ),
            json_values,
            max_size=6,
        ),
    }
)


@settings(max_examples=300)
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "retcode": st.one_of(st.integers(), st.text(max_size=4), json_values),
                "result": st.one_of(json_values, st.lists(elements, max_size=5)),
            }
        ),
    )
)
def test_parse_poll_only_raises_protocol_error(value: Any) -> None:
    for body in (value, json.dumps(value)):
        try:
            parse_poll(body)
        except ProtocolError:
            pass


@given(st.binary(max_size=300))
def test_parse_poll_arbitrary_bytes(data: bytes) -> None:
    try:
        parse_poll(data)
    except ProtocolError:
        pass
