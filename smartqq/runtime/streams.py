"""``client.events()``: bounded ``async for`` sources of events.

Overflow policy: each stream has its own queue of ``buffer`` events; when it
is full the *oldest* event is dropped (and counted in ``dropped``) so a slow
consumer never stalls polling or other handlers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Generic, TypeVar, cast

from smartqq.events import Event

__all__ = ["EventStream"]

log = logging.getLogger("smartqq.dispatch")
E = TypeVar("E", bound=Event)


class EventStream(Generic[E]):
    """An ``async for`` source of events, buffering from the moment it is created.

    Ends when the client closes or polling stops for good; ``close()`` (or
    leaving ``async with``) unsubscribes early.
    """

    def __init__(self, streams: set[EventStream[Any]], event_type: type[E], buffer: int) -> None:
        self._streams = streams  # the dispatcher's set of live streams
        self.event_type = event_type
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=buffer)
        self.dropped = 0
        self.ended = False

    def offer(self, event: Event) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            log.warning("events() buffer full: dropped the oldest event (%d so far)", self.dropped)
        self.queue.put_nowait(event)

    def __aiter__(self) -> EventStream[E]:
        return self

    def end(self) -> None:
        """No more events will come; what is buffered is still delivered."""
        self.ended = True
        if not self.queue.full():
            self.queue.put_nowait(None)  # wakes a consumer waiting on an empty queue

    async def __anext__(self) -> E:
        if self.ended and self.queue.empty():
            self.close()
            raise StopAsyncIteration
        item = await self.queue.get()
        if item is None:
            self.close()
            raise StopAsyncIteration
        return cast(E, item)

    def close(self) -> None:
        self._streams.discard(self)

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> EventStream[E]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
