"""Decoding a response body chunk by chunk under a cap on its *decompressed* size.

A 1 MB gzip bomb inflates to gigabytes and an endless chunked body never
ends, so neither may be read whole before it is measured. :class:`BodyReader`
is fed the raw chunks as they arrive, inflates each with ``max_length`` so no
single step produces more than the room left under the cap, and raises
:class:`~smartqq.errors.ResponseTooLarge` the moment the total would pass it.
Pure: no I/O, usable by every transport.
"""

from __future__ import annotations

import zlib

from smartqq.errors import ProtocolError, ResponseTooLarge

__all__ = ["FRAMING_HEADERS", "BodyReader"]

FRAMING_HEADERS = ("content-encoding", "content-length", "transfer-encoding")
"""How the body was framed on the wire: no longer true of the decoded body a transport
hands back, so no transport passes them on."""

# zlib's wbits: 16+ = gzip header, negative = raw deflate, 32+ = zlib or gzip (auto).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class BodyReader:
    """Accumulates one body; ``feed`` raw chunks, then ``finish()`` for the bytes."""

    def __init__(self, content_encoding: str, max_bytes: int | None, endpoint: str = "") -> None:
        encoding = content_encoding.strip().lower()
        self.max_bytes = max_bytes
        self.endpoint = endpoint
        self._parts: list[bytes] = []
        self._size = 0
        self._fed = False  # any compressed bytes at all (an empty body is just empty)
        self._raw_deflate = False
        if encoding in ("", "identity"):
            self._inflater: zlib._Decompress | None = None
        elif encoding in _WBITS:
            self._inflater = zlib.decompressobj(_WBITS[encoding])
            self._raw_deflate = encoding == "deflate"
        else:
            raise ProtocolError(f"{endpoint or 'response'} uses an unsupported encoding", encoding)

    @property
    def size(self) -> int:
        """Decoded bytes so far."""
        return self._size

    def _keep(self, data: bytes) -> None:
        if not data:
            return
        self._size += len(data)
        if self.max_bytes is not None and self._size > self.max_bytes:
            self._parts.clear()
            raise ResponseTooLarge(self.endpoint, self.max_bytes)
        self._parts.append(data)

    def _room(self) -> int:
        # One byte more than allowed is enough to know the cap was passed.
        return 0 if self.max_bytes is None else self.max_bytes - self._size + 1

    def feed(self, chunk: bytes) -> None:
        if self._inflater is None:
            self._keep(chunk)
            return
        data = chunk
        self._fed = self._fed or bool(chunk)
        while data:
            try:
                out = self._inflater.decompress(data, self._room())
            except zlib.error:
                if self._raw_deflate and self._size == 0 and not self._parts:
                    # "deflate" is often sent without the zlib header; retry as raw deflate.
                    self._raw_deflate = False
                    self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise ProtocolError(
                    f"{self.endpoint or 'response'} body is not valid compressed data"
                ) from None
            self._raw_deflate = False
            self._keep(out)
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:
                return  # trailing garbage after the stream is ignored, as browsers do

    def finish(self) -> bytes:
        if self._inflater is not None:
            try:
                self._keep(self._inflater.flush())
            except zlib.error:
                raise ProtocolError(
                    f"{self.endpoint or 'response'} body is truncated compressed data"
                ) from None
            # flush() hands out what it could inflate without complaint: a stream that
            # never reached its end is a body cut short, not a shorter body.
            if not self._inflater.eof and self._fed:
                raise ProtocolError(
                    f"{self.endpoint or 'response'} body is truncated compressed data"
                )
        body = b"".join(self._parts)
        self._parts = [body]
        return body
