"""HTTP/1.1 on the client side, with no I/O: a request's bytes, and a response read as it comes.

:func:`encode_request` checks every name and value it writes (a CR, LF or NUL in a
header would let a hostile redirect target or cookie split the request) and never
quotes one in its error: header values carry session secrets.

:class:`ResponseReader` is fed whatever the socket delivers and calls its
:class:`Sink` with the head, each piece of the body and the end. It reads the three
framings a server may use (``Content-Length``, ``chunked``, until the connection
closes), skips interim ``1xx`` answers, and bounds what a hostile server can make it
hold: a head of at most :data:`MAX_HEAD` bytes and :data:`MAX_HEADERS` lines, chunk
size lines and trailers of bounded length. The body itself is not held here: each
piece goes to the sink as it arrives (the transport's ``BodyReader`` caps it).
Anything malformed raises :class:`MalformedResponse`.
"""

from __future__ import annotations

import re
from typing import Protocol

from smartqq.errors import NetworkError

__all__ = [
    "MAX_HEAD",
    "MAX_HEADERS",
    "MalformedResponse",
    "ResponseReader",
    "Sink",
    "encode_request",
]

MAX_HEAD = 64 * 1024
"""Bytes a response's status line and headers may take together."""
MAX_HEADERS = 256
"""Header lines a response may have (a real answer has fewer than 20)."""
_MAX_CHUNK_LINE = 1024
_MAX_TRAILERS = 16 * 1024

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\0]")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: [^\r\n]*)?")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class MalformedResponse(NetworkError):
    """The server's answer is not HTTP/1.1 we can read (or exceeds a bound above)."""


def _check_name(name: str) -> bytes:
    raw = name.encode("latin-1", "replace")
    if _TOKEN.fullmatch(raw) is None:
        raise ValueError("a header name is not a token")
    return raw


def encode_request(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | tuple[tuple[str, str], ...],
    body: bytes | None,
) -> bytes:
    """The bytes of one request. ``target`` is the path and query, already percent-encoded;
    ``headers`` includes ``Host``; a ``Content-Length`` is added for a body (or a POST).

    Raises ``ValueError`` (saying which part, never its value) for a method, target or
    header that cannot go on the wire as it is.
    """
    if _TOKEN.fullmatch(method.encode("latin-1", "replace")) is None:
        raise ValueError("the method is not a token")
    if not target or _BAD_TARGET.search(target) is not None:
        raise ValueError("the request target has spaces or control characters")
    parts = [f"{method} {target} HTTP/1.1\r\n".encode()]
    for name, value in headers:
        _check_name(name)
        if _BAD_VALUE.search(value) is not None:
            raise ValueError(f"header {name} has a CR, LF or NUL in its value")
        parts.append(f"{name}: {value}\r\n".encode())
    if body is not None or method == "POST":
        parts.append(b"Content-Length: %d\r\n" % len(body or b""))
    parts.append(b"\r\n")
    if body:
        parts.append(body)
    return b"".join(parts)


class Sink(Protocol):
    """Where a :class:`ResponseReader` puts what it read."""

    def on_head(self, status: int, headers: list[tuple[str, str]], keep_alive: bool) -> None: ...

    def on_body(self, data: bytes) -> None: ...

    def on_end(self, reusable: bool) -> None: ...


# Reader states.
_IDLE, _HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE = range(8)


