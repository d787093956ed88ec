"""The tqq codec and parsers against the seeds' own examples (seeds 000 and 001).

Where seed 001 writes placeholders (``SEQ=标记&UIN=QQ号``) numbers stand in; line breaks
that are only the article's wrapping are removed.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartqq.errors import ProtocolError, UsageError
from smartqq.legacy import (
    BadUinError,
    NotLoggedInError,
    NullAnswerError,
    TooFastError,
    TQQError,
    TQQLoginError,
    TQQResError,
)
from smartqq.legacy.tqq import commands as cmd
from smartqq.legacy.tqq.codec import (
    Reassembler,
    decode_answer,
    encode_request,
    escape,
    join_list,
    segments_for_receive,
    split_for_send,
    split_list,
    unescape,
)
from smartqq.legacy.tqq.events import (
    TQQAuthAccepted,
    TQQAuthRejected,
    TQQAuthRequest,
    TQQMessage,
    TQQStatusChange,
    TQQSystemMessage,
    TQQUnknownMessage,
    to_events,
)
from smartqq.legacy.tqq.models import (
    AckCode,
    AddOutcome,
    BloodType,
    Constellation,
    Gender,
    Status,
    Zodiac,
)

HEAD = "VER=1.1&CMD={cmd}&SEQ=1234&UIN=106815&RES=0"


# -- requests: the seeds' templates ----------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            cmd.login("0" * 32),
            "CMD=Login&SEQ=7&UIN=29501213&PS=" + "0" * 32 + "&M5=1&LC=9326B87B234E7235",
        ),
        (cmd.list_friends(), "CMD=List&SEQ=7&UIN=29501213&TN=160&UN=0"),
        (cmd.query_stat(), "CMD=Query_Stat&SEQ=7&UIN=29501213&TN=50&UN=0"),
        (cmd.get_info(106814, 2), "CMD=GetInfo&SEQ=7&UIN=29501213&LV=2&UN=106814"),
        (cmd.add_to_list(106814), "CMD=AddToList&SEQ=7&UIN=29501213&UN=106814"),
        (
            cmd.ack_add_to_list(106814, AckCode.REQUEST, "TEST"),
            "CMD=Ack_AddToList&SEQ=7&UIN=29501213&UN=106814&CD=2&RS=TEST",
        ),
        (cmd.del_from_list(106814), "CMD=DelFromList&SEQ=7&UIN=29501213&UN=106814"),
        (cmd.change_stat(Status.BUSY), "CMD=Change_Stat&SEQ=7&UIN=29501213&ST=30"),
        (cmd.get_msg_ex(), "CMD=GetMsgEx&SEQ=7&UIN=29501213"),
        (cmd.cltmsg(106814, "TEST"), "CMD=CLTMSG&SEQ=7&UIN=29501213&UN=106814&MG=TEST"),
        (cmd.finger(), "CMD=Finger&SEQ=7&UIN=29501213&AG=&SX=&PV="),
        (cmd.logout(), "CMD=Logout&SEQ=7&UIN=29501213"),
    ],
)
def test_every_command_encodes_as_the_seed_writes_it(
    request_: cmd.TQQRequest, expected: str
) -> None:
    assert request_.encode(29501213, 7) == "VER=1.1&" + expected
    assert request_.cmd in cmd.COMMANDS


def test_password_is_the_lowercase_md5_and_never_in_a_repr() -> None:
    ps = cmd.password_md5("hunter2")
    assert ps == "2ab96390c7dbe3439de74d0c9b0b1767"
    assert ps not in repr(cmd.login(ps))
    assert encode_request("Login", 1, 1, {}, ver="1.0").startswith("VER=1.0&")


def test_bad_builder_input_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        cmd.cltmsg(106814, "A" * 400)  # must be under 400 bytes
    with pytest.raises(UsageError):
        cmd.cltmsg(106814, "")
    with pytest.raises(UsageError):
        cmd.get_info(0)
    with pytest.raises(UsageError):
        cmd.get_info(106814, -1)
    with pytest.raises(UsageError):
        cmd.login("")
    with pytest.raises(ValueError):
        cmd.change_stat(15)  # type: ignore[arg-type]


# -- answers ---------------------------------------------------------------------------


def test_login_answers() -> None:
    ok = cmd.parse_login(decode_answer("VER=1.1&CMD=Login&SEQ=11281&UIN=&RES=0&RS=0&HI=60&LI=300"))
    assert (ok.heartbeat_interval, ok.idle_timeout) == (60, 300)
    with pytest.raises(TQQLoginError) as refused:
        decode_answer("VER=1.1&CMD=Login&SEQ=11422&UIN=315103947&RES=0&RS=1&RA=登录失败")
    assert refused.value.reason == "登录失败"
    with pytest.raises(BadUinError) as bad:
        decode_answer("VER=1.1&CMD=LOGIN&SEQ=1&UIN=100&RES=5")
    assert bad.value.res == 5


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("NULL", NullAnswerError),
        ("NULL\r\n", NullAnswerError),
        ("VER=1.1&CMD=LIST&SEQ=1&UIN=1&RES=20", NotLoggedInError),
        ("VER=1.1&CMD=CLTMSG&SEQ=1&UIN=1&RES=3", TooFastError),
        ("VER=1.1&CMD=CLTMSG&SEQ=1&UIN=1&RES=77", TQQResError),
        ("VER=1.1&CMD=LIST&SEQ=1&UIN=1", ProtocolError),
        ("VER=1.1&CMD=LIST&RES=x", ProtocolError),
        ("garbage", ProtocolError),
    ],
)
def test_error_answers_are_typed(body: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_answer(body, "List")


def test_list_with_and_without_tn() -> None:
    full = decode_answer(
        "VER=1.1&CMD=LIST&SEQ=43661&UIN=29501213&RES=0&FN=1&SN=24&UN=561256,1943497,"
    )
    assert cmd.parse_list(full).uins == [561256, 1943497]
    assert cmd.parse_list(full).count == 24  # the seed elides the rest of the list
    count_only = decode_answer(HEAD.format(cmd="LIST") + "&FN=9")
    assert cmd.parse_list(count_only).count == 9
    assert cmd.parse_list(count_only).uins == []


def test_query_stat() -> None:
    body = HEAD.format(cmd="QUERY_STAT") + "&FC=0,&FN=1&SN=1&ST=10,&UN=106814,&NK=Hackfan 好,"
    online = cmd.parse_query_stat(decode_answer(body))
    assert online.count == 1
    (friend,) = online.friends
    assert (friend.uin, friend.status, friend.face, friend.nick) == (
        106814,
        Status.ONLINE,
        0,
        "Hackfan 好",
    )
    # TN=0 answers twice: the online count, then an empty list.
    first = decode_answer(HEAD.format(cmd="QUERY_STAT") + "&FN=1")
    second = decode_answer(HEAD.format(cmd="QUERY_STAT") + "&FC=&FN=1&SN=0&ST=&UN=&NK=")
    assert cmd.parse_query_stat(first).count == 1
    assert cmd.parse_query_stat(second).friends == []
    # Seed 000's example is cut short after UN=: the lists do not line up.
    cut = "VER=1.1&CMD=QUERY_STAT&SEQ=-1&UIN=29501213&RES=0&FC=141,270,270,&FN=1&SN=3&ST=10,10,10,&UN="
    with pytest.raises(ProtocolError):
        cmd.parse_query_stat(decode_answer(cut))


def test_face_image_is_id_over_three_plus_one() -> None:
    body = HEAD.format(cmd="QUERY_STAT") + "&FC=270,&FN=1&SN=1&ST=30,&UN=7,&NK=x,"
    assert cmd.parse_query_stat(decode_answer(body)).friends[0].face_image == 91


def test_get_info_at_every_level() -> None:
    lv0 = cmd.parse_info(
        decode_answer(HEAD.format(cmd="GETINFO") + "&LV=0&UN=106814&NK=Hackfan 好")
    )
    assert (lv0.uin, lv0.nick, lv0.level, lv0.gender) == (106814, "Hackfan 好", 0, None)
    lv2 = cmd.parse_info(
        decode_answer(
            "VER=1.1&CMD=GETINFO&SEQ=12707&UIN=415103947&RES=0&AD=云南昆明&AG=0"
            "&EM=Microprogramer@hotmail.com&FC=270&HP=msger.org(建设中...)&JB=程序员&LV=2"
            "&PC=650000&PH=0871-6466529&PR=网络为媒%252c关系为本%252c信息为财%252c客户为主.%0d%0a"
            "&PV=云南省&RN=刘X&SC=社会大学&SX=0&UN=24259132&NK=微程"
        )
    )
    assert lv2.address == "云南昆明"
    assert lv2.homepage == "msger.org(建设中...)"
    assert lv2.face == 270
    assert lv2.age == 0
    assert lv2.postcode == "650000"
    # Decoded once: the server had stored the commas escaped already.
    assert lv2.intro == "网络为媒%2c关系为本%2c信息为财%2c客户为主.\r\n"
    assert lv2.gender is Gender.MALE
    assert lv2.gender.label == "男"
    assert (lv2.uin, lv2.nick, lv2.real_name, lv2.school) == (24259132, "微程", "刘X", "社会大学")
    lv3 = cmd.parse_info(
        decode_answer(
            HEAD.format(cmd="GETINFO") + "&AD=地址&AG=19&BT=2&CO=6&CT=苏州&CV=%01&CY=中华人民共和国"
            "&EM=hackfan@qq.com&FC=0&HP=http://blog.hackfan.net&ID=-&JB=学生&LV=3&MO=136********"
            "&MT=0&MV=&PC=邮编&PH=电话&PR=The guy is updating to .NET Frameword......&PV=江苏"
            "&RN=胡吉阳&SC=毕业院校&SH=3&SX=0&UN=106814&NK=Hackfan 好"
        )
    )
    assert lv3.blood_type is BloodType.B
    assert lv3.blood_type.label == "B型"
    assert lv3.constellation is Constellation.CANCER
    assert lv3.constellation.label == "巨蟹座"
    assert lv3.zodiac is Zodiac.TIGER
    assert lv3.zodiac.label == "虎"
    assert (lv3.city, lv3.country, lv3.mobile, lv3.age) == (
        "苏州",
        "中华人民共和国",
        "136********",
        19,
    )
    assert lv3.extra == {"CV": "\x01", "ID": "-", "MT": "0", "MV": ""}
    odd = cmd.parse_info(decode_answer(HEAD.format(cmd="GETINFO") + "&LV=3&UN=1&NK=x&BT=9"))
    assert odd.blood_type is None
    assert odd.extra == {"BT": "9"}


def test_every_label_table_is_complete() -> None:
    assert [b.label for b in BloodType] == ["", "A型", "B型", "O型", "AB型", "其他"]
    assert Constellation.AQUARIUS.label == "水瓶座"
    assert Constellation.CAPRICORN.label == "摩羯座"
    assert Zodiac.RAT.label == "鼠"
    assert Zodiac.PIG.label == "猪"
    assert Gender.FEMALE.label == "女"
    assert [s.label for s in Status] == ["上线", "离线", "忙碌", "隐身"]
    assert AckCode.REQUEST.label == "请求加为好友"


@pytest.mark.parametrize(
    ("cd", "outcome"),
    [
        (0, AddOutcome.ADDED),
        (1, AddOutcome.NEEDS_AUTH),
        (2, AddOutcome.REFUSED),
        (3, AddOutcome.REFUSED),
    ],
)
def test_add_to_list_outcomes(cd: int, outcome: AddOutcome) -> None:
    body = f"VER=1.1&CMD=AddToList&SEQ=13666&UIN=415103947&RES=0&CD={cd}&UN=24259132"
    result = cmd.parse_add(decode_answer(body))
    assert (result.uin, result.outcome, result.code) == (24259132, outcome, cd)


def test_add_to_list_unknown_cd_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        cmd.parse_add(decode_answer("VER=1.1&CMD=AddToList&SEQ=1&UIN=1&RES=0&CD=9&UN=2"))


@pytest.mark.parametrize(
    "body",
    [
        "VER=1.1&CMD=Ack_AddToList&SEQ=1130&UIN=415103947&RES=0&",
        "VER=1.1&CMD=DelFromList&SEQ=24514&UIN=415103947&RES=0&",
        "VER=1.1&CMD=Change_Stat&SEQ=17512&UIN=415103947&RES=0&",
        "VER=1.1&CMD=LOGOUT&SEQ=15803&UIN=415103947&RES=0",
        "VER=1.1&CMD=CLTMSG&SEQ=15803&UIN=415103947&RES=0",
    ],
)
def test_plain_successes(body: str) -> None:
    assert decode_answer(body).res == 0


def test_get_msg_ex_seed_001() -> None:
    body = (
        HEAD.format(cmd="GETMSGEX")
        + "&MN=4&MT=99,99,99,9,&UN=36791785,99833581,99833581,106814,&MG=20,30,10,hi ,"
    )
    events = to_events(cmd.parse_messages(decode_answer(body)), Reassembler())
    assert events == [
        TQQStatusChange(sender=36791785, status=Status.OFFLINE),
        TQQStatusChange(sender=99833581, status=Status.BUSY),
        TQQStatusChange(sender=99833581, status=Status.ONLINE),
        TQQMessage(sender=106814, text="hi"),
    ]


def test_get_msg_ex_seed_000_with_its_trailing_ampersand() -> None:
    body = (
        "VER=1.1&CMD=GETMSGEX&SEQ=56661&UIN=29501213&RES=0&MN=3&MT=99,9,9,"
        "&UN=24259132,24259132,24259132,&MG=30 ,asdfasdfasdfasdf ,asdfasdfasdf ,&"
    )
    events = to_events(cmd.parse_messages(decode_answer(body)), Reassembler())
    assert events == [
        TQQStatusChange(sender=24259132, status=Status.BUSY),
        TQQMessage(sender=24259132, text="asdfasdfasdfasdf"),
        TQQMessage(sender=24259132, text="asdfasdfasdf"),
    ]


def test_get_msg_ex_empty_and_the_other_types() -> None:
    empty = decode_answer(HEAD.format(cmd="GETMSGEX") + "&MN=0&MT=&UN=&MG=")
    assert cmd.parse_messages(empty) == []
    body = (
        HEAD.format(cmd="GETMSGEX")
        + "&MN=6&MT=2,3,4,99,99,7,&UN=1,2,3,4,5,6,&MG=let me in,,no,40,hello,?,"
    )
    events = to_events(cmd.parse_messages(decode_answer(body)), Reassembler())
    assert events == [
        TQQAuthRequest(sender=1, reason="let me in"),
        TQQAuthAccepted(sender=2),
        TQQAuthRejected(sender=3, reason="no"),
        TQQStatusChange(sender=4, status=Status.OFFLINE),  # invisible shows as offline
        TQQSystemMessage(sender=5, text="hello"),
        TQQUnknownMessage(sender=6, type=7, text="?"),
    ]
    short = decode_answer(HEAD.format(cmd="GETMSGEX") + "&MN=2&MT=9,&UN=1,&MG=a ,")
    with pytest.raises(ProtocolError):
        cmd.parse_messages(short)


# -- segmentation: the 399/400/401-byte cases ------------------------------------------


def _literal(count_a: int, mn: int, mt: str) -> str:
    return (
        HEAD.format(cmd="GETMSGEX")
        + f"&MN={mn}&MT={mt}&UN=106814,106814,&MG="
        + "A" * count_a
        + ",A ,"
    )


def test_seed_401_byte_example_reassembles() -> None:
    body = _literal(400, 2, "9,9,")  # 401 'A's: a 400-byte segment, then "A "
    items = cmd.parse_messages(decode_answer(body))
    assert [len(i.text.encode()) for i in items] == [400, 2]
    assert to_events(items, Reassembler()) == [TQQMessage(sender=106814, text="A" * 401)]


def test_seed_399_byte_example_honours_mn() -> None:
    # The seed's 399 example carries MN=1 with MT=9,9, (and the 401 body, copied):
    # MN decides, and the one item is a complete message (it ends in a space).
    body = HEAD.format(cmd="GETMSGEX") + "&MN=1&MT=9,9,&UN=106814,&MG=" + "A" * 401 + " ,"
    items = cmd.parse_messages(decode_answer(body))
    assert len(items) == 1
    assert to_events(items, Reassembler()) == [TQQMessage(sender=106814, text="A" * 401)]


@pytest.mark.parametrize(
    ("size", "segments"),
    [(399, ["A" * 399 + " "]), (400, ["A" * 400, " "]), (401, ["A" * 400, "A "])],
)
def test_the_rule_at_399_400_401_bytes(size: int, segments: list[str]) -> None:
    assert segments_for_receive("A" * size) == segments
    r = Reassembler()
    done = [r.feed(1, seg) for seg in segments]
    assert done[:-1] == [None] * (len(segments) - 1)
    assert done[-1] == "A" * size


@pytest.mark.parametrize(("size", "pieces"), [(399, [399]), (400, [399, 1]), (401, [399, 2])])
def test_sending_splits_under_400_bytes(size: int, pieces: list[int]) -> None:
    assert [len(p.encode()) for p in split_for_send("A" * size)] == pieces


def test_splitting_never_cuts_a_character() -> None:
    text = "好" * 300  # 900 bytes, 3 per character
    pieces = split_for_send(text)
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 399 for p in pieces)
    segments = segments_for_receive(text)
    assert [len(s.encode()) for s in segments] == [399, 399, 103]
    with pytest.raises(ValueError):
        split_for_send("abc", limit=3)


def test_reassembler_keeps_senders_apart_and_flushes_leftovers() -> None:
    r = Reassembler()
    assert r.feed(1, "A" * 400) is None
    assert r.feed(2, "hi ") == "hi"
    assert r.feed(1, "B ") == "A" * 400 + "B"
    assert r.feed(3, "x" * 400) is None
    assert r.flush() == {3: "x" * 400}
    assert r.pending == {}


@given(st.text(min_size=1, max_size=2000))
def test_send_split_round_trips(text: str) -> None:
    pieces = split_for_send(text)
    assert "".join(pieces) == text
    assert all(0 < len(p.encode()) <= 399 for p in pieces)


@given(st.text(max_size=1500))
def test_receive_segments_reassemble(text: str) -> None:
    r = Reassembler()
    out = [r.feed(7, seg) for seg in segments_for_receive(text)]
    assert out[-1] == text
    assert all(len(s.encode()) <= 400 for s in segments_for_receive(text))


# -- escaping and lenient parsing ------------------------------------------------------


@given(st.text(max_size=200))
def test_escaped_values_round_trip(value: str) -> None:
    assert unescape(escape(value)) == value
    assert split_list(join_list([value, value])) == [value, value]
    body = cmd.cltmsg(1, value or "x").encode(1, 1)
    assert "," not in body.split("MG=", 1)[1] or value == ""


def test_an_unescaped_ampersand_in_a_message_survives() -> None:
    body = HEAD.format(cmd="GETMSGEX") + "&MN=1&MT=9,&UN=5,&MG=tom & jerry ,"
    (item,) = cmd.parse_messages(decode_answer(body))
    assert item.text == "tom & jerry "


KEYS = ["FN", "SN", "UN", "ST", "FC", "NK", "LV", "SX", "BT", "CO", "SH", "AG", "CD", "MN",
        "MT", "MG", "PV", "RS", "RA", "HI", "LI"]  # fmt: skip
VALUES = st.one_of(
    st.from_regex(r"[0-9,]{0,12}", fullmatch=True),
    st.from_regex(r"-?[0-9]{1,3}", fullmatch=True),
    st.text(max_size=12),
)
BODIES = st.one_of(
    st.text(max_size=300),
    st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=10).map(
        lambda pairs: HEAD.format(cmd="X") + "".join(f"&{k}={v}" for k, v in pairs)
    ),
)


@given(BODIES)
def test_decoding_anything_returns_or_raises_typed(body: str) -> None:
    try:
        answer = decode_answer(body)
    except (TQQError, ProtocolError):
        return
    for parse in (cmd.parse_list, cmd.parse_query_stat, cmd.parse_info, cmd.parse_messages,
                  cmd.parse_add, cmd.parse_finger, cmd.parse_login):  # fmt: skip
        try:
            parse(answer)
        except ProtocolError:
            pass
