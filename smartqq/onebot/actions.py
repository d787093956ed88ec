"""The OneBot v11 action table: every action of the spec answers.

Design note: :meth:`Actions.call` never raises. It answers the envelope
``{status, retcode, data, message, wording}``; a transport adds ``echo``.
Unknown actions answer at once with ``None`` (the transport turns that into
HTTP 404 or retcode 1404). ``_async`` runs the action in the background and
``_rate_limited`` queues it behind a fixed interval; both answer
``status: "async"`` (retcode 1) immediately. Actions SmartQQ cannot perform
(recall, kick, ban, cookies…) fail with retcode 103 and a message saying so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import smartqq
from smartqq._tasks import cancel_and_wait
from smartqq.errors import SmartQQError

from .ids import DISCUSS_ID_BASE, DISCUSS_ID_END
from .params import (
    RET_ASYNC,
    RET_FAILED,
    RET_NO_DATA,
    RET_NO_SESSION,
    ActionError,
    failed,
    get_bool,
    get_int,
    ok,
)
from .sending import Sender, client_error

if TYPE_CHECKING:
    from smartqq.client import Client

    from .convert import Converter

__all__ = ["UNSUPPORTED", "Actions"]

log = logging.getLogger("smartqq.onebot")

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

# Bound on queued _rate_limited and running _async calls: a runaway bot gets a
# failed answer instead of growing the server's memory without limit.
_MAX_PENDING = 1000

# Spec actions SmartQQ has no way to perform, with the reason a bot is given.
UNSUPPORTED: dict[str, str] = {
    "delete_msg": "SmartQQ cannot recall messages",
    "get_forward_msg": "SmartQQ has no forwarded messages",
    "send_like": "SmartQQ cannot send likes",
    "set_group_kick": "SmartQQ cannot remove group members",
    "set_group_ban": "SmartQQ cannot mute group members",
    "set_group_anonymous_ban": "SmartQQ has no anonymous members",
    "set_group_whole_ban": "SmartQQ cannot mute a group",
    "set_group_admin": "SmartQQ cannot change administrators",
    "set_group_anonymous": "SmartQQ has no anonymous chat",
    "set_group_card": "SmartQQ cannot change group cards",
    "set_group_name": "SmartQQ cannot rename groups",
    "set_group_leave": "SmartQQ cannot leave groups",
    "set_group_special_title": "SmartQQ has no special titles",
    "set_friend_add_request": "SmartQQ reports no friend requests",
    "set_group_add_request": "SmartQQ reports no group requests",
    "get_group_honor_info": "SmartQQ has no group honours",
    "get_cookies": "the SmartQQ session's cookies are secrets and are not exposed",
    "get_csrf_token": "the SmartQQ session's tokens are secrets and are not exposed",
    "get_credentials": "the SmartQQ session's credentials are secrets and are not exposed",
    "get_record": "SmartQQ carries no voice messages",
    "get_image": "SmartQQ pictures cannot be downloaded through OneBot",
    "set_restart": "restart the smartqq onebot process instead",
}


class Actions:
    def __init__(self, client: Client, conv: Converter, *, rate_interval: float = 0.5) -> None:
        self.client = client
        self.conv = conv
        self.ids = conv.ids
        self.sender = Sender(client, conv)
        self.rate_interval = rate_interval
        self._tasks: set[asyncio.Task[Any]] = set()
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        self._handlers: dict[str, Handler] = {
            "send_private_msg": self._send_private_msg,
            "send_group_msg": self._send_group_msg,
            "send_discuss_msg": self._send_discuss_msg,
            "send_msg": self.sender.send_msg,
            "get_msg": self._get_msg,
            "get_login_info": self._get_login_info,
            "get_stranger_info": self._get_stranger_info,
            "get_friend_list": self._get_friend_list,
            "get_group_info": self._get_group_info,
            "get_group_list": self._get_group_list,
            "get_group_member_info": self._get_group_member_info,
            "get_group_member_list": self._get_group_member_list,
            "get_status": self._get_status,
            "get_version_info": self._get_version_info,
            "can_send_image": self._no,
            "can_send_record": self._no,
            "clean_cache": self._clean_cache,
            ".handle_quick_operation": self._quick,
        }
        self.online = True

    def known(self, action: str) -> bool:
        base = _base(action)
        return base in self._handlers or base in UNSUPPORTED

    async def call(self, action: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to ``action`` (``None``: no such action)."""
        if not self.known(action):
            return None
        if action.endswith("_rate_limited"):
            if self._queue is None:
                self._queue = asyncio.Queue()
                self._spawn(self._rate_worker())
            if self._queue.qsize() >= _MAX_PENDING:
                return failed(RET_FAILED, "too many rate-limited calls are queued")
            self._queue.put_nowait((_base(action), params))
            return {**ok(None), "status": "async", "retcode": RET_ASYNC}
        if action.endswith("_async"):
            if len(self._tasks) >= _MAX_PENDING:
                return failed(RET_FAILED, "too many asynchronous calls are running")
            self._spawn(self._run(_base(action), params))
            return {**ok(None), "status": "async", "retcode": RET_ASYNC}
        return await self._run(action, params)

    async def _run(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        reason = UNSUPPORTED.get(action)
        if reason is not None:
            return failed(RET_FAILED, reason)
        try:
            return ok(await self._handlers[action](params))
        except (ActionError, SmartQQError) as exc:
            err = exc if isinstance(exc, ActionError) else client_error(exc)
            if err.retcode == RET_NO_SESSION:
                self.online = False  # until the client reports LoggedIn/Reconnected
            return failed(err.retcode, err.message)
        except Exception:
            # A bug of ours must not take a transport (or the session) down.
            log.exception("action %s failed", action)
            return failed(RET_FAILED, f"internal error in {action}")

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _rate_worker(self) -> None:
        assert self._queue is not None
        while True:
            action, params = await self._queue.get()
            await self._run(action, params)
            await asyncio.sleep(self.rate_interval)

    async def aclose(self) -> None:
        await cancel_and_wait(*self._tasks)

    # -- messages ----------------------------------------------------------------------

    async def _send_private_msg(self, p: dict[str, Any]) -> Any:
        return await self.sender.send_private(
            get_int(p, "user_id"),
            _message(p),
            get_bool(p, "auto_escape", False),
            get_int(p, "group_id", 0) or None,
        )

    async def _send_group_msg(self, p: dict[str, Any]) -> Any:
        return await self.sender.send_group(
            get_int(p, "group_id"), _message(p), get_bool(p, "auto_escape", False)
        )

    async def _send_discuss_msg(self, p: dict[str, Any]) -> Any:
        return await self.sender.send_discuss(
            get_int(p, "discuss_id"), _message(p), get_bool(p, "auto_escape", False)
        )

    async def _get_msg(self, p: dict[str, Any]) -> Any:
        message_id = get_int(p, "message_id")
        stored = self.conv.store.get(message_id)
        if stored is None:
            raise ActionError(RET_NO_DATA, f"no message {message_id} (kept: the newest only)")
        fmt = self.conv.config.message_format
        data: dict[str, Any] = {
            "message_id": stored.message_id,
            "real_id": stored.real_ids[0] if stored.real_ids else stored.message_id,
            "time": stored.time,
            "message_type": stored.message_type,
            "sender": stored.sender,
            "message": stored.raw_message if fmt == "string" else stored.message,
            "raw_message": stored.raw_message,
        }
        if stored.group_id is not None:
            data["group_id"] = stored.group_id
        return data

    async def _quick(self, p: dict[str, Any]) -> Any:
        await self.sender.quick_operation(p.get("context"), p.get("operation"))
        return None

    # -- information -------------------------------------------------------------------

    async def _get_login_info(self, p: dict[str, Any]) -> Any:
        return {"user_id": self.conv.self_id, "nickname": self.conv.self_nick}

    async def _get_stranger_info(self, p: dict[str, Any]) -> Any:
        qq = get_int(p, "user_id")
        if get_bool(p, "no_cache", False):
            await self.ids.load(force=True)
        uin = await self.ids.uin_of(qq)
        if uin is None:
            raise ActionError(RET_NO_DATA, f"{qq} is neither a friend nor in a shared group")
        info: dict[str, Any] = {"user_id": qq, "nickname": "", "sex": "unknown", "age": 0}
        friend = self.ids.friends.get(uin)
        if friend is not None:
            info["nickname"] = friend.nick
        try:
            detail = await self.client.get_friend_info(uin)
        except SmartQQError:
            detail = None
        if detail is not None:
            info["nickname"] = detail.nick or info["nickname"]
            info["sex"] = detail.gender if detail.gender in ("male", "female") else "unknown"
        return info

    async def _get_friend_list(self, p: dict[str, Any]) -> Any:
        await self.ids.load()
        friends = list(self.ids.friends.values())
        qqs = await asyncio.gather(*(self.ids.qq_of(f.uin) for f in friends))
        return [
            {"user_id": qq, "nickname": f.nick, "remark": f.markname}
            for qq, f in zip(qqs, friends, strict=True)
        ]

    async def _discussions_as_groups(self) -> list[dict[str, Any]]:
        if self.conv.config.discuss_as != "group":
            return []
        out = []
        for did, d in self.ids.discus.items():
            info = await self.ids.discu_info(did)
            out.append(
                {
                    "group_id": await self.ids.discuss_id_of(did),
                    "group_name": d.name,
                    "member_count": len(info.members) if info else 0,
                    "max_member_count": 50,
                }
            )
        return out

    async def _group_entry(self, gid: int) -> dict[str, Any]:
        group = self.ids.groups[gid]
        info = await self.ids.group_info(gid)
        return {
            "group_id": await self.ids.group_id_of(gid),
            "group_name": group.name,
            "member_count": len(info.members) if info else 0,
            "max_member_count": 500,
        }

    async def _get_group_list(self, p: dict[str, Any]) -> Any:
        await self.ids.load(force=get_bool(p, "no_cache", False))
        groups = [await self._group_entry(gid) for gid in list(self.ids.groups)]
        return groups + await self._discussions_as_groups()

    async def _get_group_info(self, p: dict[str, Any]) -> Any:
        group_id = get_int(p, "group_id")
        if get_bool(p, "no_cache", False):
            await self.ids.load(force=True)
        if DISCUSS_ID_BASE <= group_id < DISCUSS_ID_END:
            for entry in await self._discussions_as_groups():
                if entry["group_id"] == group_id:
                    return entry
        gid = await self.ids.gid_of(group_id)
        if gid is None:
            raise ActionError(RET_NO_DATA, f"the bot is in no group {group_id}")
        return await self._group_entry(gid)

    async def _members(self, group_id: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        if DISCUSS_ID_BASE <= group_id < DISCUSS_ID_END:
            did = await self.ids.did_of(group_id)
            if did is not None:
                info = await self.ids.discu_info(did)
                for m in info.members if info else ():
                    rows.append(
                        _member_row(group_id, await self.ids.qq_of(m.uin), m.nick, "", "unknown")
                    )
                    if info and info.owner == m.uin:
                        rows[-1]["role"] = "owner"
                return rows
        gid = await self.ids.gid_of(group_id)
        if gid is None:
            raise ActionError(RET_NO_DATA, f"the bot is in no group {group_id}")
        ginfo = await self.ids.group_info(gid)
        for gm in ginfo.members if ginfo else ():
            sex = gm.gender if gm.gender in ("male", "female") else "unknown"
            row = _member_row(group_id, await self.ids.qq_of(gm.uin), gm.nick, gm.card, sex)
            row["area"] = gm.city or gm.province
            if gm.mflag & 1:
                row["role"] = "admin"
            if ginfo and ginfo.owner == gm.uin:
                row["role"] = "owner"
            rows.append(row)
        return rows

    async def _get_group_member_list(self, p: dict[str, Any]) -> Any:
        return await self._members(get_int(p, "group_id"))

    async def _get_group_member_info(self, p: dict[str, Any]) -> Any:
        group_id, qq = get_int(p, "group_id"), get_int(p, "user_id")
        if get_bool(p, "no_cache", False):
            self.ids.reset_group_info()
        for row in await self._members(group_id):
            if row["user_id"] == qq:
                return row
        raise ActionError(RET_NO_DATA, f"{qq} is not a member of group {group_id}")

    async def _get_status(self, p: dict[str, Any]) -> Any:
        return self.status()

    def status(self) -> dict[str, Any]:
        online = bool(self.online and self.client.logged_in)
        return {"online": online, "good": online}

    async def _get_version_info(self, p: dict[str, Any]) -> Any:
        return {
            "app_name": self.conv.config.app_name,
            "app_version": smartqq.__version__,
            "protocol_version": "v11",
        }

    async def _no(self, p: dict[str, Any]) -> Any:
        return {"yes": False}

    async def _clean_cache(self, p: dict[str, Any]) -> Any:
        self.ids.reset()
        return None


def _base(action: str) -> str:
    for suffix in ("_rate_limited", "_async"):
        if action.endswith(suffix):
            return action[: -len(suffix)]
    return action


def _message(p: dict[str, Any]) -> Any:
    if "message" not in p:
        raise ActionError(100, "missing parameter 'message'")
    return p["message"]


def _member_row(group_id: int, qq: int, nick: str, card: str, sex: str) -> dict[str, Any]:
    return {
        "group_id": group_id,
        "user_id": qq,
        "nickname": nick,
        "card": card,
        "sex": sex,
        "age": 0,
        "area": "",
        "join_time": 0,
        "last_sent_time": 0,
        "level": "",
        "role": "member",
        "unfriendly": False,
        "title": "",
        "title_expire_time": 0,
        "card_changeable": False,
    }
