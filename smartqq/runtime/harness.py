"""``RouterTester``: run routers without a server, feed them messages, read the replies.

It is a :class:`~smartqq.events.Replier` with a real :class:`Dispatcher`, so
routers, filters, commands, middleware, per-chat workers and ``msg.ask`` behave
exactly as under a client; only sending is replaced by recording. Each
``buddy``/``group``/``discu``/``sess`` call dispatches one message, waits until
the handlers have finished with it (or are waiting for an answer), and returns
the texts they replied with::

    async with RouterTester(router) as bot:
        assert await bot.buddy("/roll 1") == ["1"]
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from smartqq.content import Content, Font, Segment, Text
from smartqq.events import Event, MessageEvent, parse_event
from smartqq.models import SendResult, SendStatus

from .dispatch import Concurrency, Dispatcher
from .lifecycle import ask_in_chat
from .router import Router

__all__ = ["Reply", "RouterTester"]


@dataclass(frozen=True, slots=True)
class Reply:
    """One message a handler sent: its text, the chat and the event it answered."""

    text: str
    chat: tuple[str, int]
    event: MessageEvent


def _text(content: str | Content | Segment | Sequence[str | Segment]) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Content):
        return content.text
    if isinstance(content, Segment):
        return content.text if isinstance(content, Text) else ""
    return "".join(_text(part) for part in content)


class RouterTester:
    """A fake client for routers: records replies instead of sending them."""

    def __init__(
        self,
        *routers: Router,
        self_uin: int = 10001,
        self_nick: str = "bot",
        concurrency: Concurrency = "chat",
        settle_timeout: float = 5.0,
    ) -> None:
        self.self_uin = self_uin
        self.self_nick = self_nick
        self.settle_timeout = settle_timeout
        self.dispatcher = Dispatcher(self, concurrency=concurrency)
        for router in routers:
            self.dispatcher.router.include_router(router)
        self.replies: list[Reply] = []
        self.names: dict[int, str] = {}
        self._ids = itertools.count(1)

    @property
    def router(self) -> Router:
        return self.dispatcher.router

    # -- the Replier protocol --------------------------------------------------------

    async def reply_to(
        self,
        event: MessageEvent,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        font: Font | None = None,
    ) -> SendResult:
        self.replies.append(Reply(_text(content), event.chat_key, event))
        kind, target = event.chat_key
        return SendResult(
            kind=kind, target=target, msg_ids=(len(self.replies),), status=SendStatus.SENT
        )

    async def display_name_for(self, event: MessageEvent) -> str:
        return self.names.get(event.sender_uin, str(event.sender_uin))

    async def ask(
        self,
        event: MessageEvent,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        timeout: float | None = None,
    ) -> MessageEvent:
        return await ask_in_chat(
            self.dispatcher, lambda: self.reply_to(event, content), event, timeout
        )

    # -- feeding -----------------------------------------------------------------------

    async def feed(self, event: Event) -> list[str]:
        """Dispatch ``event``; return the texts replied while handling it."""
        before = len(self.replies)
        self.dispatcher.dispatch(event)
        await self.settle()
        return [r.text for r in self.replies[before:]]

    def _message(self, poll_type: str, text: str, **value: Any) -> Event:
        value.setdefault("msg_id", next(self._ids))
        value.setdefault("to_uin", self.self_uin)
        value["content"] = [["font", {"name": "Arial", "size": 10}], text]
        return parse_event({"poll_type": poll_type, "value": value})

    async def buddy(self, text: str, *, sender: int = 10002) -> list[str]:
        return await self.feed(self._message("message", text, from_uin=sender))

    async def group(self, text: str, *, sender: int = 10002, group: int = 20001) -> list[str]:
        return await self.feed(
            self._message("group_message", text, from_uin=group, send_uin=sender, group_code=group)
        )

    async def discu(self, text: str, *, sender: int = 10002, discu: int = 30001) -> list[str]:
        return await self.feed(
            self._message("discu_message", text, from_uin=discu, did=discu, send_uin=sender)
        )

    async def sess(self, text: str, *, sender: int = 10005, group: int = 20001) -> list[str]:
        return await self.feed(self._message("sess_message", text, from_uin=sender, id=group))

    async def settle(self) -> None:
        """Wait until every handler is done or waiting for an answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle_timeout
        workers = self.dispatcher.workers
        while True:
            await asyncio.sleep(0)
            waiting = sum(1 for w in self.dispatcher._waiters or () if not w.future.done())
            others = [
                t for t in self.dispatcher.tasks if not t.get_name().startswith("smartqq-chat")
            ]
            if not workers.pending() and workers.busy <= waiting and not others:
                return
            if loop.time() > deadline:
                raise TimeoutError(f"handlers still busy after {self.settle_timeout} s")
            await asyncio.sleep(0.001)

    async def close(self) -> None:
        """Finish handlers (cancelling what is left after ``settle_timeout``)."""
        self.dispatcher.end_streams()
        await self.dispatcher.drain(self.settle_timeout)
        self.dispatcher.router.detach_all()  # the routers may be tested again

    async def __aenter__(self) -> RouterTester:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
