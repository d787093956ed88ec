"""The contact cache: friends, groups (with members and cards), discussions.

Looked up by uin/gid/did and by name. Refreshed on an interval, and on demand
(debounced) when an unknown id shows up, since uins change between logins.
"""

from __future__ import annotations

import asyncio
import logging
import time

from smartqq._tasks import cancel_and_wait
from smartqq.errors import SmartQQError, UsageError
from smartqq.events import DiscuMessage, GroupMessage, MessageEvent, SessMessage
from smartqq.models import Discu, DiscuInfo, Friend, Group, GroupInfo
from smartqq.table import Table

from .api import Api

__all__ = ["Contacts", "contact_tables"]

log = logging.getLogger("smartqq.contacts")
_DEBOUNCE = 5.0


class Contacts:
    # One per client: slots instead of a __dict__ save ~50 B each at 1,000 clients.
    __slots__ = (
        "_api",
        "_lock",
        "_task",
        "discu_info",
        "discus",
        "friends",
        "group_info",
        "groups",
        "loaded_at",
        "refresh_interval",
    )

    def __init__(self, api: Api, refresh_interval: float | None = 600.0) -> None:
        self._api = api
        self.refresh_interval = refresh_interval
        self.friends: dict[int, Friend] = {}
        self.groups: dict[int, Group] = {}
        self.discus: dict[int, Discu] = {}
        self.group_info: dict[int, GroupInfo] = {}
        self.discu_info: dict[int, DiscuInfo] = {}
        self.loaded_at: float | None = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None

    async def refresh(self, *, force: bool = True) -> None:
        """Reload friends, groups and discussions (debounced unless ``force``)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if (
                not force
                and self.loaded_at is not None
                and time.monotonic() - self.loaded_at < _DEBOUNCE
            ):
                return
            api = self._api
            friends, groups, discus = await asyncio.gather(
                api.friends(), api.groups(), api.discus()
            )
            self.friends = {f.uin: f for f in friends}
            self.groups = {g.gid: g for g in groups}
            self.discus = {d.did: d for d in discus}
            self.group_info.clear()
            self.discu_info.clear()
            self.loaded_at = time.monotonic()

    def invalidate(self) -> None:
        """Forget everything: after a re-login the server hands out new uins."""
        self.friends, self.groups, self.discus = {}, {}, {}
        self.group_info.clear()
        self.discu_info.clear()
        self.loaded_at = None

    async def require(self, kind: str, ident: int) -> None:
        """Raise :class:`UsageError` if ``ident`` is not a known friend/group/discussion."""
        attr = {"buddy": "friends", "group": "groups", "discu": "discus"}[kind]
        if ident in getattr(self, attr):
            return
        await self.refresh(force=False)
        if ident not in getattr(self, attr):
            names = {"buddy": "friend", "group": "group", "discu": "discussion"}
            raise UsageError(f"no {names[kind]} with id {ident} in the contact list")

    def start(self) -> None:
        if self.refresh_interval and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(
                self._periodic(), name="smartqq-contacts"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _periodic(self) -> None:
        assert self.refresh_interval
        while True:
            await asyncio.sleep(self.refresh_interval)
            try:
                await self.refresh()
            except SmartQQError as exc:
                log.warning("contact refresh failed: %s", exc)

    def tables(self) -> tuple[Table, Table, Table]:
        """Friends, groups and discussions as tables (text in a terminal, HTML in notebooks)."""
        return contact_tables(
            list(self.friends.values()), list(self.groups.values()), list(self.discus.values())
        )

    # -- lookups -----------------------------------------------------------------------

    def friend_by_name(self, name: str) -> Friend | None:
        return next((f for f in self.friends.values() if name in (f.markname, f.nick)), None)

    def group_by_name(self, name: str) -> Group | None:
        return next((g for g in self.groups.values() if name in (g.name, g.markname)), None)

    def discu_by_name(self, name: str) -> Discu | None:
        return next((d for d in self.discus.values() if d.name == name), None)

    async def group_members(self, gid: int) -> GroupInfo | None:
        if gid not in self.groups:
            await self.refresh(force=False)
        group = self.groups.get(gid)
        if group is None:
            return None
        if gid not in self.group_info:
            self.group_info[gid] = await self._api.group_info(group)
        return self.group_info[gid]

    async def discu_members(self, did: int) -> DiscuInfo | None:
        if did not in self.discu_info:
            self.discu_info[did] = await self._api.discu_info(did)
        return self.discu_info[did]

    async def _group_name(self, gid: int, uin: int) -> str:
        info = await self.group_members(gid)
        member = info.member(uin) if info else None
        return member.display_name if member else str(uin)

    async def _discu_name(self, did: int, uin: int) -> str:
        info = await self.discu_members(did)
        member = info.member(uin) if info else None
        return member.display_name if member else str(uin)

    def knows_sender(self, event: MessageEvent) -> bool:
        """True when the sender is a friend or a member in the cached member list (no I/O)."""
        uin = event.sender_uin
        if isinstance(event, GroupMessage):
            group_info = self.group_info.get(event.from_uin)
            return group_info is not None and group_info.member(uin) is not None
        if isinstance(event, DiscuMessage):
            discu_info = self.discu_info.get(event.did or event.from_uin)
            return discu_info is not None and discu_info.member(uin) is not None
        return uin in self.friends

    async def display_name(self, event: MessageEvent) -> str:
        uin = event.sender_uin
        try:
            if isinstance(event, GroupMessage):
                return await self._group_name(event.from_uin, uin)
            if isinstance(event, DiscuMessage):
                return await self._discu_name(event.did or event.from_uin, uin)
            if isinstance(event, SessMessage) and uin not in self.friends:
                # A stranger writing from a shared group (service_type 0) or discussion (1).
                if event.service_type == 1:
                    return await self._discu_name(event.id, uin)
                return await self._group_name(event.id, uin)
            if uin not in self.friends:
                await self.refresh(force=False)
            friend = self.friends.get(uin)
            return friend.display_name if friend else str(uin)
        except SmartQQError as exc:
            log.warning("could not resolve a name for %d: %s", uin, exc)
            return str(uin)


def contact_tables(
    friends: list[Friend], groups: list[Group], discus: list[Discu]
) -> tuple[Table, Table, Table]:
    return (
        Table.of(
            ("uin", "name", "nick", "category"),
            [(f.uin, f.display_name, f.nick, f.category_name) for f in friends],
            f"Friends ({len(friends)})",
        ),
        Table.of(
            ("gid", "code", "name"),
            [(g.gid, g.code, g.name) for g in groups],
            f"Groups ({len(groups)})",
        ),
        Table.of(
            ("did", "name"), [(d.did, d.name) for d in discus], f"Discussions ({len(discus)})"
        ),
    )
