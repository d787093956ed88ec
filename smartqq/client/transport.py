"""The one client-side module that imports aiohttp.

It sends :class:`HttpRequest` values and returns :class:`HttpResponse` values.
Cookies come from and go to the sans-IO :class:`CookieJar`, matched by the
request's *real* host. With ``base_url`` only the connection is redirected:
the request keeps its original ``Host`` header, so an emulator (or any
compatible server) sees exactly what the real service would have seen.
aiohttp and timeout errors become :mod:`smartqq.errors` here and nowhere else.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from smartqq.errors import ConnectError, NetworkError, RequestTimeout
from smartqq.protocol.http import CookieJar, HttpRequest, HttpResponse
from smartqq.protocol.redact import redact

__all__ = ["AiohttpTransport"]

log = logging.getLogger("smartqq.transport")


class AiohttpTransport:
    def __init__(self, base_url: str | None = None, default_timeout: float = 30.0) -> None:
        self.base_url = URL(base_url) if base_url else None
        self.default_timeout = default_timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily so it binds to the loop that actually runs the client.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                auto_decompress=True,
            )
        return self._session

    def _target(self, req: HttpRequest) -> tuple[URL, dict[str, str]]:
        headers = dict(req.headers)
        real = URL(req.url).with_query(list(req.query)) if req.query else URL(req.url)
        if self.base_url is None:
            return real, headers
        parts = urlsplit(req.url)
        headers["Host"] = parts.netloc
        target = self.base_url.with_path(real.path).with_query(real.query)
        return target, headers

    async def send(
        self, req: HttpRequest, jar: CookieJar, timeout: float | None = None
    ) -> HttpResponse:
        url, headers = self._target(req)
        cookie = jar.header_for(req.url)
        if cookie:
            headers["Cookie"] = cookie
        data: bytes | None = None
        if req.form is not None:
            data = req.form_body()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        limit = timeout or req.timeout or self.default_timeout
        if log.isEnabledFor(logging.DEBUG):  # redacting costs more than the request itself
            log.debug("%s %s", req.method, redact(req.full_url))
        try:
            async with self._client().request(
                req.method,
                url,
                data=data,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=limit),
            ) as resp:
                body = await resp.read()
                jar.update_from(req.url, resp.headers.getall("Set-Cookie", []))
                log.debug("%s -> %s (%d bytes)", req.endpoint, resp.status, len(body))
                return HttpResponse(resp.status, body, tuple(resp.headers.items()), req.url)
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(
                f"cannot connect for {req.endpoint}: {exc.os_error.strerror or exc}"
            ) from exc
        except TimeoutError as exc:
            raise RequestTimeout(f"{req.endpoint} timed out after {limit:.0f}s") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"{req.endpoint} failed: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
