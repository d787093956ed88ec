"""The list and info calls: build the request, make it through the session, parse.

Each method is one round trip. A parser surprised by a hostile answer (a
non-numeric account, ``Infinity``, deep nesting) raises a typed
:class:`~smartqq.errors.ProtocolError`, never the underlying Python error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from smartqq.errors import ProtocolError, SmartQQError, UsageError
from smartqq.models import (
    Discu,
    DiscuInfo,
    Friend,
    FriendInfo,
    Group,
    GroupInfo,
    OnlineBuddy,
    RecentContact,
    SelfInfo,
    parse_discu_info,
    parse_discu_list,
    parse_friend_list,
    parse_group_info,
    parse_group_list,
    parse_model,
    parse_models,
)
from smartqq.protocol import endpoints
from smartqq.protocol.http import HttpRequest

from .checks import check_id
from .session import Session

__all__ = ["STATUSES", "Api", "InfoCalls"]

log = logging.getLogger("smartqq.login")
T = TypeVar("T")
STATUSES = ("online", "callme", "away", "busy", "silent", "hidden", "offline")
_FOREIGN = (ValueError, TypeError, OverflowError, RecursionError, KeyError, AttributeError)


class Api:
    # One per client: slots instead of a __dict__ save ~50 B each at 1,000 clients.
    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    async def _get(self, build: Callable[..., HttpRequest], *args: Any) -> Any:
        return await self.session.call(build(self.session.require_state(), *args))

    @staticmethod
    def _read(parse: Callable[[Any], T], data: Any, endpoint: str) -> T:
        try:
            return parse(data)
        except SmartQQError:
            raise
        except _FOREIGN as exc:
            raise ProtocolError(
                f"{endpoint} result could not be read ({type(exc).__name__})"
            ) from None

    async def friends(self) -> list[Friend]:
        data = await self._get(endpoints.get_user_friends2)
        return list(self._read(parse_friend_list, data, "get_user_friends2").friends)

    async def groups(self) -> list[Group]:
        data = await self._get(endpoints.get_group_name_list_mask2)
        return list(self._read(parse_group_list, data, "get_group_name_list_mask2").groups)

    async def discus(self) -> list[Discu]:
        data = await self._get(endpoints.get_discus_list)
        return self._read(parse_discu_list, data, "get_discus_list")

    async def group_info(self, group: Group | int) -> GroupInfo:
        code = check_id("group code", group.code if isinstance(group, Group) else group)
        data = await self._get(endpoints.get_group_info_ext2, code)
        return self._read(parse_group_info, data, "get_group_info_ext2")

    async def discu_info(self, did: int) -> DiscuInfo:
        check_id("did", did)
        data = await self._get(endpoints.get_discu_info, did)
        return self._read(parse_discu_info, data, "get_discu_info")

    async def self_info(self) -> SelfInfo:
        data = await self._get(endpoints.get_self_info2)
        return self._read(
            lambda d: parse_model(SelfInfo, d, "get_self_info2"), data, "get_self_info2"
        )

    async def online_buddies(self) -> list[OnlineBuddy]:
        data = await self._get(endpoints.get_online_buddies2)
        return self._read(
            lambda d: parse_models(OnlineBuddy, d, "get_online_buddies2"),
            data,
            "get_online_buddies2",
        )

    async def recent_list(self) -> list[RecentContact]:
        data = await self._get(endpoints.get_recent_list2)
        return self._read(
            lambda d: parse_models(RecentContact, d, "get_recent_list2"), data, "get_recent_list2"
        )

    async def friend_info(self, uin: int) -> FriendInfo:
        check_id("uin", uin)
        data = await self._get(endpoints.get_friend_info2, uin)
        return self._read(
            lambda d: parse_model(FriendInfo, d, "get_friend_info2"), data, "get_friend_info2"
        )

    async def long_nick(self, uin: int) -> str:
        check_id("uin", uin)
        data = await self._get(endpoints.get_single_long_nick2, uin)
        if isinstance(data, list) and data and isinstance(data[0], dict):
            return str(data[0].get("lnick", ""))
        raise ProtocolError(
            "get_single_long_nick2 result is not a list of objects", type(data).__name__
        )

    async def qq_number(self, uin: int, kind: int = 1) -> int:
        check_id("uin", uin)
        if kind not in (1, 4):
            raise UsageError("kind must be 1 (a friend's uin) or 4 (a group's code)")
        data = await self._get(endpoints.get_friend_uin2, uin, kind)
        if not isinstance(data, dict) or "account" not in data:
            raise ProtocolError("get_friend_uin2 gave no account", type(data).__name__)
        account = data["account"]
        if isinstance(account, bool) or not isinstance(account, int | str):
            raise ProtocolError("get_friend_uin2 account is not a number", type(account).__name__)
        return self._read(int, account, "get_friend_uin2")

    async def change_status(self, status: str) -> None:
        if not isinstance(status, str) or status not in STATUSES:
            raise UsageError(f"status must be one of {', '.join(STATUSES)}")
        state = self.session.require_state()
        await self.session.call(endpoints.change_status2(state, status))
        state.status = status

    async def c2c_signature(self, group_id: int, uin: int, service_type: int) -> str:
        """The ``group_sig`` a temporary-session message needs."""
        sig = await self._get(endpoints.get_c2cmsg_sig2, group_id, uin, service_type)
        return str(sig.get("value", "")) if isinstance(sig, dict) else ""

    async def logout(self) -> None:
        state = self.session.require_state()
        try:
            response = await self.session.request(endpoints.logout(state))
            log.info("logout answered HTTP %d", response.status)
        finally:
            state.psessionid = ""


class InfoCalls:
    """The list/info methods of :class:`~smartqq.Client`, each one :class:`Api` call."""

    _api: Api

    async def get_friends(self) -> list[Friend]:
        return await self._api.friends()

    async def get_groups(self) -> list[Group]:
        return await self._api.groups()

    async def get_discus(self) -> list[Discu]:
        return await self._api.discus()

    async def get_group_info(self, group: Group | int) -> GroupInfo:
        """Members and cards of a group (a :class:`Group`, or its ``code``)."""
        return await self._api.group_info(group)

    async def get_discu_info(self, did: int) -> DiscuInfo:
        return await self._api.discu_info(did)

    async def get_self_info(self) -> SelfInfo:
        return await self._api.self_info()

    async def get_online_buddies(self) -> list[OnlineBuddy]:
        return await self._api.online_buddies()

    async def get_recent_list(self) -> list[RecentContact]:
        return await self._api.recent_list()

    async def get_friend_info(self, uin: int) -> FriendInfo:
        return await self._api.friend_info(uin)

    async def get_long_nick(self, uin: int) -> str:
        return await self._api.long_nick(uin)

    async def get_qq_number(self, uin: int, *, kind: int = 1) -> int:
        """The real QQ number behind a uin (Tencent disabled this in April 2017).

        ``kind=4`` asks for a group's number given its ``code`` instead.
        """
        return await self._api.qq_number(uin, kind)

    async def change_status(self, status: str) -> None:
        await self._api.change_status(status)
