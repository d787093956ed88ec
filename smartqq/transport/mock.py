"""``MockTransport``: a transport that asks a function for each response.

For tests of code above the transport (sessions, the poller, bots): the
handler maps an :class:`HttpRequest` to an :class:`HttpResponse`, plainly or
as a coroutine, and may raise any :class:`~smartqq.errors.TransportError` to
stand for a network failure. ``request.max_bytes`` is honoured like a real
transport would, so size caps can be tested without sockets.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable

from smartqq.errors import NetworkError, ResponseTooLarge
from smartqq.protocol.http import HttpRequest, HttpResponse

__all__ = ["Handler", "MockTransport"]

Handler = Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]


class MockTransport:
    """``MockTransport(handler)``; ``requests`` keeps the most recent requests seen."""

    def __init__(self, handler: Handler, *, keep: int = 1000) -> None:
        self.handler = handler
        self.requests: deque[HttpRequest] = deque(maxlen=keep)
        self.closed = False

    def __repr__(self) -> str:
        return f"<MockTransport {len(self.requests)} requests closed={self.closed}>"

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        if self.closed:
            raise NetworkError(f"{request.endpoint}: the transport is closed")
        self.requests.append(request)
        answer = self.handler(request)
        response = await answer if inspect.isawaitable(answer) else answer
        if request.max_bytes is not None and len(response.body) > request.max_bytes:
            raise ResponseTooLarge(request.endpoint, request.max_bytes)
        return response

    async def aclose(self) -> None:
        self.closed = True
