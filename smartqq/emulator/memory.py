"""An in-memory transport: a client served by the emulator's service, with no socket.

:class:`MemoryTransport` satisfies the client's ``Transport`` protocol
(``async send(request, *, timeout=None) -> HttpResponse``, ``async aclose()``). It builds
the service's request from the same parts the aiohttp shell reads -- the real URL's path,
its Host (``Host`` header if the caller set one, else the URL's), the query, the form body
and the headers -- so routing, cookies (``Cookie`` in, ``Set-Cookie`` out) and every answer
are those a client gets over loopback. Like the shell it serves the protocol endpoints
only; the ``/_emu/`` control API is reached through :class:`~smartqq.emulator.Emulator`'s
methods instead.

A timeout (the call's, else the request's) cancels a held poll2 before it takes any
event; an answer that was ready but not handed over is rolled back, so nothing is lost.
A ``close`` fault raises :class:`~smartqq.errors.NetworkError`, as a dropped connection
does on the socket transport; a body over ``request.max_bytes`` raises
``ResponseTooLarge`` (a :class:`~smartqq.errors.ProtocolError`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from smartqq import errors
from smartqq.protocol.http import HttpRequest, HttpResponse

from .http import EmuRequest, EmuResponse

if TYPE_CHECKING:
    from .service import SmartQQService

__all__ = ["MemoryTransport"]

PEER = ("127.0.0.1", 0)


def _too_large(endpoint: str, limit: int, size: int) -> errors.SmartQQError:
    # ResponseTooLarge(endpoint, limit) comes with the client's transport seam; before it
    # exists the plain ProtocolError it derives from is raised.
    kind: Any = getattr(errors, "ResponseTooLarge", None)
    if kind is not None:
        error: errors.SmartQQError = kind(endpoint, limit)
        return error
    return errors.ProtocolError(f"{endpoint or 'response'} body of {size} bytes is over {limit}")


def _abandon(task: asyncio.Future[EmuResponse]) -> None:
    """Cancel an answer nobody will read; one that was ready anyway is rolled back."""

    def settle(done: asyncio.Future[EmuResponse]) -> None:
        if not done.cancelled() and done.exception() is None:
            done.result().rollback()

    task.add_done_callback(settle)
    task.cancel()


class MemoryTransport:
    """``Client(transport=emu.transport())``: requests answered in process."""

    def __init__(self, service: SmartQQService, *, default_timeout: float = 30.0) -> None:
        self.service = service
        self.default_timeout = default_timeout
        self.closed = False

    def _incoming(self, request: HttpRequest) -> EmuRequest:
        parts = urlsplit(request.url)
        query = parts.query
        if request.query:
            extra = urlencode(request.query)
            query = f"{query}&{extra}" if query else extra
        headers = dict(request.headers)
        if not any(k.lower() == "host" for k in headers):
            headers["Host"] = parts.netloc
        body: bytes = getattr(request, "body", None) or b""  # a raw body, when the seam has one
        if request.form is not None:
            body = request.form_body()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return EmuRequest.build(
            request.method,
            parts.path or "/",
            query,
            body,
            headers,
            peer=PEER,
            alive=lambda: not self.closed,
        )

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        if self.closed:
            raise errors.NetworkError(f"{request.endpoint}: the transport is closed")
        limit = timeout or request.timeout or self.default_timeout
        task = asyncio.ensure_future(self.service.handle(self._incoming(request)))
        try:
            done, _ = await asyncio.wait({task}, timeout=limit)
        except asyncio.CancelledError:
            _abandon(task)
            raise
        if not done:
            _abandon(task)
            name = request.endpoint or "request"
            raise errors.RequestTimeout(f"{name} timed out after {limit:.0f}s")
        answer = task.result()
        if answer.close:
            raise errors.NetworkError(f"{request.endpoint or 'request'} failed: connection closed")
        max_bytes = getattr(request, "max_bytes", None)
        if max_bytes is not None and len(answer.body) > max_bytes:
            answer.rollback()
            raise _too_large(request.endpoint, max_bytes, len(answer.body))
        answer.commit()
        return HttpResponse(answer.status, answer.body, tuple(answer.all_headers()), request.url)

    async def aclose(self) -> None:
        self.closed = True
