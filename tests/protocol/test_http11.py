"""The HTTP/1.1 reader and request encoder of the default transport, without sockets."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartqq.errors import NetworkError, ProtocolError
from smartqq.transport import BodyReader
from smartqq.transport.http11 import (
    MAX_HEAD,
    MAX_HEADERS,
    MalformedResponse,
    ResponseReader,
    encode_request,
)


class Answers:
    """A sink that records what the reader reported."""

    def __init__(self) -> None:
        self.heads: list[tuple[int, list[tuple[str, str]], bool]] = []
        self.body = b""
        self.ends: list[bool] = []

    def on_head(self, status: int, headers: list[tuple[str, str]], keep_alive: bool) -> None:
        self.heads.append((status, headers, keep_alive))

    def on_body(self, data: bytes) -> None:
        self.body += data

    def on_end(self, reusable: bool) -> None:
        self.ends.append(reusable)


def read(*pieces: bytes, head_only: bool = False, eof: bool = False) -> Answers:
    sink = Answers()
    reader = ResponseReader(sink)
    reader.expect(head_only=head_only)
    for piece in pieces:
        reader.feed(piece)
    if eof:
        reader.feed_eof()
    return sink


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"


def test_a_content_length_answer_in_one_piece() -> None:
    sink = read(OK + b'{"retcode":')
    assert sink.heads == [
        (200, [("Content-Type", "application/json"), ("Content-Length", "11")], True)
    ]
    assert sink.body == b'{"retcode":'
    assert sink.ends == [True]


@given(st.integers(min_value=1, max_value=len(OK) + 10))
def test_any_split_of_the_bytes_reads_the_same(cut: int) -> None:
    data = OK + b"x" * 11
    sink = read(data[:cut], data[cut:])
    assert sink.body == b"x" * 11
    assert sink.ends == [True]


def test_chunked_with_extensions_and_trailers_byte_by_byte() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    sink = read(*(data[i : i + 1] for i in range(len(data))))
    assert sink.body == b"hello world"
    assert sink.ends == [True]


def test_a_body_until_the_connection_closes_is_not_reusable() -> None:
    sink = read(b"HTTP/1.0 200 OK\r\n\r\nall of it", eof=True)
    assert sink.body == b"all of it"
    assert sink.ends == [False]


def test_keep_alive_follows_the_version_and_connection_header() -> None:
    close = read(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert close.heads[0][2] is False
    assert close.ends == [False]
    old = read(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
    assert old.heads[0][2] is True
    assert old.ends == [True]


def test_interim_answers_are_skipped_and_no_body_statuses_end_at_the_head() -> None:
    sink = read(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
    assert [h[0] for h in sink.heads] == [204]
    assert sink.ends == [True]
    head = read(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", head_only=True)
    assert head.ends == [True]
    assert head.body == b""


def test_both_framings_read_as_chunked_and_the_connection_is_not_trusted() -> None:
    sink = read(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nab\r\n0\r\n\r\n"
    )
    assert sink.body == b"ab"
    assert sink.ends == [False]


def test_one_connection_reads_answers_one_after_another() -> None:
    sink = Answers()
    reader = ResponseReader(sink)
    for text in (b"one", b"two"):
        reader.expect()
        reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" + text)
    assert sink.body == b"onetwo"
    assert sink.ends == [True, True]
    assert not reader.waiting


@pytest.mark.parametrize(
    "data",
    [
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab",  # more than the answer
    ],
)
def test_malformed_answers_raise_a_network_error(data: bytes) -> None:
    with pytest.raises(MalformedResponse) as info:
        read(data)
    assert isinstance(info.value, NetworkError)


def test_a_head_that_never_ends_or_has_too_many_lines_is_refused() -> None:
    with pytest.raises(MalformedResponse, match="too long"):
        read(b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_HEAD)
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS + 1))
    with pytest.raises(MalformedResponse, match="too many"):
        read(b"HTTP/1.1 200 OK\r\n" + many + b"\r\n")
    with pytest.raises(MalformedResponse, match="chunk size line"):
        read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 2000)


def test_an_answer_cut_short_raises_and_data_out_of_turn_is_refused() -> None:
    with pytest.raises(MalformedResponse, match="closed before"):
        read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", eof=True)
    reader = ResponseReader(Answers())
    with pytest.raises(MalformedResponse, match="nobody asked"):
        reader.feed(b"HTTP/1.1 200 OK\r\n\r\n")


def test_a_request_is_encoded_with_its_length() -> None:
    data = encode_request(
        "POST", "/channel/poll2", [("Host", "d1.web2.qq.com"), ("Cookie", "a=b")], b"r=1"
    )
    assert data == (
        b"POST /channel/poll2 HTTP/1.1\r\nHost: d1.web2.qq.com\r\nCookie: a=b\r\n"
        b"Content-Length: 3\r\n\r\nr=1"
    )
    assert encode_request("GET", "/x?a=1", [("Host", "h")], None).endswith(b"Host: h\r\n\r\n")


@pytest.mark.parametrize(
    ("method", "target", "headers", "part"),
    [
        ("GET", "/x", [("X-Bad", "secret\r\nInjected: 1")], "X-Bad"),
        ("GET", "/x", [("Bad Name", "v")], "name"),
        ("GET", "/a b", [], "target"),
        ("GET", "/a\r\nInjected: 1", [], "target"),
        ("GE T", "/x", [], "method"),
    ],
)
def test_what_cannot_go_on_the_wire_is_refused_without_quoting_it(
    method: str, target: str, headers: list[tuple[str, str]], part: str
) -> None:
    with pytest.raises(ValueError, match=part) as info:
        encode_request(method, target, headers, None)
    assert "secret" not in str(info.value)
    assert "Injected" not in str(info.value)


@given(st.lists(st.binary(max_size=64), max_size=8), st.booleans())
def test_any_bytes_at_all_end_well_or_as_a_malformed_answer(pieces: list[bytes], eof: bool) -> None:
    """Whatever a server sends, the reader reports it or raises MalformedResponse: no
    other exception, and never a body for an answer it did not read a head for."""
    sink = Answers()
    reader = ResponseReader(sink)
    reader.expect()
    try:
        for piece in pieces:
            reader.feed(b"HTTP/1.1 200 OK\r\n" + piece if piece is pieces[0] else piece)
        if eof:
            reader.feed_eof()
    except MalformedResponse:
        return
    assert len(sink.ends) <= 1
    assert not sink.body or sink.heads


# -- the body reader the transports share ---------------------------------------------------


def test_a_compressed_body_cut_short_is_an_error_and_an_empty_one_is_empty() -> None:
    whole = gzip.compress(b'{"retcode":0}' * 50)
    reader = BodyReader("gzip", None, "poll2")
    reader.feed(whole)
    assert reader.finish() == b'{"retcode":0}' * 50
    cut = BodyReader("gzip", None, "poll2")
    cut.feed(whole[:-12])
    with pytest.raises(ProtocolError, match="truncated"):
        cut.finish()
    assert BodyReader("gzip", None, "poll2").finish() == b""
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    deflated = raw.compress(b"abc" * 10) + raw.flush()
    headerless = BodyReader("deflate", None, "poll2")  # raw deflate, as many servers send
    headerless.feed(deflated)
    assert headerless.finish() == b"abc" * 10
