"""The emulator's world: accounts, friendships, groups and discussions.

Everything here is keyed by *QQ number* (stable). Session handles (``uin``,
``gid``, ``did``) are issued per login by :mod:`.state`, as the real service
did, so bots cannot confuse the two. A world loads from JSON or TOML and
saves to JSON; :func:`demo_world` is the built-in one.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import toml_writer

__all__ = ["Account", "Discussion", "FriendEntry", "Group", "World", "WorldError", "demo_world"]


class WorldError(ValueError):
    """A world file or a world change is inconsistent."""


@dataclass
class FriendEntry:
    category: int = 0
    markname: str = ""


@dataclass
class Account:
    qq: int
    password: str = ""
    nick: str = ""
    face: int = 0
    lnick: str = ""
    status: str = "online"
    gender: str = "male"
    needs_captcha: bool = False
    categories: list[str] = field(default_factory=lambda: ["我的好友"])
    friends: dict[int, FriendEntry] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Account(qq={self.qq}, nick={self.nick!r})"


@dataclass
class Group:
    code: int
    name: str
    owner: int
    members: list[int] = field(default_factory=list)
    cards: dict[int, str] = field(default_factory=dict)
    memo: str = ""


@dataclass
class Discussion:
    id: int
    name: str
    owner: int
    members: list[int] = field(default_factory=list)


@dataclass
class World:
    accounts: dict[int, Account] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    discussions: dict[int, Discussion] = field(default_factory=dict)

    # -- building ----------------------------------------------------------------------

    def add_account(self, qq: int, **kw: Any) -> Account:
        if qq in self.accounts:
            raise WorldError(f"account {qq} exists")
        acc = Account(qq=qq, **kw)
        self.accounts[qq] = acc
        return acc

    def befriend(
        self, a: int, b: int, category: int = 0, markname_ab: str = "", markname_ba: str = ""
    ) -> None:
        for x in (a, b):
            if x not in self.accounts:
                raise WorldError(f"no account {x}")
        self.accounts[a].friends[b] = FriendEntry(category, markname_ab)
        self.accounts[b].friends[a] = FriendEntry(0, markname_ba)

    def unfriend(self, a: int, b: int) -> None:
        self.accounts[a].friends.pop(b, None)
        self.accounts[b].friends.pop(a, None)

    def add_group(
        self,
        code: int,
        name: str,
        owner: int,
        members: list[int],
        cards: dict[int, str] | None = None,
    ) -> Group:
        g = Group(code, name, owner, list(dict.fromkeys([owner, *members])), dict(cards or {}))
        self.groups[code] = g
        return g

    def add_discussion(self, id: int, name: str, owner: int, members: list[int]) -> Discussion:
        d = Discussion(id, name, owner, list(dict.fromkeys([owner, *members])))
        self.discussions[id] = d
        return d

    def account(self, qq: int) -> Account:
        try:
            return self.accounts[qq]
        except KeyError:
            raise WorldError(f"no account {qq}") from None

    def groups_of(self, qq: int) -> list[Group]:
        return [g for g in self.groups.values() if qq in g.members]

    def discussions_of(self, qq: int) -> list[Discussion]:
        return [d for d in self.discussions.values() if qq in d.members]

    def find_group(self, key: int | str) -> Group:
        for g in self.groups.values():
            if key in (g.code, g.name):
                return g
        raise WorldError(f"no group {key!r}")

    def find_discussion(self, key: int | str) -> Discussion:
        for d in self.discussions.values():
            if key in (d.id, d.name):
                return d
        raise WorldError(f"no discussion {key!r}")

    # -- files -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        accounts = []
        for a in self.accounts.values():
            d = asdict(a)
            d["friends"] = [{"qq": q, **asdict(f)} for q, f in a.friends.items()]
            accounts.append(d)
        groups = []
        for g in self.groups.values():
            d = asdict(g)
            d["cards"] = {str(k): v for k, v in g.cards.items()}
            groups.append(d)
        return {
            "accounts": accounts,
            "groups": groups,
            "discussions": [asdict(d) for d in self.discussions.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> World:
        w = cls()
        try:
            for a in data.get("accounts", []):
                friends = a.pop("friends", [])
                acc = w.add_account(int(a.pop("qq")), **a)
                for f in friends:
                    acc.friends[int(f["qq"])] = FriendEntry(
                        int(f.get("category", 0)), str(f.get("markname", ""))
                    )
            for g in data.get("groups", []):
                w.add_group(
                    int(g["code"]),
                    str(g["name"]),
                    int(g["owner"]),
                    [int(m) for m in g.get("members", [])],
                    {int(k): str(v) for k, v in g.get("cards", {}).items()},
                )
            for d in data.get("discussions", []):
                w.add_discussion(
                    int(d["id"]),
                    str(d["name"]),
                    int(d["owner"]),
                    [int(m) for m in d.get("members", [])],
                )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WorldError(f"bad world data: {exc!r}") from None
        for acc in w.accounts.values():
            for q in acc.friends:
                if q not in w.accounts:
                    raise WorldError(f"account {acc.qq} befriends unknown {q}")
        return w

    @classmethod
    def load(cls, path: str | Path) -> World:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
            data = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise WorldError(f"cannot read world {p}: {exc}") from None
        if not isinstance(data, dict):
            raise WorldError(f"world {p} is not an object")
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        """Write the world as JSON, or as TOML when ``path`` ends in ``.toml``."""
        p = Path(path)
        data = self.to_dict()
        as_toml = p.suffix == ".toml"
        text = (
            toml_writer.dumps(data) if as_toml else json.dumps(data, ensure_ascii=False, indent=2)
        )
        p.write_text(text, encoding="utf-8")


BOT_QQ = 10001


def demo_world() -> World:
    """A small world: a bot account, three people, a group and a discussion."""
    w = World()
    w.add_account(BOT_QQ, password="bot-password", nick="SmartBot", face=522, lnick="I echo things")
    w.add_account(
        10002, password="alice-pw", nick="Alice", face=537, lnick="hello!", gender="female"
    )
    w.add_account(10003, password="bob-pw", nick="Bob", face=549, status="away")
    w.add_account(
        10004, password="carol-pw", nick="Carol & Co", face=561, needs_captcha=True, gender="female"
    )
    w.accounts[BOT_QQ].categories = ["我的好友", "Friends", "Work"]
    w.befriend(BOT_QQ, 10002, category=1, markname_ab="Ally")
    w.befriend(BOT_QQ, 10003, category=2)
    w.befriend(BOT_QQ, 10004)
    w.befriend(10002, 10003)
    w.add_group(200001, "Python Fans", 10002, [BOT_QQ, 10003, 10004], {10003: "Bobby"})
    w.add_discussion(300001, "Weekend plans", 10003, [BOT_QQ, 10002])
    return w
