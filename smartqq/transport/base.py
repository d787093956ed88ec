"""The transport seam: one :class:`HttpRequest` in, one :class:`HttpResponse` out.

A transport only moves bytes. It keeps no cookies (the session adds the
``Cookie`` header and reads every ``Set-Cookie``), follows no redirects and
parses nothing. It raises :class:`~smartqq.errors.TransportError` subclasses
when no answer arrived and :class:`~smartqq.errors.ResponseTooLarge` when the
decompressed body grows past ``request.max_bytes``; neither carries the
underlying library's exception as a cause, since those quote URLs full of
session secrets.

Implementations: :class:`~smartqq.transport.AsyncioTransport` (sockets, the
client's default), :class:`~smartqq.transport.AiohttpTransport` (sockets, through
aiohttp's client), :class:`~smartqq.transport.MockTransport` (a function) and the
emulator's in-memory transport.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from smartqq.protocol.http import HttpRequest, HttpResponse

__all__ = ["Transport"]


@runtime_checkable
class Transport(Protocol):
    """What the session needs to exchange one request for one response."""

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        """Send ``request`` to its real URL (or wherever this transport routes it)."""

    async def aclose(self) -> None:
        """Release connections; ``send`` after this raises a ``TransportError``."""
