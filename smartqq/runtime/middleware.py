"""Built-in middleware: an error hook, a per-chat rate limiter, the self-echo filter.

Use them with ``router.middleware(...)`` (inner: around each handler) or
``router.outer_middleware(...)`` (outer: before filters)::

    client.middleware(ErrorHook(report))            # inner: sees handler errors
    client.outer_middleware(RateLimit(5, per=10.0)) # outer: drops floods per chat
    client.outer_middleware(drop_self_echo)         # outer: never see our own messages
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from smartqq.events import Event, MessageEvent

__all__ = ["ErrorHook", "RateLimit", "drop_self_echo"]

log = logging.getLogger("smartqq.dispatch")
Next = Callable[[Event, dict[str, Any]], Awaitable[Any]]


class ErrorHook:
    """Inner middleware: a handler's exception goes to ``callback(exc, event, data)``
    (sync or async) instead of the client's error hook or log."""

    def __init__(self, callback: Callable[[BaseException, Event, dict[str, Any]], Any]) -> None:
        self.callback = callback

    async def __call__(self, handler: Next, event: Event, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception as exc:
            result = self.callback(exc, event, data)
            if inspect.isawaitable(result):
                await result
            return None


class RateLimit:
    """Outer middleware: at most ``limit`` events per chat in any ``per`` seconds;
    the rest are dropped (and, with ``reply``, answered once per window)."""

    def __init__(
        self,
        limit: int,
        per: float = 1.0,
        *,
        reply: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or per <= 0:
            raise ValueError("limit >= 1 and per > 0 are required")
        self.limit, self.per, self.reply, self.clock = limit, per, reply, clock
        self._seen: dict[Hashable, deque[float]] = {}
        self._warned: dict[Hashable, float] = {}
        self.dropped = 0

    async def __call__(self, handler: Next, event: Event, data: dict[str, Any]) -> Any:
        if not isinstance(event, MessageEvent):
            return await handler(event, data)
        now = self.clock()
        key = event.chat_key
        times = self._seen.setdefault(key, deque())
        while times and now - times[0] >= self.per:
            times.popleft()
        if len(times) >= self.limit:
            self.dropped += 1
            log.info("rate limit: dropped a message in %s", key)
            if self.reply and now - self._warned.get(key, -self.per) >= self.per:
                self._warned[key] = now
                await event.reply(self.reply)
            return None
        times.append(now)
        if len(self._seen) > 10_000:  # bounded memory: forget chats quiet for a window
            for stale in [k for k, t in self._seen.items() if not t or now - t[-1] >= self.per]:
                del self._seen[stale]
        return await handler(event, data)


async def drop_self_echo(handler: Next, event: Event, data: dict[str, Any]) -> Any:
    """Outer middleware: drop messages sent by the bot's own account.

    SmartQQ delivers the bot's own group and discussion messages back to it;
    ``Client(ignore_self_echo=True)`` (where available) drops them before
    dispatch; this does the same per router.
    """
    me = getattr(event.client, "self_uin", None)
    if isinstance(event, MessageEvent) and me and event.sender_uin == me:
        return None
    return await handler(event, data)
