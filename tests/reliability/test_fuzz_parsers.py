"""Fuzzing: every parser returns a value or raises ProtocolError (APIError for a real
non-zero retcode), nothing else, and never hangs."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smartqq.content import Content
from smartqq.errors import APIError, ProtocolError
from smartqq.events import UnknownEvent, parse_event, parse_poll
from smartqq.models import (
    parse_discu_info,
    parse_discu_list,
    parse_friend_list,
    parse_group_info,
    parse_group_list,
)
from smartqq.protocol.parsers import (
    parse_check_vc,
    parse_envelope,
    parse_login_page,
    parse_ptuicb,
    parse_send_response,
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "retcode",
                        "result",
                        "errmsg",
                        "p",
                        "poll_type",
                        "value",
                        "content",
                        "from_uin",
                        "msg_id",
                        "friends",
                        "info",
                        "marknames",
                        "categories",
                        "vipinfo",
                        "gnamelist",
                        "gmarklist",
                        "minfo",
                        "ginfo",
                        "cards",
                        "stats",
                        "mem_list",
                        "dnamelist",
                        "did",
                        "uin",
                        "gid",
                        "code",
                        "name",
                        "errCode",
                    ]
                ),
                st.text(max_size=8),
            ),
            inner,
            max_size=6,
        ),
    ),
    max_leaves=25,
)
POLL_TYPES = st.sampled_from(
    [
        "message",
        "group_message",
        "discu_message",
        "sess_message",
        "buddies_status_change",
        "kick_message",
        "input_notify",
        "shake_message",
        "system_message",
        "sys_g_msg",
        "group_web_message",
        "file_message",
        "filesrv_transfer",
        "push_offfile",
        "notify_offfile",
        "av_request",
        "av_refuse",
        "tips",
        "buddylist_change",
        "nick_change",
        "brand_new_type",
    ]
)
FUZZ = settings(max_examples=150, deadline=2000)


def only_protocol_errors(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except (ProtocolError, APIError):
        pass


@FUZZ
@given(st.one_of(JSON, st.binary(max_size=200), st.text(max_size=200)))
def test_envelopes_and_send_responses(body: Any) -> None:
    raw = body if isinstance(body, bytes | str) else json.dumps(body, allow_nan=True)
    only_protocol_errors(parse_envelope, raw, "fuzz")
    only_protocol_errors(parse_send_response, raw, "fuzz")
    only_protocol_errors(parse_poll, raw)


@FUZZ
@given(st.lists(st.fixed_dictionaries({"poll_type": POLL_TYPES, "value": JSON}), max_size=6))
def test_poll_bodies_with_every_type_and_junk_values(result: list[dict[str, Any]]) -> None:
    try:
        parsed = parse_poll({"retcode": 0, "result": result})
    except ProtocolError:
        return
    # Nothing is dropped: a value the typed model refuses becomes UnknownEvent.
    assert len(parsed.events) == len(result)


@FUZZ
@given(JSON)
def test_single_events_never_raise(value: Any) -> None:
    event = parse_event({"poll_type": "message", "value": value})
    if not isinstance(value, dict):
        assert isinstance(event, UnknownEvent)


@FUZZ
@given(JSON)
def test_list_and_info_results(data: Any) -> None:
    for fn in (
        parse_friend_list,
        parse_group_list,
        parse_discu_list,
        parse_group_info,
        parse_discu_info,
    ):
        only_protocol_errors(fn, data)


CALLBACK_ARGS = st.lists(
    st.one_of(st.text(max_size=30), st.sampled_from(["0", "3", "4", "65", "66", "67", "7"])),
    max_size=7,
)


@FUZZ
@given(CALLBACK_ARGS, st.sampled_from(["ptuiCB", "ptui_checkVC", "ptuiV", ""]), st.text(max_size=5))
def test_ptuicb_and_check_vc_texts(args: list[str], name: str, tail: str) -> None:
    quoted = ",".join("'" + a.replace("'", "\\'") + "'" for a in args)
    for text in (f"{name}({quoted});{tail}", f"{name}({quoted}", tail + quoted):
        only_protocol_errors(parse_ptuicb, text)
        only_protocol_errors(parse_check_vc, text)
        only_protocol_errors(parse_login_page, text)


@FUZZ
@given(JSON)
def test_content_arrays(value: Any) -> None:
    try:
        content = Content.parse(value)
    except ProtocolError:
        return
    assert isinstance(content.text, str)
