"""The sender's fast path for a plain string gives what the general path gives."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smartqq.client.sender import _parts
from smartqq.content import MAX_PART_BYTES, Font
from smartqq.errors import UsageError


def _outcome(content: object) -> object:
    try:
        return _parts(content, None)  # type: ignore[arg-type]
    except UsageError as exc:
        return ("UsageError", str(exc))


@given(st.text(max_size=400))
@example("")
@example("   \n\t")
@example("\ud800 lone surrogate")
@example('quotes " and \\ backslash and 宋体 and \x00')
@example("x" * MAX_PART_BYTES)
@example("x" * (MAX_PART_BYTES + 1))
@example("字" * (MAX_PART_BYTES // 3 + 1))
def test_plain_string_fast_path_matches_the_general_path(text: str) -> None:
    # A one-element list takes the general path (Content.coerce, split, encode).
    assert _outcome(text) == _outcome([text])


def test_fast_path_is_the_default_font_wire_text() -> None:
    [(wire, text)] = _parts("hi", None)
    assert text == "hi"
    assert wire == '["hi",["font",{"name":"宋体","size":10,"style":[0,0,0],"color":"000000"}]]'


def test_a_font_still_takes_the_general_path() -> None:
    [(wire, _)] = _parts("hi", Font(name="黑体", size=12))
    assert '"name":"黑体"' in wire
    assert '"size":12' in wire


def test_long_plain_text_is_still_split() -> None:
    parts = _parts("word " * 400, None)
    assert len(parts) > 1
    assert all(len(text.encode()) <= MAX_PART_BYTES for _, text in parts)


@pytest.mark.parametrize("text", ["", " ", "\n"])
def test_empty_plain_text_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="empty"):
        _parts(text, None)
