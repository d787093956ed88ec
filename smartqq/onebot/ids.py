"""Stable OneBot ids over SmartQQ's per-login handles, and the message_id store.

Design note: SmartQQ hands out a new ``uin``/``gid``/``did`` at every login;
OneBot bots keep QQ numbers and group numbers in their configuration. So:

- ``user_id`` is the real QQ number (``get_friend_uin2`` type 1 on the uin).
  Where the server refuses, the uin itself is used, with one warning, and the
  uin is remembered as "unresolved" so the sender can carry ``smartqq_uin``.
- ``group_id`` is the group number (``get_friend_uin2`` type 4 on the group's
  ``code``; falling back to the code).
- a discussion has no number at all: it gets a synthetic id in
  ``[4_000_000_000, 2**32)`` derived from its name, so it stays the same across
  logins as long as the name does (collisions probe to the next free id).

Everything is cached per login; :meth:`IdMap.reset` forgets it after a re-login.
Only the public :class:`~smartqq.Client` API is used.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smartqq.errors import SmartQQError
from smartqq.models import Discu, DiscuInfo, Friend, Group, GroupInfo

if TYPE_CHECKING:
    from smartqq.client import Client

__all__ = ["DISCUSS_ID_BASE", "DISCUSS_ID_END", "IdMap", "MessageStore", "StoredMessage"]

log = logging.getLogger("smartqq.onebot")

DISCUSS_ID_BASE = 4_000_000_000
DISCUSS_ID_END = 2**32
_INT32_MAX = 2**31 - 1


def synthetic_discuss_id(name: str, taken: set[int]) -> int:
    span = DISCUSS_ID_END - DISCUSS_ID_BASE
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    offset = int.from_bytes(digest, "big") % span
    while DISCUSS_ID_BASE + offset in taken:
        offset = (offset + 1) % span
    return DISCUSS_ID_BASE + offset


class IdMap:
    """uin <-> QQ number, gid <-> group number, did <-> synthetic discussion id."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._lock = asyncio.Lock()
        self.reset()

    def reset(self) -> None:
        self.friends: dict[int, Friend] = {}
        self.groups: dict[int, Group] = {}
        self.discus: dict[int, Discu] = {}
        self._group_info: dict[int, GroupInfo] = {}
        self._discu_info: dict[int, DiscuInfo] = {}
        self._qq: dict[int, int] = {}
        self._uin: dict[int, int] = {}
        self.unresolved: set[int] = set()
        self._warned = False
        self._group_no: dict[int, int] = {}
        self._gid: dict[int, int] = {}
        self._discuss_no: dict[int, int] = {}
        self._did: dict[int, int] = {}
        self._loaded_at: float | None = None

    # -- contact lists -----------------------------------------------------------------

    async def load(self, *, force: bool = False) -> None:
        """Fetch friends, groups and discussions (at most every 5 s unless forced)."""
        async with self._lock:
            now = time.monotonic()
            if not force and self._loaded_at is not None and now - self._loaded_at < 5.0:
                return
            c = self._client
            friends, groups, discus = await asyncio.gather(
                c.get_friends(), c.get_groups(), c.get_discus()
            )
            self.friends = {f.uin: f for f in friends}
            self.groups = {g.gid: g for g in groups}
            self.discus = {d.did: d for d in discus}
            if force:  # member lists are refetched only when asked to (no_cache, joins, leaves)
                self._group_info.clear()
                self._discu_info.clear()
            taken: set[int] = set()
            self._discuss_no, self._did = {}, {}
            for d in sorted(discus, key=lambda d: (d.name, d.did)):
                number = synthetic_discuss_id(d.name, taken)
                taken.add(number)
                self._discuss_no[d.did] = number
                self._did[number] = d.did
            self._loaded_at = now

    async def group_info(self, gid: int) -> GroupInfo | None:
        if gid not in self.groups:
            await self.load()
        group = self.groups.get(gid)
        if group is None:
            return None
        if gid not in self._group_info:
            self._group_info[gid] = await self._client.get_group_info(group)
        return self._group_info[gid]

    def reset_group_info(self) -> None:
        """Forget member lists (a member joined or left)."""
        self._group_info.clear()
        self._discu_info.clear()

    async def discu_info(self, did: int) -> DiscuInfo | None:
        if did not in self._discu_info:
            try:
                self._discu_info[did] = await self._client.get_discu_info(did)
            except SmartQQError as exc:
                log.warning("discussion %d: no member list (%s)", did, exc)
                return None
        return self._discu_info[did]

    # -- people ------------------------------------------------------------------------

    async def qq_of(self, uin: int) -> int:
        """The QQ number behind ``uin`` (the uin itself where the server refuses)."""
        known = self._qq.get(uin)
        if known is not None:
            return known
        try:
            qq = await self._client.get_qq_number(uin)
        except SmartQQError as exc:
            if not self._warned:
                log.warning(
                    "get_friend_uin2 refused (%s): user_id falls back to the session uin", exc
                )
                self._warned = True
            qq = uin
            self.unresolved.add(uin)
        self._qq[uin] = qq
        self._uin.setdefault(qq, uin)
        return qq

    async def uin_of(self, qq: int, *, members: bool = True) -> int | None:
        """The session uin of QQ ``qq``: friends first, then group members."""
        if qq in self._uin:
            return self._uin[qq]
        await self.load()
        await asyncio.gather(*(self.qq_of(uin) for uin in self.friends))
        if qq in self._uin:
            return self._uin[qq]
        if members:
            for gid in list(self.groups):
                info = await self.group_info(gid)
                if info is not None:
                    await asyncio.gather(*(self.qq_of(m.uin) for m in info.members))
                if qq in self._uin:
                    return self._uin[qq]
        # A server without get_friend_uin2: bots see uins as user_ids.
        if qq in self.friends or qq in self.unresolved:
            return qq
        return None

    def remember(self, qq: int, uin: int) -> None:
        self._qq[uin] = qq
        self._uin[qq] = uin

    # -- groups and discussions --------------------------------------------------------

    async def group_id_of(self, gid: int) -> int:
        known = self._group_no.get(gid)
        if known is not None:
            return known
        if gid not in self.groups:
            await self.load()
        group = self.groups.get(gid)
        if group is None:
            number = gid
        else:
            try:
                number = await self._client.get_qq_number(group.code, kind=4)
            except SmartQQError as exc:
                log.warning("group %s: no group number (%s); using its code", group.name, exc)
                number = group.code
        self._group_no[gid] = number
        self._gid[number] = gid
        return number

    async def gid_of(self, group_id: int) -> int | None:
        if group_id in self._gid:
            return self._gid[group_id]
        await self.load()
        await asyncio.gather(*(self.group_id_of(gid) for gid in self.groups))
        return self._gid.get(group_id)

    async def discuss_id_of(self, did: int) -> int:
        if did not in self._discuss_no:
            await self.load(force=True)
        number = self._discuss_no.get(did)
        if number is None:  # not in the list: still answerable, still in the range
            number = synthetic_discuss_id(f"did:{did}", set(self._did))
            self._discuss_no[did] = number
            self._did[number] = did
        return number

    async def did_of(self, discuss_id: int) -> int | None:
        if discuss_id not in self._did:
            await self.load()
        return self._did.get(discuss_id)


@dataclass
class StoredMessage:
    message_id: int
    time: int
    message_type: str
    sender: dict[str, Any]
    message: list[dict[str, Any]]
    raw_message: str
    group_id: int | None = None
    user_id: int | None = None
    real_ids: tuple[int, ...] = ()


class MessageStore:
    """Generated positive int32 message ids; the newest ``size`` messages are kept."""

    def __init__(self, size: int = 5000) -> None:
        self._size = size
        self._items: OrderedDict[int, StoredMessage] = OrderedDict()
        self._next = 1

    def next_id(self) -> int:
        ident = self._next
        self._next = 1 if ident >= _INT32_MAX else ident + 1
        return ident

    def add(self, message: StoredMessage) -> None:
        self._items[message.message_id] = message
        self._items.move_to_end(message.message_id)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def get(self, message_id: int) -> StoredMessage | None:
        return self._items.get(message_id)

    def __len__(self) -> int:
        return len(self._items)
