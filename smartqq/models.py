"""Typed results of the list/info APIs (PROTOCOL §5) and of sends.

Every model tolerates unknown fields (the server added fields over the years)
and keeps uins as Python ints (values above 2**31 are real). Display names are
HTML-unescaped (the service sent ``&nbsp;``, ``&amp;``…). ``get_user_friends2``
answers five parallel arrays keyed by uin; :func:`parse_friend_list` joins them.
"""

from __future__ import annotations

import html
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .errors import ProtocolError

__all__ = [
    "Category",
    "Discu",
    "DiscuInfo",
    "DiscuMember",
    "Friend",
    "FriendInfo",
    "FriendList",
    "FriendUin",
    "Group",
    "GroupInfo",
    "GroupList",
    "GroupMember",
    "LongNick",
    "Model",
    "OnlineBuddy",
    "RecentContact",
    "SelfInfo",
    "SendResult",
    "SendStatus",
    "parse_discu_info",
    "parse_discu_list",
    "parse_friend_list",
    "parse_group_info",
    "parse_group_list",
    "parse_model",
    "parse_models",
]


M = TypeVar("M", bound=BaseModel)


def _unescape(v: Any) -> Any:
    return html.unescape(v) if isinstance(v, str) else ("" if v is None else v)


Name = Annotated[str, BeforeValidator(_unescape)]


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class Category(Model):
    index: int
    sort: int = 0
    name: Name = ""


class Friend(Model):
    uin: int
    nick: Name = ""
    markname: Name = ""
    face: int = 0
    flag: int = 0
    category: int = 0
    category_name: Name = ""
    vip_level: int = 0
    is_vip: bool = False

    @property
    def display_name(self) -> str:
        return self.markname or self.nick


class FriendList(Model):
    friends: tuple[Friend, ...] = ()
    categories: tuple[Category, ...] = ()


class Group(Model):
    gid: int
    code: int
    name: Name = ""
    flag: int = 0
    mask: int = 0
    markname: Name = ""

    @property
    def display_name(self) -> str:
        return self.markname or self.name


class GroupList(Model):
    groups: tuple[Group, ...] = ()
    global_mask: int = 0


class GroupMember(Model):
    uin: int
    nick: Name = ""
    card: Name = ""
    gender: str = ""
    province: str = ""
    city: str = ""
    country: str = ""
    mflag: int = 0
    status: int = 0
    client_type: int = 0
    is_vip: bool = False
    vip_level: int = 0

    @property
    def display_name(self) -> str:
        return self.card or self.nick


class GroupInfo(Model):
    gid: int
    code: int
    name: Name = ""
    owner: int = 0
    memo: Name = ""
    fingermemo: Name = ""
    createtime: int = 0
    level: int = 0
    face: int = 0
    flag: int = 0
    members: tuple[GroupMember, ...] = ()

    def member(self, uin: int) -> GroupMember | None:
        return next((m for m in self.members if m.uin == uin), None)


class Discu(Model):
    did: int
    name: Name = ""


class DiscuMember(Model):
    uin: int
    nick: Name = ""
    ruin: int = 0
    status: str = ""
    client_type: int = 0

    @property
    def display_name(self) -> str:
        return self.nick


class DiscuInfo(Model):
    did: int
    name: Name = ""
    owner: int = 0
    members: tuple[DiscuMember, ...] = ()

    def member(self, uin: int) -> DiscuMember | None:
        return next((m for m in self.members if m.uin == uin), None)


class SelfInfo(Model):
    uin: int
    account: int = 0
    nick: Name = ""
    lnick: Name = ""
    face: int = 0
    gender: str = ""
    birthday: dict[str, int] = Field(default_factory=dict)
    phone: str = ""
    mobile: str = ""
    email: str = ""
    occupation: str = ""
    college: str = ""
    homepage: str = ""
    country: str = ""
    province: str = ""
    city: str = ""
    personal: str = ""
    blood: int = 0
    constel: int = 0
    shengxiao: int = 0
    allow: int = 0


class FriendInfo(Model):
    uin: int
    nick: Name = ""
    face: int = 0
    gender: str = ""
    stat: int = 0
    birthday: dict[str, int] = Field(default_factory=dict)
    country: str = ""
    province: str = ""
    city: str = ""
    occupation: str = ""
    college: str = ""
    homepage: str = ""
    personal: str = ""
    blood: int = 0
    constel: int = 0
    shengxiao: int = 0
    allow: int = 0
    client_type: int = 0


class OnlineBuddy(Model):
    uin: int
    status: str = "online"
    client_type: int = 0


class RecentContact(Model):
    uin: int
    type: int = 0
    """0 buddy (uin), 1 group (gid), 2 discussion (did)."""


class LongNick(Model):
    uin: int
    lnick: Name = ""


class FriendUin(Model):
    uin: int
    account: int


class SendStatus(StrEnum):
    SENT = "sent"
    UNCERTAIN = "uncertain"


class SendResult(Model):
    """What a send helper did: one ``msg_id`` per part sent."""

    kind: str
    target: int
    msg_ids: tuple[int, ...]
    status: SendStatus
    retcodes: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is SendStatus.SENT

    @property
    def parts(self) -> int:
        return len(self.msg_ids)


# -- parsing helpers ------------------------------------------------------------------


