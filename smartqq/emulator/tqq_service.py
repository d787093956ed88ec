"""The tqq server's behaviour, sans-IO: one request body in, answer bodies and a delay out.

Faithful to what the seeds record:

* ``NULL`` for a request it cannot read: an unknown ``VER`` (1.0 and 1.1 are known), a
  non-numeric ``UIN``/``UN``/``TN``/``LV``/``CD``, an illegal ``ST``, a Login with an
  empty ``PS`` or any ``LC`` but the fixed one, bytes that are not UTF-8;
* ``RES=20`` for every command but Login and Logout until the UIN logs in from the
  same address (the server knows a login by IP and UIN); Logout always answers
  ``RES=0``; a login idle for ``LI`` seconds is dropped;
* ``RES=5`` for an illegal QQ number (below 10000);
* ``RES=3`` after ``penalty`` seconds (20 in the seeds, 30 for DelFromList) when a
  CLTMSG is over 400 bytes, or CLTMSG, Change_Stat, DelFromList or Ack_AddToList come
  faster than ``min_interval`` apart, or Ack_AddToList has ``CD >= 3``; nothing is done;
* messages are delivered as segments of at most 400 bytes, the last ending in a space;
* Change_Stat, Login and Logout send every friend a status system message (MT 99, MG
  10/20/30; invisible is sent as 20);
* Query_Stat with ``TN=0`` answers twice on one connection, as the seed captured.

Not modelled: the seed's observation that an Ack_AddToList request must be sent twice
(one answered RES=3, one RES=0); here the rate rule above answers RES=3 to the second
of two requests sent back to back, and the first is delivered.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from smartqq.errors import ProtocolError
from smartqq.legacy.tqq.codec import (
    LC,
    NULL,
    RawValue,
    encode_answer,
    join_list,
    parse_pairs,
    segments_for_receive,
    unescape,
)
from smartqq.legacy.tqq.commands import password_md5

from .world import Account, FriendEntry, World

__all__ = ["TQQConfig", "TQQReply", "TQQService"]

_VERSIONS = ("1.0", "1.1")
_WORLD_STATUS = {"online": 10, "callme": 10, "busy": 30, "away": 30, "silent": 30}
_RATE_LIMITED = ("CLTMSG", "Change_Stat", "DelFromList", "Ack_AddToList")
_LV2 = ("AD", "AG", "EM", "FC", "HP", "JB", "LV", "PC", "PH", "PR", "PV", "RN", "SC", "SX")
_LV3 = (
    "AD", "AG", "BT", "CO", "CT", "CV", "CY", "EM", "FC", "HP", "ID", "JB", "LV",
    "MO", "MT", "MV", "PC", "PH", "PR", "PV", "RN", "SC", "SH", "SX",
)  # fmt: skip


@dataclass
class TQQConfig:
    min_interval: float = 1.0
    """Rate-limited commands closer together than this answer RES=3."""
    penalty: float = 20.0
    """How long a RES=3 answer takes (DelFromList: 1.5 times this)."""
    heartbeat: int = 60
    idle_timeout: int = 300
    """``LI``: a login with no request for this long is dropped."""
    max_messages: int = 50
    """GetMsgEx items per answer."""


@dataclass
class TQQReply:
    bodies: list[str]
    delay: float = 0.0


@dataclass
class _Login:
    uin: int
    peer: str
    status: int = 10
    last_seen: float = 0.0


@dataclass
class Delivered:
    """One GetMsgEx item written to ``to`` (the emulator's test log)."""

    to: int
    type: int
    sender: int
    text: str


class _Null(Exception):
    """The request gets the bare answer NULL."""


@dataclass
class TQQService:
    world: World
    config: TQQConfig = field(default_factory=TQQConfig)
    clock: Callable[[], float] = time.monotonic
    logins: dict[tuple[str, int], _Login] = field(default_factory=dict)
    mailboxes: dict[int, deque[tuple[int, int, str]]] = field(default_factory=dict)
    profiles: dict[int, dict[str, str]] = field(default_factory=dict)
    """Extra GetInfo fields per QQ, by tqq key (``AG``, ``EM``, ``BT``, ...)."""
    auth_policy: dict[int, int] = field(default_factory=dict)
    """AddToList's CD per target: 0 anyone may add (default), 1 needs approval, 2 refuses."""
    presence: dict[int, int] = field(default_factory=dict)
    """Status of scripted (not logged-in) accounts, overriding the world's."""
    requests: set[tuple[int, int]] = field(default_factory=set)
    """Pending friend requests (requester, target)."""
    last_accepted: dict[tuple[int, str], float] = field(default_factory=dict)
    sent: list[tuple[int, int, str]] = field(default_factory=list)
    """Accepted CLTMSGs (from, to, text)."""
    delivered: list[Delivered] = field(default_factory=list)

    # -- the request -------------------------------------------------------------------

    def handle(self, raw: bytes, peer: str) -> TQQReply:
        try:
            return self._handle(raw, peer)
        except _Null:
            return TQQReply([NULL])

    def _handle(self, raw: bytes, peer: str) -> TQQReply:
        try:
            pairs = parse_pairs(raw.decode("utf-8"))
        except (UnicodeDecodeError, ProtocolError):
            raise _Null from None
        if pairs.get("VER") not in _VERSIONS or "CMD" not in pairs:
            raise _Null
        ver, cmd, seq = pairs["VER"], pairs["CMD"], pairs.get("SEQ", "")
        uin = _number(pairs.get("UIN"))
        fields = {k: unescape(v) for k, v in pairs.items()}
        handler = _HANDLERS.get(cmd)
        if handler is None:
            raise _Null
        name, needs_login, fn = handler
        now = self.clock()

        def answer(res: int, out: dict[str, object] | None = None) -> str:
            return encode_answer(name, seq, str(uin), res, out or {}, ver)

        if cmd == "Login":
            return fn(self, uin, fields, peer, answer)
        if cmd == "Logout":
            return _logout(self, uin, fields, peer, answer)
        _validate(cmd, fields)
        login = self.logins.get((peer, uin))
        if login is not None and now - login.last_seen > self.config.idle_timeout:
            self._drop(login)
            login = None
        if needs_login and login is None:
            return TQQReply([answer(20)])
        assert login is not None
        login.last_seen = now
        if cmd in _RATE_LIMITED:
            last = self.last_accepted.get((uin, cmd))
            if last is not None and now - last < self.config.min_interval:
                return self._penalty(cmd, answer)
            self.last_accepted[(uin, cmd)] = now
        return fn(self, login, fields, peer, answer)

    def _penalty(self, cmd: str, answer: Callable[..., str]) -> TQQReply:
        factor = 1.5 if cmd == "DelFromList" else 1.0
        return TQQReply([answer(3)], delay=self.config.penalty * factor)

    # -- world helpers ----------------------------------------------------------------

    def account(self, uin: int) -> Account | None:
        return self.world.accounts.get(uin)

    def status_of(self, uin: int) -> int:
        """10/30 online or busy; 20 offline (invisible counts as offline to others)."""
        for login in self.logins.values():
            if login.uin == uin:
                return 20 if login.status == 40 else login.status
        if uin in self.presence:
            st = self.presence[uin]
            return 20 if st == 40 else st
        acc = self.account(uin)
        return _WORLD_STATUS.get(acc.status, 20) if acc is not None else 20

    def deliver(self, to: int, mt: int, sender: int, text: str) -> None:
        box = self.mailboxes.setdefault(to, deque())
        if mt == 9:
            for segment in segments_for_receive(text):
                box.append((mt, sender, segment))
        else:
            box.append((mt, sender, text))

    def broadcast_status(self, uin: int, status: int) -> None:
        """A status message to everyone who lists ``uin`` as a friend and is logged in."""
        shown = 20 if status == 40 else status
        online = {login.uin for login in self.logins.values()}
        for acc in self.world.accounts.values():
            if uin in acc.friends and acc.qq in online and acc.qq != uin:
                self.deliver(acc.qq, 99, uin, str(shown))

    def _drop(self, login: _Login) -> None:
        self.logins.pop((login.peer, login.uin), None)
        if not any(x.uin == login.uin for x in self.logins.values()):
            self.broadcast_status(login.uin, 20)

    def profile(self, uin: int) -> dict[str, str]:
        acc = self.account(uin)
        assert acc is not None
        base = {
            "AD": "", "AG": "0", "BT": "0", "CO": "0", "CT": "", "CV": "", "CY": "", "EM": "",
            "FC": str(acc.face), "HP": "", "ID": "-", "JB": "", "MO": "", "MT": "0", "MV": "",
            "PC": "", "PH": "", "PR": acc.lnick, "PV": "", "RN": "", "SC": "", "SH": "0",
            "SX": "1" if acc.gender == "female" else "0",
        }  # fmt: skip
        base.update(self.profiles.get(uin, {}))
        return base


def _number(value: str | None) -> int:
    if value is None or not value.isdigit():
        raise _Null
    return int(value)


_NUMERIC: dict[str, tuple[str, ...]] = {
    "List": ("TN", "UN"),
    "Query_Stat": ("TN", "UN"),
    "GetInfo": ("LV", "UN"),
    "AddToList": ("UN",),
    "Ack_AddToList": ("UN", "CD"),
    "DelFromList": ("UN",),
    "Change_Stat": ("ST",),
    "CLTMSG": ("UN",),
}
_REQUIRED = {"GetInfo": ("UN",), "AddToList": ("UN",), "Ack_AddToList": ("UN", "CD"),
             "DelFromList": ("UN",), "Change_Stat": ("ST",), "CLTMSG": ("UN", "MG")}  # fmt: skip


def _validate(cmd: str, fields: dict[str, str]) -> None:
    for key in _REQUIRED.get(cmd, ()):
        if key not in fields:
            raise _Null
    for key in _NUMERIC.get(cmd, ()):
        if key in fields and fields[key] != "" and not fields[key].isdigit():
            raise _Null
    if cmd == "Change_Stat" and fields["ST"] not in ("10", "20", "30", "40"):
        raise _Null


Answerer = Callable[..., str]


def _login(
    service: TQQService, uin: int, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    if not f.get("PS") or f.get("LC") != LC:
        raise _Null
    if uin < 10000 or uin > 0xFFFFFFFF:
        return TQQReply([answer(5)])
    acc = service.account(uin)
    if acc is None or password_md5(acc.password) != f["PS"].lower():
        return TQQReply([answer(0, {"RS": 1, "RA": "密码错误"})])
    was_online = any(x.uin == uin for x in service.logins.values())
    service.logins[(peer, uin)] = _Login(uin, peer, 10, service.clock())
    if not was_online:
        service.broadcast_status(uin, 10)
    cfg = service.config
    return TQQReply([answer(0, {"RS": 0, "HI": cfg.heartbeat, "LI": cfg.idle_timeout})])


def _logout(
    service: TQQService, uin: int, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    login = service.logins.get((peer, uin))
    if login is not None:
        service._drop(login)
    return TQQReply([answer(0)])


def _list(
    service: TQQService, me: _Login, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    friends = list(service.world.accounts[me.uin].friends)
    if int(f.get("TN") or 0) == 0:
        return TQQReply([answer(0, {"FN": len(friends)})])
    return TQQReply([answer(0, {"FN": 1, "SN": len(friends), "UN": RawValue(join_list(friends))})])


def _query_stat(
    service: TQQService, me: _Login, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    online = [(uin, service.status_of(uin)) for uin in service.world.accounts[me.uin].friends]
    online = [(uin, st) for uin, st in online if st in (10, 30) and uin in service.world.accounts]
    if int(f.get("TN") or 0) == 0:
        empty = {k: None for k in ("FC",)} | {"FN": 1, "SN": 0, "ST": None, "UN": None, "NK": None}
        return TQQReply([answer(0, {"FN": len(online)}), answer(0, empty)])
    accs = [service.world.accounts[uin] for uin, _ in online]
    return TQQReply(
        [
            answer(
                0,
                {
                    "FC": RawValue(join_list(a.face for a in accs)),
                    "FN": 1,
                    "SN": len(online),
                    "ST": RawValue(join_list(st for _, st in online)),
                    "UN": RawValue(join_list(uin for uin, _ in online)),
                    "NK": RawValue(join_list(a.nick for a in accs)),
                },
            )
        ]
    )


def _get_info(
    service: TQQService, me: _Login, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    uin, level = int(f["UN"]), int(f.get("LV") or 0)
    acc = service.account(uin)
    if acc is None:
        return TQQReply([answer(5)])
    if level <= 1:
        return TQQReply([answer(0, {"LV": level, "UN": uin, "NK": acc.nick})])
    profile = service.profile(uin) | {"LV": str(level)}
    keys = _LV2 if level == 2 else _LV3
    out: dict[str, object] = {k: profile[k] for k in keys}
    return TQQReply([answer(0, out | {"UN": uin, "NK": acc.nick})])


def _add(
    service: TQQService, me: _Login, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    target = int(f["UN"])
    if service.account(target) is None or target == me.uin:
        return TQQReply([answer(5)])
    cd = service.auth_policy.get(target, 0)
    if cd == 0:
        service.world.accounts[me.uin].friends[target] = FriendEntry()
    return TQQReply([answer(0, {"CD": cd, "UN": target})])


def _ack(
    service: TQQService, me: _Login, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    other, cd, reason = int(f["UN"]), int(f["CD"]), f.get("RS", "")
    if cd >= 3:
        return service._penalty("Ack_AddToList", answer)
    if service.account(other) is None:
        return TQQReply([answer(5)])
    if cd == 2:  # we ask `other` to approve us
        service.requests.add((me.uin, other))
        service.deliver(other, 2, me.uin, reason)
    elif (other, me.uin) in service.requests:  # `other` asked us: approve (0) or reject (1)
        service.requests.discard((other, me.uin))
        if cd == 0:
            service.world.accounts[other].friends[me.uin] = FriendEntry()
            service.deliver(other, 3, me.uin, "")
        else:
            service.deliver(other, 4, me.uin, reason)
    return TQQReply([answer(0)])


def _del(
    service: TQQService, me: _Login, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    service.world.accounts[me.uin].friends.pop(int(f["UN"]), None)
    return TQQReply([answer(0) + "&"])


def _change_stat(
    service: TQQService, me: _Login, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    status = int(f["ST"])
    if status != me.status:
        me.status = status
        service.broadcast_status(me.uin, status)
    return TQQReply([answer(0) + "&"])


def _get_msg(
    service: TQQService, me: _Login, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    box = service.mailboxes.get(me.uin)
    items = (
        [box.popleft() for _ in range(min(len(box), service.config.max_messages))] if box else []
    )
    if not items:
        return TQQReply([answer(0, {"MN": 0, "MT": None, "UN": None, "MG": None})])
    for mt, sender, text in items:
        service.delivered.append(Delivered(me.uin, mt, sender, text))
    out = {
        "MN": len(items),
        "MT": RawValue(join_list(mt for mt, _, _ in items)),
        "UN": RawValue(join_list(sender for _, sender, _ in items)),
        "MG": RawValue(join_list(text for _, _, text in items)),
    }
    return TQQReply([answer(0, out)])


def _cltmsg(
    service: TQQService, me: _Login, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    text, to = f["MG"], int(f["UN"])
    if len(text.encode()) > 400:
        service.last_accepted.pop((me.uin, "CLTMSG"), None)
        return service._penalty("CLTMSG", answer)
    service.sent.append((me.uin, to, text))
    if service.account(to) is not None:  # "sent; the other side may not get it"
        service.deliver(to, 9, me.uin, text)
    return TQQReply([answer(0) + "&"])


def _finger(
    service: TQQService, me: _Login, f: dict[str, str], peer: str, answer: Answerer
) -> TQQReply:
    age, sex, province = f.get("AG", ""), f.get("SX", ""), f.get("PV", "")
    hits = []
    for acc in service.world.accounts.values():
        p = service.profile(acc.qq)
        if (
            (age and p["AG"] != age)
            or (sex and p["SX"] != sex)
            or (province and p["PV"] != province)
        ):
            continue
        hits.append((acc, p))
        if len(hits) == 50:
            break
    lists = {
        "SN": len(hits),
        "UN": RawValue(join_list(a.qq for a, _ in hits)),
        "NK": RawValue(join_list(a.nick for a, _ in hits)),
        "FC": RawValue(join_list(a.face for a, _ in hits)),
        "AG": RawValue(join_list(p["AG"] for _, p in hits)),
        "SX": RawValue(join_list(p["SX"] for _, p in hits)),
        "PV": RawValue(join_list(p["PV"] for _, p in hits)),
    }
    return TQQReply([answer(0, lists)])


# CMD -> (the CMD the answer carries, needs a login, handler). The answer names are the
# seeds': some commands come back upper-cased, some as sent.
_HANDLERS: dict[str, tuple[str, bool, Callable[..., TQQReply]]] = {
    "Login": ("LOGIN", False, _login),
    "Logout": ("LOGOUT", False, _logout),
    "List": ("LIST", True, _list),
    "Query_Stat": ("QUERY_STAT", True, _query_stat),
    "GetInfo": ("GETINFO", True, _get_info),
    "AddToList": ("AddToList", True, _add),
    "Ack_AddToList": ("Ack_AddToList", True, _ack),
    "DelFromList": ("DelFromList", True, _del),
    "Change_Stat": ("Change_Stat", True, _change_stat),
    "GetMsgEx": ("GETMSGEX", True, _get_msg),
    "CLTMSG": ("CLTMSG", True, _cltmsg),
    "Finger": ("FINGER", True, _finger),
}