class ResponseReader:
    """Reads the responses of one connection, one after another (see the module's note).

    Call :meth:`expect` before each request's response, :meth:`feed` with each piece of
    data and :meth:`feed_eof` when the peer closes.
    """

    __slots__ = ("_buffer", "_head_only", "_keep_alive", "_left", "_scanned", "_sink", "_state")

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        # A head, chunk-size line or trailer that has not all arrived: kept in a bytearray
        # (appended in place: a server dripping a 64 KiB head a byte at a time must not
        # cost a copy of all of it per byte), searched only where the new bytes are.
        self._buffer: bytearray | None = None
        self._scanned = 0
        self._state = _IDLE
        self._left = 0
        self._keep_alive = False
        self._head_only = False

    @property
    def waiting(self) -> bool:
        """True while a response was expected and has not ended."""
        return self._state != _IDLE

    def expect(self, *, head_only: bool = False) -> None:
        """A request went out: its response is next (``head_only`` for HEAD: no body)."""
        self._state = _HEAD
        self._head_only = head_only

    def feed(self, data: bytes) -> None:
        if self._state == _IDLE:
            if data:  # nobody asked: a server talking out of turn
                raise MalformedResponse("the server sent data nobody asked for")
            return
        pending = self._buffer
        if pending is not None:
            pending += data
            if not self._arrived(pending):
                return
            buffer = bytes(pending)
            self._buffer = None
        else:
            buffer = data
        while buffer and self._state != _IDLE:
            buffer = self._step(buffer)
        if buffer:
            raise MalformedResponse("the server sent more than its answer")

    def feed_eof(self) -> None:
        """The peer closed: ends a body read until close; anything else is cut short."""
        if self._state == _UNTIL_CLOSE:
            self._state = _IDLE
            self._sink.on_end(False)
        elif self._state != _IDLE:
            self._state = _IDLE
            raise MalformedResponse("the connection closed before the answer ended")

    # -- the states --------------------------------------------------------------------

    def _step(self, buffer: bytes) -> bytes:
        state = self._state
        if state == _LENGTH:
            left = self._left
            if len(buffer) < left:
                self._left = left - len(buffer)
                self._sink.on_body(buffer)
                return b""
            self._sink.on_body(buffer[:left])
            self._end(self._keep_alive)
            return buffer[left:]
        if state == _HEAD:
            return self._head(buffer)
        if state == _UNTIL_CLOSE:
            self._sink.on_body(buffer)
            return b""
        return self._chunked(buffer)

    def _end(self, reusable: bool) -> None:
        self._state = _IDLE
        self._sink.on_end(reusable)

    def _head(self, buffer: bytes) -> bytes:
        end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
        if end < 0:
            if len(buffer) > MAX_HEAD:
                raise MalformedResponse("the answer's head is too long")
            return self._keep(buffer)
        lines = buffer[:end].split(b"\r\n")
        rest = buffer[end + 4 :]
        if len(lines) > MAX_HEADERS + 1:
            raise MalformedResponse("the answer has too many headers")
        status_line = _STATUS_LINE.fullmatch(lines[0])
        if status_line is None:
            raise MalformedResponse("the answer does not start with an HTTP/1.x status line")
        minor, status = status_line.group(1), int(status_line.group(2))
        headers: list[tuple[str, str]] = []
        length: int | None = None
        chunked = False
        encoded = False
        connection = ""
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or _TOKEN.fullmatch(name) is None:
                raise MalformedResponse("the answer has a malformed header line")
            key = name.decode("ascii")
            text = value.strip(b" \t").decode("utf-8", "surrogateescape")
            low = key.lower()
            if low == "content-length":
                if (
                    not text.isdigit()
                    or len(text) > 18
                    or (length is not None and int(text) != length)
                ):
                    raise MalformedResponse("the answer has a malformed Content-Length")
                length = int(text)
            elif low == "transfer-encoding":
                encoded = True
                chunked = text.rsplit(",", 1)[-1].strip().lower() == "chunked"
            elif low == "connection":
                connection = text.lower()
            headers.append((key, text))
        if 100 <= status < 200:  # an interim answer: the real one follows
            return rest
        keep_alive = "close" not in connection and (minor == b"1" or "keep-alive" in connection)
        self._sink.on_head(status, headers, keep_alive)
        if self._head_only or status in (204, 304):
            self._end(keep_alive)
        elif encoded:
            # Transfer-Encoding wins over Content-Length (RFC 9112 §6.3); a message that
            # had both is read, but its connection is not trusted again.
            self._keep_alive = keep_alive and length is None
            self._state = _CHUNK_SIZE if chunked else _UNTIL_CLOSE
        elif length is not None:
            self._keep_alive = keep_alive
            if length == 0:
                self._end(keep_alive)
            else:
                self._state, self._left = _LENGTH, length
        else:
            self._state = _UNTIL_CLOSE
        return rest

    def _keep(self, buffer: bytes) -> bytes:
        """Wait for more: ``buffer`` is the start of what the state reads at once."""
        self._buffer = bytearray(buffer)
        self._scanned = 0
        self._arrived(self._buffer)  # checks the bound and notes how far it looked
        return b""

    def _arrived(self, pending: bytearray) -> bool:
        """Whether what the state waits for is all in ``pending`` now; raises past its bound."""
        state = self._state
        if state == _CHUNK_END:
            return len(pending) >= 2
        if state == _HEAD:
            mark, bound, what = b"\r\n\r\n", MAX_HEAD, "the answer's head is too long"
        elif state == _CHUNK_SIZE:
            mark, bound, what = b"\r\n", _MAX_CHUNK_LINE, "a chunk size line is too long"
        else:  # _TRAILERS
            if pending.startswith(b"\r\n"):
                return True
            mark, bound, what = b"\r\n\r\n", _MAX_TRAILERS, "the answer's trailers are too long"
        if pending.find(mark, max(0, self._scanned - len(mark) + 1)) >= 0:
            return True
        if len(pending) > bound:
            raise MalformedResponse(what)
        self._scanned = len(pending)
        return False

    def _chunked(self, buffer: bytes) -> bytes:
        state = self._state
        if state == _CHUNK_SIZE:
            end = buffer.find(b"\r\n", 0, _MAX_CHUNK_LINE)
            if end < 0:
                if len(buffer) >= _MAX_CHUNK_LINE:
                    raise MalformedResponse("a chunk size line is too long")
                return self._keep(buffer)
            size = _HEX.fullmatch(buffer[:end].split(b";", 1)[0].strip(b" \t"))
            if size is None:
                raise MalformedResponse("a chunk size is not hexadecimal")
            self._left = int(size.group(), 16)
            self._state = _CHUNK_DATA if self._left else _TRAILERS
            return buffer[end + 2 :]
        if state == _CHUNK_DATA:
            left = self._left
            if len(buffer) <= left:
                self._left = left - len(buffer)
                self._sink.on_body(buffer)
                if not self._left:
                    self._state = _CHUNK_END
                return b""
            self._sink.on_body(buffer[:left])
            self._state = _CHUNK_END
            return buffer[left:]
        if state == _CHUNK_END:
            if len(buffer) < 2:
                return self._keep(buffer)
            if buffer[:2] != b"\r\n":
                raise MalformedResponse("a chunk does not end with CRLF")
            self._state = _CHUNK_SIZE
            return buffer[2:]
        # _TRAILERS: header lines after the last chunk, up to an empty line; ignored.
        if buffer.startswith(b"\r\n"):
            self._end(self._keep_alive)
            return buffer[2:]
        end = buffer.find(b"\r\n\r\n", 0, _MAX_TRAILERS)
        if end < 0:
            if len(buffer) >= _MAX_TRAILERS:
                raise MalformedResponse("the answer's trailers are too long")
            return self._keep(buffer)
        self._end(self._keep_alive)
        return buffer[end + 4 :]
