"""``AsyncioTransport``: HTTP/1.1 on asyncio's own connections, the client's default.

A client's traffic is one held long-poll and the odd send or lookup, to one host. For
that, a general HTTP client's machinery per request (in aiohttp: a request and a
response object, their timers and header maps, a task to write the body on Python
3.11, a stream reader) cost more client CPU than parsing the poll's twenty events;
with a thousand clients in one process it was most of the fan-out row in
``benchmarks/``. Here a request is one ``write`` and one future: the bytes come from
:func:`~smartqq.transport.http11.encode_request`, the answer is read by
:class:`~smartqq.transport.http11.ResponseReader` straight into a
:class:`~smartqq.transport.body.BodyReader`, which decompresses and enforces
``request.max_bytes`` as the data arrives (over it, the connection is dropped).

Connections are kept alive and reused (at most :data:`MAX_IDLE` idle ones, each for
:data:`KEEPALIVE` seconds), one transport per client, so a hostile or slow server
only ever stalls the client that talks to it. A connection is reused only after a
whole, well-framed answer that allowed it; one cut short, cancelled, timed out or
followed by stray bytes is closed.

With ``base_url`` only the connection is redirected: the request keeps its real
``Host`` header and target, as :class:`~smartqq.transport.AiohttpTransport` does.
Errors are :mod:`smartqq.errors` raised ``from None`` and never quote a URL, header
or body: those carry session secrets. No proxy support and no redirects (the session
follows the one redirect the login needs itself).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from yarl import URL

from smartqq.errors import (
    ConnectError,
    NetworkError,
    ProtocolError,
    RequestTimeout,
    TransportError,
)
from smartqq.protocol.http import HttpRequest, HttpResponse
from smartqq.protocol.redact import redact

from .body import FRAMING_HEADERS, BodyReader
from .http11 import ResponseReader, encode_request

__all__ = ["KEEPALIVE", "MAX_IDLE", "AsyncioTransport"]

log = logging.getLogger("smartqq.transport")

KEEPALIVE = 15.0
"""Seconds an idle connection is kept for reuse (aiohttp's default, well under the
75 s after which aiohttp.web servers, the emulator's among them, close theirs)."""
MAX_IDLE = 4
"""Idle connections kept per transport (a client rarely has more than two in use)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Route(NamedTuple):
    scheme: str
    host: str
    port: int
    target: str
    """The real URL's path and query, percent-encoded (what the request line carries)."""
    authority: str
    """The real URL's host[:port] (the ``Host`` header)."""


def _route_of(base_url: URL | None, real: URL, netloc: str) -> _Route:
    peer = real if base_url is None else base_url
    scheme = peer.scheme
    if scheme not in _DEFAULT_PORTS or not peer.raw_host:
        raise ValueError("only http and https URLs with a host can be sent")
    port = peer.port or _DEFAULT_PORTS[scheme]
    return _Route(scheme, peer.raw_host, port, real.raw_path_qs or "/", netloc)


@functools.lru_cache(maxsize=256)
def _plain_route(base_url: URL | None, url: str) -> _Route:
    # poll2 and the sends: the same few query-less URLs, over and over.
    return _route_of(base_url, URL(url), urlsplit(url).netloc)


_TLS: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    global _TLS  # one per process: making a context reads the system's CA store
    if _TLS is None:
        _TLS = ssl.create_default_context()
    return _TLS


class _Connection(asyncio.Protocol):
    """One keep-alive connection; its reader reports into it (the ``Sink``)."""

    __slots__ = (
        "_body",
        "_headers",
        "_owner",
        "_reader",
        "_request",
        "_status",
        "_waiter",
        "closed",
        "idle_since",
        "key",
        "loop",
        "reusable",
        "transport",
    )

    def __init__(
        self,
        owner: set[_Connection],
        key: tuple[str, str, int],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._owner = owner
        self.key = key
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self._reader = ResponseReader(self)
        self._waiter: asyncio.Future[tuple[int, tuple[tuple[str, str], ...], bytes]] | None
        self._waiter = None
        self._request: HttpRequest | None = None  # the one whose answer is being read
        self._body: BodyReader | None = None
        self._status = 0
        self._headers: tuple[tuple[str, str], ...] = ()
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._owner.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._reader.feed(data)
        except Exception as exc:  # malformed, too large, undecodable: this answer is lost
            self.fail(exc)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._owner.discard(self)
        try:
            self._reader.feed_eof()
        except Exception as error:
            self.fail(error)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(NetworkError("the connection closed before the answer came"))

    # -- the reader's sink ---------------------------------------------------------------

    def on_head(self, status: int, headers: list[tuple[str, str]], keep_alive: bool) -> None:
        request = self._request
        assert request is not None
        self._status = status
        encoding = ""
        kept = []
        for name, value in headers:
            low = name.lower()
            if low in FRAMING_HEADERS:
                if low == "content-encoding":
                    encoding = value
                continue
            kept.append((name, value))
        self._headers = tuple(kept)
        self._body = BodyReader(encoding, request.max_bytes, request.endpoint)

    def on_body(self, data: bytes) -> None:
        body = self._body
        assert body is not None
        body.feed(data)

    def on_end(self, reusable: bool) -> None:
        body, waiter = self._body, self._waiter
        if waiter is None or body is None:
            return
        # finish() may still find the compressed data truncated (ProtocolError): that
        # goes to the waiter through data_received's fail(), so it is taken first.
        result = (self._status, self._headers, body.finish())
        self._body = self._waiter = self._request = None
        self._headers = ()
        self.reusable = reusable
        if not waiter.done():
            waiter.set_result(result)

    # -- used by the transport -----------------------------------------------------------

    def begin(
        self, request: HttpRequest, data: bytes
    ) -> asyncio.Future[tuple[int, tuple[tuple[str, str], ...], bytes]]:
        """Send ``data`` (the encoded ``request``); the future gets its answer."""
        assert self.transport is not None
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        self._request = request
        self.reusable = False
        self._reader.expect(head_only=request.method == "HEAD")
        self.transport.write(data)
        return waiter

    def fail(self, exc: BaseException) -> None:
        """End the answer in progress with ``exc`` and drop the connection."""
        self.reusable = False
        waiter = self._waiter
        self._waiter = self._body = self._request = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def abort(self) -> None:
        self.closed = True
        self.reusable = False
        if self.loop.is_closed():
            # Its loop is gone (an earlier asyncio.run): closing goes through the loop,
            # so only the collector can release the socket now; just let go of it.
            self._owner.discard(self)
        elif self.transport is not None:
            self.transport.abort()


class AsyncioTransport:
    """Sends requests over kept-alive HTTP/1.1 connections of its own (see the module's note)."""

    # One per client: slots, and the pools are made on first use.
    __slots__ = ("_closed", "_idle", "_open", "base_url", "default_timeout", "ssl_context")

    def __init__(
        self,
        base_url: str | None = None,
        default_timeout: float = 30.0,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context`` verifies https peers (default: the system's CAs, one context
        per process); give one that trusts your own CA for a server of your own."""
        self.base_url = URL(base_url) if base_url else None
        self.default_timeout = default_timeout
        self.ssl_context = ssl_context
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"<AsyncioTransport base_url={self.base_url}>"

    @property
    def closed(self) -> bool:
        return self._closed

    def _route(self, request: HttpRequest) -> _Route:
        if not request.query and "?" not in request.url:
            return _plain_route(self.base_url, request.url)
        # One-off URLs (check_sig's carries login tokens): not kept in the cache.
        real = URL(request.url)
        if request.query:
            real = real.with_query(list(request.query))
        return _route_of(self.base_url, real, urlsplit(request.url).netloc)

    def _encode(self, request: HttpRequest, route: _Route) -> bytes:
        headers = [("Host", route.authority)]
        named = {"host"}
        for name, value in request.headers:
            low = name.lower()
            if low == "host":
                continue  # the real URL's, always
            named.add(low)
            headers.append((name, value))
        if "accept-encoding" not in named:
            headers.append(("Accept-Encoding", "gzip, deflate"))
        body = request.body
        if request.form is not None:
            body = request.form_body()
            if "content-type" not in named:
                headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        return encode_request(request.method, route.target, headers, body)

    def _take_idle(
        self, key: tuple[str, str, int], loop: asyncio.AbstractEventLoop
    ) -> _Connection | None:
        idle = self._idle
        now = loop.time()
        while idle:
            conn = idle.pop()
            if (
                conn.loop is not loop  # made under an earlier asyncio.run(): unusable here
                or conn.closed
                or conn.transport is None
                or conn.transport.is_closing()  # the peer closed; connection_lost is due
                or conn.key != key
                or now - conn.idle_since > KEEPALIVE
            ):
                conn.abort()
                continue
            return conn
        return None

    def _give_back(self, conn: _Connection, now: float) -> None:
        if self._closed or conn.closed or not conn.reusable or len(self._idle) >= MAX_IDLE:
            conn.abort()
            return
        conn.idle_since = now
        self._idle.append(conn)

    async def _connect(self, route: _Route, endpoint: str) -> _Connection:
        loop = asyncio.get_running_loop()
        key = (route.scheme, route.host, route.port)
        tls = route.scheme == "https"
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(self._open, key, loop),
                route.host,
                route.port,
                ssl=(self.ssl_context or _tls()) if tls else None,
                server_hostname=route.host if tls else None,
            )
        except ssl.SSLError as exc:
            raise NetworkError(f"{endpoint}: TLS failed ({type(exc).__name__})") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConnectError(f"cannot connect for {endpoint}: {reason}") from None
        return conn

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        if self._closed:
            raise NetworkError(f"{request.endpoint}: the transport is closed")
        limit = timeout or request.timeout or self.default_timeout
        endpoint = request.endpoint
        try:
            route = self._route(request)
        except (ValueError, UnicodeError) as exc:
            # A URL that cannot be sent (bad escapes, no host); its text is not quoted.
            raise TransportError(f"{endpoint} could not be sent: {type(exc).__name__}") from None
        try:
            data = self._encode(request, route)
        except UnicodeError as exc:  # a lone surrogate: its message quotes the text
            raise TransportError(f"{endpoint} could not be sent: {type(exc).__name__}") from None
        except ValueError as exc:
            # encode_request names the part (CR/LF in a header, spaces in the target),
            # never its value.
            raise TransportError(f"{endpoint} could not be sent: {exc}") from None
        if log.isEnabledFor(logging.DEBUG):  # redacting costs more than the request
            log.debug("%s %s", request.method, redact(request.full_url))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        conn = self._take_idle((route.scheme, route.host, route.port), loop)
        if conn is None:
            try:
                async with asyncio.timeout_at(deadline):
                    conn = await self._connect(route, endpoint)
            except TimeoutError:
                raise RequestTimeout(f"{endpoint} timed out after {limit:.0f}s") from None
            if self.closed:  # closed while connecting
                conn.abort()
                raise NetworkError(f"{endpoint}: the transport is closed")
        waiter = conn.begin(request, data)
        del data  # on the wire; this frame lives as long as a held poll
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            status, headers, body = await waiter
        except _Expired:
            conn.abort()
            raise RequestTimeout(f"{endpoint} timed out after {limit:.0f}s") from None
        except (TransportError, ProtocolError, asyncio.CancelledError):
            # Ours already (too large, undecodable, malformed, cut short) or a cancel:
            # as they are. The connection is never reused.
            conn.abort()
            raise
        except Exception as exc:
            conn.abort()
            raise NetworkError(f"{endpoint} failed: {type(exc).__name__}") from None
        finally:
            timer.cancel()
        self._give_back(conn, loop.time())
        log.debug("%s -> %s (%d bytes)", endpoint, status, len(body))
        return HttpResponse(status, body, headers, request.url)

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in (*idle, *self._open):
            conn.abort()
        self._open.clear()


class _Expired(Exception):
    """The request's deadline passed (becomes :class:`RequestTimeout`)."""


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())
