"""SmartQQ events as OneBot v11 events.

Design note: frameworks validate events strictly (NoneBot's pydantic models,
aiocqhttp's dispatch on ``post_type``/``message_type``/``sub_type``), so every
message event carries every field the spec lists, ``anonymous: null`` included.
Messages are stored (bounded) under a generated int32 ``message_id`` for
``get_msg``. A temporary-session message remembers the chat it came through so
that a reply to that person goes back the same way. Notices are produced
where SmartQQ has the facts: friend status changes (``notice_type:
"friend_status"``, an extension) and group member changes from ``sys_g_msg``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from smartqq.events import (
    BuddiesStatusChange,
    BuddyMessage,
    DiscuMessage,
    Event,
    GroupMessage,
    MessageEvent,
    SessMessage,
    SysGroupMessage,
)

from .config import OneBotConfig
from .ids import IdMap, MessageStore, StoredMessage
from .message import content_to_segments, to_cq

__all__ = ["Converter", "SessRoute"]

log = logging.getLogger("smartqq.onebot")


def _sex(gender: str) -> str:
    return gender if gender in ("male", "female") else "unknown"


@dataclass(frozen=True)
class SessRoute:
    """How to reach a non-friend: the uin, and the group (0) or discussion (1) handle."""

    uin: int
    via: int
    service_type: int


class Converter:
    def __init__(self, config: OneBotConfig, ids: IdMap, store: MessageStore) -> None:
        self.config = config
        self.ids = ids
        self.store = store
        self.self_id = 0
        self.self_nick = ""
        self.sess_routes: dict[int, SessRoute] = {}

    def base(self, post_type: str, **fields: Any) -> dict[str, Any]:
        return {"time": int(time.time()), "self_id": self.self_id, "post_type": post_type, **fields}

    def lifecycle(self, sub_type: str) -> dict[str, Any]:
        return self.base("meta_event", meta_event_type="lifecycle", sub_type=sub_type)

    def heartbeat(self, status: dict[str, Any], interval: int) -> dict[str, Any]:
        return self.base(
            "meta_event", meta_event_type="heartbeat", status=status, interval=interval
        )

    async def convert(self, event: Event) -> dict[str, Any] | None:
        """The OneBot form of ``event``, or ``None`` if OneBot has nothing for it."""
        if isinstance(event, MessageEvent):
            return await self._message(event)
        if isinstance(event, BuddiesStatusChange):
            return self.base(
                "notice",
                notice_type="friend_status",
                user_id=await self.ids.qq_of(event.uin),
                status=event.status,
                client_type=event.client_type,
            )
        if isinstance(event, SysGroupMessage):
            return await self._sys_group(event)
        return None

    # -- messages ----------------------------------------------------------------------

    async def _person(self, uin: int) -> dict[str, Any]:
        qq = await self.ids.qq_of(uin)
        sender: dict[str, Any] = {"user_id": qq, "nickname": "", "sex": "unknown", "age": 0}
        friend = self.ids.friends.get(uin)
        if friend is None:
            await self.ids.load()
            friend = self.ids.friends.get(uin)
        if friend is not None:
            sender["nickname"] = friend.nick
        if uin in self.ids.unresolved:
            sender["smartqq_uin"] = uin
        return sender

    async def _member(self, gid: int, uin: int) -> dict[str, Any]:
        sender = await self._person(uin)
        sender.update(card="", area="", level="", role="member", title="")
        info = await self.ids.group_info(gid)
        if info is not None:
            member = next((m for m in info.members if m.uin == uin), None)
            if member is not None:
                sender["nickname"] = member.nick or sender["nickname"]
                sender["card"] = member.card
                sender["sex"] = _sex(member.gender)
                sender["area"] = member.city or member.province
                # mflag bit 0 marks an administrator in get_group_info_ext2.
                if member.mflag & 1:
                    sender["role"] = "admin"
            if info.owner == uin:
                sender["role"] = "owner"
        return sender

    async def _discu_member(self, did: int, uin: int) -> dict[str, Any]:
        sender = await self._person(uin)
        sender.update(card="", area="", level="", role="member", title="")
        info = await self.ids.discu_info(did)
        if info is not None:
            member = next((m for m in info.members if m.uin == uin), None)
            if member is not None:
                sender["nickname"] = member.nick or sender["nickname"]
            if info.owner == uin:
                sender["role"] = "owner"
        return sender

    async def _message(self, event: MessageEvent) -> dict[str, Any]:
        segments = content_to_segments(event.content)
        raw = to_cq(segments)
        message: Any = raw if self.config.message_format == "string" else segments
        font = 0
        message_id = self.store.next_id()
        common = {
            "message_id": message_id,
            "message": message,
            "raw_message": raw,
            "font": font,
        }
        when = event.time or int(time.time())
        if isinstance(event, GroupMessage):
            group_id = await self.ids.group_id_of(event.from_uin)
            sender = await self._member(event.from_uin, event.send_uin)
            out = self.base(
                "message",
                message_type="group",
                sub_type="normal",
                group_id=group_id,
                user_id=sender["user_id"],
                anonymous=None,
                sender=sender,
                **common,
            )
        elif isinstance(event, DiscuMessage):
            did = event.did or event.from_uin
            number = await self.ids.discuss_id_of(did)
            sender = await self._discu_member(did, event.send_uin)
            if self.config.discuss_as == "discuss":
                out = self.base(
                    "message",
                    message_type="discuss",
                    discuss_id=number,
                    user_id=sender["user_id"],
                    sender=sender,
                    **common,
                )
            else:
                out = self.base(
                    "message",
                    message_type="group",
                    sub_type="normal",
                    group_id=number,
                    user_id=sender["user_id"],
                    anonymous=None,
                    sender=sender,
                    **common,
                )
        else:
            sender = await self._person(event.from_uin)
            sub_type = "friend"
            if isinstance(event, SessMessage):
                sub_type = "group"
                self.sess_routes[sender["user_id"]] = SessRoute(
                    event.from_uin, event.id, event.service_type
                )
                if not sender["nickname"] and event.service_type == 0:
                    # A stranger: the group the session came through knows the name.
                    member = await self._member(event.id, event.from_uin)
                    sender["nickname"], sender["sex"] = member["nickname"], member["sex"]
            elif not isinstance(event, BuddyMessage):
                sub_type = "other"
            out = self.base(
                "message",
                message_type="private",
                sub_type=sub_type,
                user_id=sender["user_id"],
                sender=sender,
                **common,
            )
        out["time"] = when
        self.store.add(
            StoredMessage(
                message_id=message_id,
                time=when,
                message_type=out["message_type"],
                sender=sender,
                message=segments,
                raw_message=raw,
                group_id=out.get("group_id", out.get("discuss_id")),
                user_id=sender["user_id"],
                real_ids=(event.msg_id,),
            )
        )
        return out

    # -- notices -----------------------------------------------------------------------

    async def _sys_group(self, event: SysGroupMessage) -> dict[str, Any] | None:
        extra = event.model_extra or {}
        group_id = event.t_gcode or await self._group_by_code(event.gcode)

        async def who(handle_key: str, number_key: str) -> int:
            number = extra.get(number_key)
            if isinstance(number, int) and number:
                return number
            handle = extra.get(handle_key)
            return await self.ids.qq_of(int(handle)) if isinstance(handle, int) else 0

        if event.type == "group_join":
            user = await who("new_member", "t_new_member")
            operator = await who("admin_uin", "t_admin_uin") or user
            self.ids.reset_group_info()
            return self.base(
                "notice",
                notice_type="group_increase",
                sub_type="approve",
                group_id=group_id,
                operator_id=operator,
                user_id=user,
            )
        if event.type == "group_leave":
            user = await who("old_member", "t_old_member")
            operator = await who("admin_uin", "t_admin_uin") or user
            sub_type = "kick" if event.op_type == 3 else "leave"
            if user == self.self_id and sub_type == "kick":
                sub_type = "kick_me"
            self.ids.reset_group_info()
            return self.base(
                "notice",
                notice_type="group_decrease",
                sub_type=sub_type,
                group_id=group_id,
                operator_id=operator,
                user_id=user,
            )
        if event.type == "group_admin_op" and event.op_type in (0, 1, 2, 3):
            user = await who("uin", "t_uin")
            return self.base(
                "notice",
                notice_type="group_admin",
                sub_type="set" if event.op_type in (1, 3) else "unset",
                group_id=group_id,
                user_id=user,
            )
        log.debug("sys_g_msg %r has no OneBot form", event.type)
        return None

    async def _group_by_code(self, code: int) -> int:
        await self.ids.load()
        for gid, group in self.ids.groups.items():
            if group.code == code:
                return await self.ids.group_id_of(gid)
        return code
