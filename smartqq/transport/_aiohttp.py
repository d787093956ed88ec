"""``AiohttpTransport``: the one client-side module that imports aiohttp.

With ``base_url`` only the connection is redirected: the request keeps its
real ``Host`` header, so an emulator (or any compatible server) sees exactly
what the real service would have seen. The body is read as it streams and
decoded here (aiohttp's own decompression is off) so the cap in
``request.max_bytes`` counts decompressed bytes: over it the connection is
dropped and :class:`~smartqq.errors.ResponseTooLarge` raised. aiohttp and
timeout errors become :mod:`smartqq.errors` here and nowhere else, raised
``from None``: aiohttp's exceptions quote the full URL and request headers,
which carry session secrets.

Every transport on one event loop shares one ``ClientSession`` and its
connector (reference-counted: the last ``aclose`` closes it). That is safe
because aiohttp keeps no state of ours: cookies live in each client's own jar
(aiohttp's jar is a ``DummyCookieJar``) and go out as request headers. It saves
about 7 KiB per client at 1,000 clients (``share_session=False`` opts out).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from urllib.parse import urlsplit

import aiohttp
from aiohttp import hdrs
from multidict import istr
from yarl import URL

from smartqq.errors import ConnectError, NetworkError, RequestTimeout, TransportError
from smartqq.protocol.http import HttpRequest, HttpResponse
from smartqq.protocol.redact import redact

from .body import FRAMING_HEADERS, BodyReader

__all__ = ["AiohttpTransport"]

log = logging.getLogger("smartqq.transport")
_CHUNK = 64 * 1024


_HEADER_NAMES: dict[str, istr] = {str(v): v for v in vars(hdrs).values() if isinstance(v, istr)}


@functools.lru_cache(maxsize=64)
def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    # Frozen, so one per distinct limit (a poll's is the same every time).
    return aiohttp.ClientTimeout(total=seconds)


def _onto(base_url: URL | None, real: URL) -> URL:
    """``real``'s path and query on ``base_url`` (the connection goes there)."""
    return real if base_url is None else base_url.with_path(real.path).with_query(real.query)


@functools.lru_cache(maxsize=256)
def _redirected(base_url: URL | None, url: str) -> URL:
    # URLs are immutable and a client calls a handful of query-less endpoints: building
    # one with yarl cost more than the rest of our side of a send together.
    return _onto(base_url, URL(url))


@functools.lru_cache(maxsize=256)
def _netloc(url: str) -> str:
    return urlsplit(url).netloc


def _fits(length: int | None, cap: int | None) -> bool:
    return length is not None and (cap is None or length <= cap)


async def _read(resp: aiohttp.ClientResponse, request: HttpRequest) -> bytes:
    """The decoded body, never more than ``request.max_bytes`` of it."""
    encoding = resp.headers.get("Content-Encoding", "")
    reader = BodyReader(encoding, request.max_bytes, request.endpoint)
    try:
        if not encoding and _fits(resp.content_length, request.max_bytes):
            # The common case: a plain body of a declared length under the cap
            # (aiohttp stops at Content-Length), read in one go.
            reader.feed(await resp.read())
        else:
            async for chunk in resp.content.iter_chunked(_CHUNK):
                reader.feed(chunk)
        return reader.finish()
    except BaseException:
        resp.close()  # drop the connection: the rest of the body is never read
        raise


def _new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(),
        connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
        auto_decompress=False,
    )


class _Shared:
    """The session of one event loop and how many transports hold it."""

    __slots__ = ("session", "users")

    def __init__(self) -> None:
        self.session = _new_session()
        self.users = 0


_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared] = weakref.WeakKeyDictionary()