def parse_model(cls: type[M], data: Any, endpoint: str = "") -> M:
    """``cls`` from ``data``, or :class:`ProtocolError` naming the endpoint."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(f"unexpected {endpoint or cls.__name__} result", _short(exc)) from None


def parse_models(cls: type[M], data: Any, endpoint: str = "") -> list[M]:
    if not isinstance(data, list):
        raise ProtocolError(f"{endpoint or cls.__name__} result is not an array", repr(data)[:120])
    return [parse_model(cls, item, endpoint) for item in data]


def _short(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


def _obj(data: Any, endpoint: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProtocolError(f"{endpoint} result is not an object", repr(data)[:120])
    return data


def _list(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def parse_friend_list(data: Any) -> FriendList:
    """Join ``friends``/``marknames``/``categories``/``vipinfo``/``info`` by uin."""
    obj = _obj(data, "get_user_friends2")
    info = {i.get("uin"): i for i in _list(obj, "info")}
    marks = {m.get("uin"): m.get("markname", "") for m in _list(obj, "marknames")}
    vips = {v.get("u"): v for v in _list(obj, "vipinfo")}
    cats = [parse_model(Category, c, "get_user_friends2") for c in _list(obj, "categories")]
    if not any(c.index == 0 for c in cats):
        cats.insert(0, Category(index=0, sort=0, name="我的好友"))
    cat_names = {c.index: c.name for c in cats}
    friends = []
    for f in _list(obj, "friends"):
        uin = f.get("uin")
        i = info.get(uin, {})
        v = vips.get(uin, {})
        friends.append(
            parse_model(
                Friend,
                {
                    "uin": uin,
                    "nick": i.get("nick", ""),
                    "face": i.get("face", 0),
                    "flag": f.get("flag", 0),
                    "category": f.get("categories", 0),
                    "category_name": cat_names.get(f.get("categories", 0), ""),
                    "markname": marks.get(uin, ""),
                    "vip_level": v.get("vip_level", 0),
                    "is_vip": bool(v.get("is_vip", 0)),
                },
                "get_user_friends2",
            )
        )
    return FriendList(friends=tuple(friends), categories=tuple(cats))


def parse_group_list(data: Any) -> GroupList:
    obj = _obj(data, "get_group_name_list_mask2")
    masks = {m.get("gid"): m.get("mask", 0) for m in _list(obj, "gmasklist")}
    marks = {m.get("uin"): m.get("markname", "") for m in _list(obj, "gmarklist")}
    groups = [
        parse_model(
            Group,
            {**g, "mask": masks.get(g.get("gid"), 0), "markname": marks.get(g.get("gid"), "")},
            "get_group_name_list_mask2",
        )
        for g in _list(obj, "gnamelist")
    ]
    global_mask = masks.get(1000, 0)
    return GroupList(groups=tuple(groups), global_mask=int(global_mask or 0))


def parse_discu_list(data: Any) -> list[Discu]:
    obj = _obj(data, "get_discus_list")
    return [parse_model(Discu, d, "get_discus_list") for d in _list(obj, "dnamelist")]


def parse_group_info(data: Any) -> GroupInfo:
    obj = _obj(data, "get_group_info_ext2")
    ginfo = obj.get("ginfo")
    if not isinstance(ginfo, dict):
        raise ProtocolError("get_group_info_ext2 result has no ginfo", repr(data)[:120])
    minfo = {m.get("uin"): m for m in _list(obj, "minfo")}
    cards = {c.get("muin"): c.get("card", "") for c in _list(obj, "cards")}
    stats = {s.get("uin"): s for s in _list(obj, "stats")}
    vips = {v.get("u"): v for v in _list(obj, "vipinfo")}
    members = []
    for m in ginfo.get("members") or []:
        if not isinstance(m, dict):
            continue
        uin = m.get("muin")
        i, st, v = minfo.get(uin, {}), stats.get(uin, {}), vips.get(uin, {})
        members.append(
            parse_model(
                GroupMember,
                {
                    "uin": uin,
                    "nick": i.get("nick", ""),
                    "card": cards.get(uin, ""),
                    "gender": i.get("gender", ""),
                    "province": i.get("province", ""),
                    "city": i.get("city", ""),
                    "country": i.get("country", ""),
                    "mflag": m.get("mflag", 0),
                    "status": st.get("stat", 0),
                    "client_type": st.get("client_type", 0),
                    "is_vip": bool(v.get("is_vip", 0)),
                    "vip_level": v.get("vip_level", 0),
                },
                "get_group_info_ext2",
            )
        )
    fields = {k: ginfo[k] for k in ginfo if k != "members"}
    return parse_model(GroupInfo, {**fields, "members": members}, "get_group_info_ext2")


def parse_discu_info(data: Any) -> DiscuInfo:
    obj = _obj(data, "get_discu_info")
    info = obj.get("info")
    if not isinstance(info, dict):
        raise ProtocolError("get_discu_info result has no info", repr(data)[:120])
    nicks = {m.get("uin"): m.get("nick", "") for m in _list(obj, "mem_info")}
    status = {s.get("uin"): s for s in _list(obj, "mem_status")}
    members = []
    for m in info.get("mem_list") or []:
        if not isinstance(m, dict):
            continue
        uin = m.get("mem_uin")
        st = status.get(uin, {})
        members.append(
            parse_model(
                DiscuMember,
                {
                    "uin": uin,
                    "nick": nicks.get(uin, ""),
                    "ruin": m.get("ruin", 0),
                    "status": st.get("status", ""),
                    "client_type": st.get("client_type", 0),
                },
                "get_discu_info",
            )
        )
    return parse_model(
        DiscuInfo,
        {
            "did": info.get("did"),
            "name": info.get("discu_name", ""),
            "owner": info.get("discu_owner", 0),
            "members": members,
        },
        "get_discu_info",
    )
