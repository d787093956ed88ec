"""CQ codes and array segments: the spec's escaping, round trips, sends as string/array/segment."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartqq.content import Content, CustomFace, Face, OfflinePic, Text
from smartqq.onebot.ids import (
    DISCUSS_ID_BASE,
    DISCUSS_ID_END,
    MessageStore,
    StoredMessage,
    synthetic_discuss_id,
)
from smartqq.onebot.message import (
    MAX_MESSAGE_CHARS,
    MessageError,
    content_to_segments,
    escape,
    normalize,
    parse_cq,
    segments_to_content,
    to_cq,
    unescape,
)


def test_spec_examples() -> None:
    assert escape("- [x] 使用 `&data` 获取地址") == "- &#91;x&#93; 使用 `&amp;data` 获取地址"
    segs = parse_cq("[CQ:share,title=震惊&#44;小伙睡觉前居然...,url=http://baidu.com/?a=1&amp;b=2]")
    assert segs == [
        {
            "type": "share",
            "data": {"title": "震惊,小伙睡觉前居然...", "url": "http://baidu.com/?a=1&b=2"},
        }
    ]
    assert parse_cq("[CQ:share,title=标题中有=等号,url=http://baidu.com]")[0]["data"]["title"] == (
        "标题中有=等号"
    )
    assert parse_cq("[CQ:face,id=178]看看我刚拍的照片[CQ:image,file=123.jpg]") == [
        {"type": "face", "data": {"id": "178"}},
        {"type": "text", "data": {"text": "看看我刚拍的照片"}},
        {"type": "image", "data": {"file": "123.jpg"}},
    ]
    assert parse_cq("[CQ:shake]") == [{"type": "shake", "data": {}}]


def test_comma_is_escaped_in_params_only() -> None:
    segs = [
        {"type": "text", "data": {"text": "a,b&[c]"}},
        {"type": "share", "data": {"title": "x,y&[z]", "url": "u"}},
    ]
    cq = to_cq(segs)
    assert cq == "a,b&amp;&#91;c&#93;[CQ:share,title=x&#44;y&amp;&#91;z&#93;,url=u]"
    assert parse_cq(cq) == segs


def test_unescape_is_one_level() -> None:
    assert unescape("&amp;#91;") == "&#91;"
    assert parse_cq("&amp;#44;") == [{"type": "text", "data": {"text": "&#44;"}}]


@given(st.text())
def test_text_round_trip(text: str) -> None:
    segs = parse_cq(escape(text))
    assert "".join(s["data"]["text"] for s in segs) == text
    assert all(s["type"] == "text" for s in segs)


@given(
    st.dictionaries(
        st.text(alphabet=st.characters(blacklist_characters=",=[]&"), min_size=1, max_size=8),
        st.text(max_size=20),
        max_size=4,
    ),
    st.text(max_size=20),
)
def test_segment_round_trip(data: dict[str, str], text: str) -> None:
    segs = [{"type": "text", "data": {"text": text}}] if text else []
    segs.append({"type": "x", "data": data})
    assert parse_cq(to_cq(segs)) == segs


@pytest.mark.parametrize("bad", ["[CQ:]", "[CQ:face,id]", "[CQ:face,=1]", "[CQ:,id=1]"])
def test_invalid_cq_codes(bad: str) -> None:
    with pytest.raises(MessageError):
        parse_cq(bad)


def test_unterminated_codes_stay_text() -> None:
    assert parse_cq("[CQ:face,id=1") == [{"type": "text", "data": {"text": "[CQ:face,id=1"}}]


def test_send_forms_string_array_segment() -> None:
    one = {"type": "face", "data": {"id": 14}}
    assert normalize(one) == [{"type": "face", "data": {"id": 14}}]
    assert normalize([one, "hi"]) == [one, {"type": "text", "data": {"text": "hi"}}]
    assert normalize("[CQ:face,id=14]") == [{"type": "face", "data": {"id": "14"}}]
    assert normalize("[CQ:face,id=14]", auto_escape=True) == [
        {"type": "text", "data": {"text": "[CQ:face,id=14]"}}
    ]
    for bad in (5, None, [5], [{"type": 1}], [{"type": "text", "data": "x"}]):
        with pytest.raises(MessageError):
            normalize(bad)


def test_to_content_keeps_text_and_faces() -> None:
    segs = normalize("hi [CQ:face,id=14][CQ:at,qq=10002][CQ:reply,id=5][CQ:at,qq=all]")
    content = segments_to_content(segs, {"10002": "Alice"}.get)
    assert content == Content((Text("hi "), Face(14), Text("@Alice "), Text("@全体成员 ")))
    with pytest.raises(MessageError, match="image"):
        segments_to_content(normalize("[CQ:image,file=a.jpg]"))
    with pytest.raises(MessageError, match="face"):
        segments_to_content(normalize("[CQ:face,id=x]"))
    with pytest.raises(MessageError, match="empty"):
        segments_to_content(normalize("[CQ:reply,id=1]"))
    with pytest.raises(MessageError, match="too long"):
        segments_to_content(normalize("x" * (MAX_MESSAGE_CHARS + 1)))


def test_received_pictures_are_images() -> None:
    content = Content(
        (Text("a"), Text("b"), CustomFace("n.jpg", 1, "k", "1.2.3.4:80"), OfflinePic("/p"))
    )
    assert content_to_segments(content) == [
        {"type": "text", "data": {"text": "ab"}},
        {"type": "image", "data": {"file": "n.jpg", "url": "http://1.2.3.4:80/n.jpg"}},
        {"type": "image", "data": {"file": "/p", "url": ""}},
    ]


def test_message_store_is_bounded_and_ids_are_positive_int32() -> None:
    store = MessageStore(size=3)
    ids = []
    for _ in range(5):
        ident = store.next_id()
        ids.append(ident)
        store.add(StoredMessage(ident, 0, "private", {}, [], ""))
    assert len(store) == 3
    assert store.get(ids[0]) is None
    assert store.get(ids[-1]) is not None
    store._next = 2**31 - 1
    assert store.next_id() == 2**31 - 1
    assert store.next_id() == 1


def test_synthetic_discussion_ids_in_range_and_distinct() -> None:
    taken: set[int] = set()
    for name in ["a", "b", "a"]:
        number = synthetic_discuss_id(name, taken)
        assert DISCUSS_ID_BASE <= number < DISCUSS_ID_END
        assert number not in taken
        taken.add(number)
    assert synthetic_discuss_id("a", set()) == synthetic_discuss_id("a", set())