class AiohttpTransport:
    """Sends requests over a pooled ``aiohttp.ClientSession`` (created lazily; one per
    event loop, shared by every transport on it, unless ``share_session=False``)."""

    # One per client: slots instead of a __dict__ save ~50 B each at 1,000 clients.
    __slots__ = ("_closed", "_lease", "_session", "base_url", "default_timeout", "share_session")

    def __init__(
        self,
        base_url: str | None = None,
        default_timeout: float = 30.0,
        *,
        share_session: bool = True,
    ) -> None:
        self.base_url = URL(base_url) if base_url else None
        self.default_timeout = default_timeout
        self.share_session = share_session
        self._session: aiohttp.ClientSession | None = None
        self._lease: _Shared | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<AiohttpTransport base_url={self.base_url}>"

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily so it binds to the loop that actually runs the client.
        if self._session is not None and not self._session.closed:
            return self._session
        self._release()
        if not self.share_session:
            self._session = _new_session()
            return self._session
        loop = asyncio.get_running_loop()
        shared = _SHARED.get(loop)
        if shared is None or shared.session.closed:
            shared = _SHARED[loop] = _Shared()
        shared.users += 1
        self._lease = shared
        self._session = shared.session
        return self._session

    def _release(self) -> aiohttp.ClientSession | None:
        """Give our hold on the session up; the session to close, if we were the last."""
        session, lease = self._session, self._lease
        self._session = self._lease = None
        if lease is None:
            return session  # our own session (share_session=False), or none
        lease.users -= 1
        if lease.users > 0:
            return None
        for loop, shared in list(_SHARED.items()):
            if shared is lease:
                del _SHARED[loop]
        return lease.session

    def _target(self, request: HttpRequest) -> URL:
        if not request.query:  # poll2 and the sends: the same few URLs, over and over
            return _redirected(self.base_url, request.url)
        return _onto(self.base_url, URL(request.url).with_query(list(request.query)))

    def _headers(self, request: HttpRequest) -> dict[str, str]:
        # aiohttp's own header names (istr) where ours are among them: a plain str name
        # costs a lower-cased copy per header per request, held as long as the poll is
        # (~1 KiB per client at 1,000 clients).
        headers = {_HEADER_NAMES.get(k, k): v for k, v in request.headers}
        if self.base_url is not None:
            headers[hdrs.HOST] = _netloc(request.url)
        headers.setdefault(hdrs.ACCEPT_ENCODING, "gzip, deflate")
        if request.form is not None:
            headers[hdrs.CONTENT_TYPE] = "application/x-www-form-urlencoded"
        return headers

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        if self._closed:
            raise NetworkError(f"{request.endpoint}: the transport is closed")
        limit = timeout or request.timeout or self.default_timeout
        try:
            url = self._target(request)
            data = request.form_body() if request.form is not None else request.body
            if log.isEnabledFor(logging.DEBUG):  # redacting costs more than the request
                log.debug("%s %s", request.method, redact(request.full_url))
            # The headers are not bound to a name here: this frame lives as long as a
            # held poll, and aiohttp keeps its own copy.
            async with self._client().request(
                request.method,
                url,
                data=data,
                headers=self._headers(request),
                allow_redirects=False,
                timeout=_timeout(limit),
            ) as resp:
                body = await _read(resp, request)
                log.debug("%s -> %s (%d bytes)", request.endpoint, resp.status, len(body))
                kept = resp.headers.copy()
                for name in FRAMING_HEADERS:
                    kept.popall(name, None)
                return HttpResponse(resp.status, body, tuple(kept.items()), request.url)
        except aiohttp.ClientConnectorError as exc:
            reason = exc.os_error.strerror or type(exc.os_error).__name__
            raise ConnectError(f"cannot connect for {request.endpoint}: {reason}") from None
        except TimeoutError:
            raise RequestTimeout(f"{request.endpoint} timed out after {limit:.0f}s") from None
        except aiohttp.ClientError as exc:
            raise NetworkError(f"{request.endpoint} failed: {type(exc).__name__}") from None
        except (ValueError, UnicodeError) as exc:
            # A URL or header value that cannot go on the wire (CR/LF, bad escapes).
            raise TransportError(
                f"{request.endpoint} could not be sent: {type(exc).__name__}"
            ) from None

    async def aclose(self) -> None:
        self._closed = True
        session = self._release()
        if session is not None and not session.closed:
            await session.close()
