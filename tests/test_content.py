from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartqq.content import (
    MAX_PART_BYTES,
    Content,
    CustomFace,
    Face,
    Font,
    OfflinePic,
    Text,
    UnknownSegment,
)
from smartqq.errors import ProtocolError, UsageError

FONT = ["font", {"size": 10, "color": "000000", "style": [0, 0, 0], "name": '"幼圆"'}]


def test_parse_received_font_first_and_trailing_space() -> None:
    c = Content.parse([FONT, "天气 "])
    assert c.font == Font(name='"幼圆"')
    assert c.segments == (Text("天气"),)
    assert c.raw is not None
    assert c.raw[1] == "天气 "


def test_parse_lone_space_after_face() -> None:
    c = Content.parse([FONT, "hi", ["face", 14], " "])
    assert c.segments == (Text("hi"), Face(14))
    assert c.text == "hi"
    assert str(c) == "hi[face:14]"


def test_parse_mobile_emoticon_text_kept() -> None:
    c = Content.parse([FONT, "[热]\u0001 "])
    assert c.text == "[热]\u0001"


def test_parse_pictures_and_unknown() -> None:
    cface = {"name": "{A}.jpg", "file_id": 5, "key": "k" * 16, "server": "1.2.3.4:80"}
    c = Content.parse(
        [FONT, ["cface", cface], ["offpic", {"success": 1, "file_path": "/u"}], ["zz", 1]]
    )
    assert c.segments == (
        CustomFace("{A}.jpg", 5, "k" * 16, "1.2.3.4:80"),
        OfflinePic("/u", 1),
        UnknownSegment(["zz", 1]),
    )
    assert c.text == ""


def test_parse_sent_form_font_last_and_string_size() -> None:
    c = Content.parse(
        '["a",["face","14"],["font",{"name":"宋体","size":"12","style":[1,0,0],"color":"ff0000"}]]'
    )
    assert c.segments == (Text("a"), Face(14))
    assert c.font == Font("宋体", 12, "ff0000", (1, 0, 0))


def test_parse_errors() -> None:
    with pytest.raises(ProtocolError):
        Content.parse("not json")
    with pytest.raises(ProtocolError):
        Content.parse({"a": 1})


def test_encode_font_last_double_encoding() -> None:
    c = Content.of("hello", Face(14), "world")
    text = c.encode()
    assert isinstance(text, str)
    wire = json.loads(text)
    assert wire[:3] == ["hello", ["face", 14], "world"]
    assert wire[-1][0] == "font"
    assert wire[-1][1] == {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}


def test_receive_only_segments_cannot_be_sent() -> None:
    with pytest.raises(UsageError):
        Content.of(CustomFace("x")).encode()


def test_coerce() -> None:
    assert Content.coerce("x").segments == (Text("x"),)
    assert Content.coerce(["a", Face(1)]).segments == (Text("a"), Face(1))
    assert Content.coerce(Face(2)).segments == (Face(2),)
    with pytest.raises(UsageError):
        Content.coerce(5)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        Content.of(3.5)  # type: ignore[arg-type]


def _bytes(c: Content) -> int:
    return sum(len(s.text.encode()) for s in c.segments if isinstance(s, Text))


def test_split_prefers_newlines_then_words() -> None:
    line = "word " * 100  # 500 bytes
    c = Content.of(line + "\n" + line)
    parts = c.split()
    assert len(parts) == 2
    assert parts[0].text.endswith("\n")
    assert "".join(p.text for p in parts) == c.text


def test_split_never_inside_character_or_face() -> None:
    c = Content.of("汉" * 500, Face(14), "字" * 300)  # 1500 + 2400 bytes
    parts = c.split()
    assert all(_bytes(p) <= MAX_PART_BYTES for p in parts)
    joined = [s for p in parts for s in p.segments]
    assert Face(14) in joined
    assert "".join(p.text for p in parts) == c.text


def test_split_small_limit_rejected() -> None:
    with pytest.raises(UsageError):
        Content.of("x").split(4)


segments = st.lists(
    st.one_of(
        st.text(min_size=1, max_size=60).map(Text),
        st.integers(min_value=0, max_value=250).map(Face),
    ),
    max_size=12,
)


@given(segments)
def test_round_trip_encode_parse(segs: list[Text | Face]) -> None:
    c = Content(tuple(segs))
    back = Content.parse(json.loads(c.encode()), strip_trailing_space=False)
    assert back.segments == c.segments
    assert back.font == Font()


@given(segments, st.integers(min_value=16, max_value=800))
def test_split_preserves_everything(segs: list[Text | Face], limit: int) -> None:
    c = Content(tuple(segs))
    parts = c.split(limit)
    assert "".join(p.text for p in parts) == c.text
    assert [s for p in parts for s in p.segments if isinstance(s, Face)] == [
        s for s in segs if isinstance(s, Face)
    ]
    assert all(_bytes(p) <= limit for p in parts)
