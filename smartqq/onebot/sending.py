"""Sending: OneBot targets and messages to SmartQQ sends, and quick operations.

Design note: a ``user_id`` is a QQ number. A friend gets a buddy message; a
non-friend who wrote to the bot through a temporary session gets a session
message through the same group or discussion; anyone else sharing a group
with the bot gets one through that group. A ``group_id`` in the synthetic
discussion range goes to the discussion. One OneBot send is one
``message_id`` however many parts the client splits it into, and a send the
server answered with 1202 is ``ok`` with ``data.uncertain: true`` (it may
have arrived; resending could duplicate it).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from smartqq.content import Content
from smartqq.errors import (
    ClientClosedError,
    SessionExpiredError,
    SmartQQError,
    UsageError,
)
from smartqq.models import SendResult, SendStatus

from .ids import DISCUSS_ID_BASE, DISCUSS_ID_END, StoredMessage
from .message import MessageError, Segments, normalize, segments_to_content, to_cq
from .params import (
    RET_BAD_PARAM,
    RET_FAILED,
    RET_NO_DATA,
    RET_NO_SESSION,
    ActionError,
    get_bool,
    get_int,
)

if TYPE_CHECKING:
    from smartqq.client import Client

    from .convert import Converter

__all__ = ["Sender", "client_error"]

log = logging.getLogger("smartqq.onebot")


def client_error(exc: SmartQQError) -> ActionError:
    """A client failure as a OneBot failure (the session itself stays up)."""
    if isinstance(exc, SessionExpiredError | ClientClosedError):
        return ActionError(RET_NO_SESSION, f"the SmartQQ session is not usable: {exc}")
    if isinstance(exc, UsageError):
        return ActionError(RET_NO_DATA, str(exc))
    return ActionError(RET_FAILED, f"{type(exc).__name__}: {exc}")


class Sender:
    def __init__(self, client: Client, conv: Converter) -> None:
        self.client = client
        self.conv = conv
        self.ids = conv.ids
        self.store = conv.store

    async def _content(
        self, message: Any, auto_escape: bool, group_id: int | None = None
    ) -> tuple[Segments, Content]:
        try:
            segments = normalize(message, auto_escape=auto_escape)
            names: dict[str, str] = {}
            for seg in segments:
                if seg["type"] == "at":
                    qq = str(seg["data"].get("qq", ""))
                    if qq.isdigit():
                        names[qq] = await self._name_of(int(qq), group_id)
            return segments, segments_to_content(segments, lambda qq: names.get(qq, qq))
        except MessageError as exc:
            raise ActionError(RET_BAD_PARAM, str(exc)) from None

    async def _name_of(self, qq: int, group_id: int | None) -> str:
        """The name an ``at`` shows: the group card (or nick) in a group, else the nick."""
        if group_id is not None and not DISCUSS_ID_BASE <= group_id < DISCUSS_ID_END:
            gid = await self.ids.gid_of(group_id)
            info = await self.ids.group_info(gid) if gid is not None else None
            for member in info.members if info is not None else ():
                if await self.ids.qq_of(member.uin) == qq:
                    return member.card or member.nick
        uin = await self.ids.uin_of(qq, members=False)
        friend = self.ids.friends.get(uin) if uin is not None else None
        return friend.nick if friend is not None else str(qq)

    # -- targets -----------------------------------------------------------------------

    async def send_private(
        self, user_id: int, message: Any, auto_escape: bool, via_group: int | None = None
    ) -> dict[str, Any]:
        """``via_group``: the group of a temporary session (go-cqhttp's ``group_id``)."""
        segments, content = await self._content(message, auto_escape)
        try:
            uin = await self.ids.uin_of(user_id, members=False)
            if uin is not None and uin in self.ids.friends:
                result = await self.client.send_buddy_msg(uin, content)
            else:
                route = self.conv.sess_routes.get(user_id)
                if route is None:
                    route = await self._member_route(user_id, via_group)
                if route is None:
                    raise ActionError(
                        RET_NO_DATA, f"{user_id} is not a friend and shares no group with the bot"
                    )
                result = await self.client.send_sess_msg(
                    route.uin, content, group_id=route.via, service_type=route.service_type
                )
        except SmartQQError as exc:
            raise client_error(exc) from None
        return self._result("private", segments, None, user_id, result)

    async def _member_route(self, user_id: int, via_group: int | None = None) -> Any:
        from .convert import SessRoute

        uin = await self.ids.uin_of(user_id)
        if uin is None:
            return None
        gids = list(self.ids.groups)
        if via_group is not None:
            gid = await self.ids.gid_of(via_group)
            gids = [gid] if gid is not None else []
        for gid in gids:
            info = await self.ids.group_info(gid)
            if info is not None and any(m.uin == uin for m in info.members):
                return SessRoute(uin, gid, 0)
        return None

    async def send_group(self, group_id: int, message: Any, auto_escape: bool) -> dict[str, Any]:
        segments, content = await self._content(message, auto_escape, group_id)
        try:
            if DISCUSS_ID_BASE <= group_id < DISCUSS_ID_END:
                did = await self.ids.did_of(group_id)
                if did is not None:
                    result = await self.client.send_discu_msg(did, content)
                    kind = "discuss" if self.conv.config.discuss_as == "discuss" else "group"
                    return self._result(kind, segments, group_id, None, result)
            gid = await self.ids.gid_of(group_id)
            if gid is None:
                raise ActionError(RET_NO_DATA, f"the bot is in no group {group_id}")
            result = await self.client.send_qun_msg(gid, content)
        except SmartQQError as exc:
            raise client_error(exc) from None
        return self._result("group", segments, group_id, None, result)

    async def send_discuss(
        self, discuss_id: int, message: Any, auto_escape: bool
    ) -> dict[str, Any]:
        if not DISCUSS_ID_BASE <= discuss_id < DISCUSS_ID_END:
            raise ActionError(RET_NO_DATA, f"no discussion {discuss_id}")
        return await self.send_group(discuss_id, message, auto_escape)

    async def send_msg(self, params: dict[str, Any]) -> dict[str, Any]:
        kind = params.get("message_type")
        if kind not in (None, "", "private", "group", "discuss"):
            raise ActionError(RET_BAD_PARAM, "message_type must be private, group or discuss")
        if not kind:
            if params.get("group_id") not in (None, ""):
                kind = "group"
            elif params.get("discuss_id") not in (None, ""):
                kind = "discuss"
            elif params.get("user_id") not in (None, ""):
                kind = "private"
            else:
                raise ActionError(RET_BAD_PARAM, "send_msg needs user_id, group_id or discuss_id")
        if "message" not in params:
            raise ActionError(RET_BAD_PARAM, "missing parameter 'message'")
        message, escape = params["message"], get_bool(params, "auto_escape", False)
        if kind == "private":
            via = get_int(params, "group_id", 0) or None
            return await self.send_private(get_int(params, "user_id"), message, escape, via)
        if kind == "discuss":
            return await self.send_discuss(get_int(params, "discuss_id"), message, escape)
        return await self.send_group(get_int(params, "group_id"), message, escape)

    # -- results -----------------------------------------------------------------------

    def _result(
        self,
        kind: str,
        segments: Segments,
        group_id: int | None,
        user_id: int | None,
        result: SendResult,
    ) -> dict[str, Any]:
        uncertain = result.status is SendStatus.UNCERTAIN
        return self._stored(
            kind, segments, group_id, user_id, uncertain=uncertain, real_ids=result.msg_ids
        )

    def _stored(
        self,
        kind: str,
        segments: Segments,
        group_id: int | None,
        user_id: int | None,
        *,
        uncertain: bool,
        real_ids: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        message_id = self.store.next_id()
        me = self.conv.self_id
        self.store.add(
            StoredMessage(
                message_id=message_id,
                time=int(time.time()),
                message_type=kind,
                sender={"user_id": me, "nickname": self.conv.self_nick},
                message=segments,
                raw_message=to_cq(segments),
                group_id=group_id,
                user_id=user_id,
                real_ids=real_ids,
            )
        )
        data: dict[str, Any] = {"message_id": message_id}
        if uncertain:
            data["uncertain"] = True
        return data

    # -- quick operations --------------------------------------------------------------

    async def quick_operation(self, context: Any, operation: Any) -> None:
        """Carry out ``operation`` (a reply) for the event ``context``."""
        if not isinstance(context, dict) or not isinstance(operation, dict):
            raise ActionError(RET_BAD_PARAM, "context and operation must be objects")
        unsupported = [k for k in ("delete", "kick", "ban", "approve") if operation.get(k)]
        if unsupported:
            log.warning("quick operation %s: SmartQQ cannot do that", ", ".join(unsupported))
        if context.get("post_type") != "message" or operation.get("reply") in (None, ""):
            return
        reply = operation["reply"]
        escape = get_bool(operation, "auto_escape", False)
        kind = context.get("message_type")
        if kind == "private":
            await self.send_private(get_int(context, "user_id"), reply, escape)
            return
        try:
            segments = normalize(reply, auto_escape=escape)
        except MessageError as exc:
            raise ActionError(RET_BAD_PARAM, str(exc)) from None
        if get_bool(operation, "at_sender", True) and context.get("user_id") is not None:
            at = {"type": "at", "data": {"qq": str(get_int(context, "user_id"))}}
            segments = [at, *segments]
        if kind == "discuss":
            await self.send_discuss(get_int(context, "discuss_id"), segments, False)
        elif kind == "group":
            await self.send_group(get_int(context, "group_id"), segments, False)
        else:
            raise ActionError(RET_BAD_PARAM, "context.message_type must be private or group")
