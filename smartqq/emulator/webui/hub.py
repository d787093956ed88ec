"""The web page's state: signed-in world users, the chat history of this run, live
subscriptions, and the operator's journal.

One :class:`Hub` per :class:`~smartqq.emulator.Emulator`; it outlives the
emulator's ``restart()`` (the aiohttp app is rebuilt, the hub is not), so
history, page sessions and the journal survive a restart just as the world does.

Messages reach the hub from two sides: whatever a SmartQQ client (the bot)
sends, through ``Emulator.on_sent``, and whatever a person sends from the page.
Each message is offered to every subscription of every account that can see it
(both ends of a buddy chat; every member of a group or discussion). Everything
is bounded: history, journal, sessions and each subscriber's queue.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from . import bridge
from .facade import EmulatorView

__all__ = ["Hub", "HubHolder", "Subscription", "hub_for", "normalize_content"]

HISTORY = 5_000
JOURNAL = 2_000
PAGE_SESSIONS = 1_000
QUEUE = 1_000


class HubHolder(EmulatorView, Protocol):
    """An emulator that keeps its web page's :class:`Hub` (``Emulator.web_hub``).

    Typed here rather than in :mod:`.facade`, so the facade needs nothing from this module
    and the two do not import each other.
    """

    web_hub: Hub | None


def hub_for(emulator: HubHolder) -> Hub:
    """The emulator's hub, created on first use and kept across restarts.

    Held by the emulator itself: the hub refers back to it, and a module-level
    mapping keyed by the emulator would keep both (and every journal) alive forever.
    """
    hub = emulator.web_hub
    if hub is None:
        hub = emulator.web_hub = Hub(emulator)
    return hub


def normalize_content(content: Any) -> list[str | list[Any]]:
    """A client's wire content as the page shows it: text and ``["face", n]``; the font
    element is dropped and anything else (pictures…) becomes a short text mark."""
    out: list[str | list[Any]] = []
    if not isinstance(content, list):
        return [str(content)]
    for el in content:
        if isinstance(el, str):
            out.append(el)
        elif isinstance(el, list) and el and el[0] == "face" and len(el) > 1:
            try:
                out.append(["face", int(el[1])])
            except (TypeError, ValueError):
                out.append("[face]")
        elif isinstance(el, list) and el and el[0] != "font":
            out.append(f"[{el[0]}]")
    return out


@dataclass
class Subscription:
    """One live page (a WebSocket): what it receives waits in a bounded queue."""

    qq: int | None
    """The account it follows, or None for the operator's journal."""
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE)
    )
    overflowed: bool = False

    def offer(self, item: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True  # a stuck page is dropped; it reconnects and reloads


class Hub:
    def __init__(self, emulator: EmulatorView) -> None:
        self.emu = emulator
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self.journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL)
        self.page_sessions: dict[str, int] = {}
        self.chat_subs: list[Subscription] = []
        self.journal_subs: list[Subscription] = []
        self._ids = itertools.count(1)
        self._journal_ids = itertools.count(1)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.sockets: set[web.WebSocketResponse] = set()
        self.unwatch: Callable[[], None] = emulator.on_sent(self._client_sent)
        self._page_sending = False
        bridge.watch_injected(emulator, self._world_sent)

    # -- page sessions -----------------------------------------------------------------

    def open_page_session(self, qq: int) -> str:
        token = secrets.token_urlsafe(24)
        self.page_sessions[token] = qq
        while len(self.page_sessions) > PAGE_SESSIONS:
            del self.page_sessions[next(iter(self.page_sessions))]
        return token

    def page_account(self, token: str | None) -> int | None:
        return self.page_sessions.get(token) if token else None

    def online_on_page(self, qq: int) -> bool:
        return any(s.qq == qq for s in self.chat_subs)

    # -- messages ----------------------------------------------------------------------

    def _world_sent(
        self, kind: str, sender: int, to: int, content: list[Any], delivered_to: int
    ) -> None:
        """A scripted or injected message from a world account (the page's own are
        recorded by :meth:`send_as`, with the answer the page needs)."""
        if self._page_sending:
            return
        self.add_message(kind, sender, to, normalize_content(content), "script", delivered_to)
        self.log(
            {"type": "script", "qq": sender, "kind": kind, "to": to, "delivered": delivered_to}
        )

    def send_as(
        self, kind: str, sender: int, to: int, content: list[str | list[Any]]
    ) -> dict[str, Any]:
        """Send as a world account from the page; the message as the page shows it."""
        user = self.emu.user(sender)
        self._page_sending = True
        try:
            if kind == "buddy":
                count = user.send_buddy(to, list(content))
            elif kind == "group":
                count = user.send_group(to, list(content))
            else:
                count = user.send_discu(to, list(content))
        finally:
            self._page_sending = False
        msg = self.add_message(kind, sender, to, content, "page", delivered_to=count)
        self.log({"type": "page", "qq": sender, "kind": kind, "to": to, "delivered": count})
        return msg

    def _client_sent(self, record: dict[str, Any]) -> None:
        kind = str(record.get("kind", ""))
        sender, to = record.get("from"), record.get("to")
        if not isinstance(sender, int) or not isinstance(to, int):
            return
        self.add_message(kind, sender, to, normalize_content(record.get("content")), "client")
        self.log(
            {
                "type": "sent",
                "qq": sender,
                "kind": kind,
                "to": to,
                "text": str(record.get("text", ""))[:200],
                "delivered": bool(record.get("delivered", True)),
            }
        )

    def add_message(
        self,
        kind: str,
        sender: int,
        to: int,
        content: list[str | list[Any]],
        via: str,
        delivered_to: int | None = None,
    ) -> dict[str, Any]:
        msg = {
            "id": next(self._ids),
            "t": time.time(),
            "kind": kind,
            "from": sender,
            "to": to,
            "content": content,
            "via": via,
        }
        if delivered_to is not None:
            msg["delivered_to"] = delivered_to
        self.history.append(msg)
        for sub in self.chat_subs:
            if sub.qq is not None and self.can_see(sub.qq, msg):
                sub.offer({"type": "message", "message": msg})
        return msg

    def can_see(self, qq: int, msg: dict[str, Any]) -> bool:
        kind, world = msg["kind"], self.emu.world
        if kind in ("buddy", "sess"):
            return qq in (msg["from"], msg["to"])
        if kind == "group":
            group = world.groups.get(msg["to"])
            return group is not None and qq in group.members
        if kind == "discu":
            disc = world.discussions.get(msg["to"])
            return disc is not None and qq in disc.members
        return False

    def history_of(self, qq: int) -> list[dict[str, Any]]:
        return [m for m in self.history if self.can_see(qq, m)][-500:]

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(self, qq: int | None) -> Subscription:
        sub = Subscription(qq)
        (self.chat_subs if qq is not None else self.journal_subs).append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        for subs in (self.chat_subs, self.journal_subs):
            if sub in subs:
                subs.remove(sub)

    # -- journal -----------------------------------------------------------------------

    def log(self, entry: dict[str, Any]) -> None:
        entry = {"id": next(self._journal_ids), "t": time.time(), **entry}
        self.journal.append(entry)
        for sub in self.journal_subs:
            sub.offer({"type": "entry", "entry": entry})

    def spawn(self, coro: Any) -> None:
        """Run ``coro`` in the background, keeping a reference until it ends."""
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
