"""Tickets and sessions: what ptlogin2 hands out and the channel sessions it leads to.

A *channel session* exists from ``login2`` until logout, kick or expiry. Each has its
own handle table: every account, group and discussion it sees gets a random 32-bit
handle (often above 2**31, as in real traffic), different from QQ numbers and different
at every login.

Everything a stranger can make the server remember without logging in (QR tickets,
``check`` verification codes, captcha answers, ``check_sig`` tickets) lives in an
:class:`Expiring` table: entries expire after a lifetime and the oldest go first when
the table is full, so unauthenticated traffic cannot grow memory without bound.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Expiring", "Logins", "QRTicket", "Session"]

K = TypeVar("K")
V = TypeVar("V")

KEEP_SESSIONS = 2_000
KEEP_SKEYS = 10_000
MAX_QR = 1_000
MAX_CODES = 10_000
MAX_CAPTCHAS = 1_000
MAX_TICKETS = 10_000
CODE_LIFETIME = 600.0
"""Seconds a check code, captcha answer or check_sig ticket stays valid."""


class Expiring(Generic[K, V]):
    """An insertion-ordered table whose entries expire and whose size is capped."""

    def __init__(self, cap: int, lifetime: Callable[[], float], clock: Callable[[], float]):
        self.cap = cap
        self._lifetime = lifetime  # read on each put: the config may change at run time
        self._clock = clock
        self._items: dict[K, tuple[float, V]] = {}

    def _prune(self, now: float) -> None:
        items = self._items
        while items:
            key, (expires, _) = next(iter(items.items()))
            if expires > now and len(items) < self.cap:
                break
            del items[key]

    def put(self, key: K, value: V) -> None:
        now = self._clock()
        self._items.pop(key, None)
        self._prune(now)
        self._items[key] = (now + self._lifetime(), value)

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is None:
            return None
        if found[0] <= self._clock():
            del self._items[key]
            return None
        return found[1]

    def pop(self, key: K, default: V | None = None) -> V | None:
        value = self.get(key)
        self._items.pop(key, None)
        return default if value is None else value

    def __setitem__(self, key: K, value: V) -> None:
        self.put(key, value)

    def items(self) -> Iterator[tuple[K, V]]:
        now = self._clock()
        return iter([(k, v) for k, (expires, v) in self._items.items() if expires > now])

    def values(self) -> Iterator[V]:
        return (v for _, v in self.items())

    def clear(self) -> None:
        self._items.clear()

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class QRTicket:
    qrsig: str
    created: float
    checks: int = 0
    confirmed_qq: int | None = None
    scanned: bool = False
    done: bool = False


@dataclass
class Session:
    qq: int
    psessionid: str
    clientid: str
    vfwebqq: str
    ptwebqq: str
    profile: str
    created: float
    status: str = "online"
    probed: bool = False
    expired: bool = False
    ended: bool = False
    kick_pending: bool = False
    kick_reason: str = ""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    last_rotation: float = 0.0
    send_times: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    handles: dict[tuple[str, int], int] = field(default_factory=dict)
    reverse: dict[int, tuple[str, int]] = field(default_factory=dict)

    def handle(self, kind: str, key: int) -> int:
        """The session handle of (``qq``|``group``|``discu``, id); the self uin is the QQ number."""
        if kind == "qq" and key == self.qq:
            return self.qq
        h = self.handles.get((kind, key))
        if h is None:
            while True:
                h = secrets.randbelow(2**32 - 10**6) + 10**6
                if h not in self.reverse and h != self.qq:
                    break
            self.handles[(kind, key)] = h
            self.reverse[h] = (kind, key)
        return h

    def resolve(self, handle: int, kind: str) -> int | None:
        if kind == "qq" and handle == self.qq:
            return self.qq
        found = self.reverse.get(handle)
        return found[1] if found and found[0] == kind else None

    def __repr__(self) -> str:
        return f"Session(qq={self.qq}, profile={self.profile!r}, ended={self.ended})"


class Logins:
    """ptlogin2's tables and the live channel sessions."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.by_qq: dict[int, Session] = {}
        self.pending_vfwebqq: dict[int, str] = {}
        self.pending_ptwebqq: dict[int, str] = {}
        self.skeys: dict[str, int] = {}

        def fixed() -> float:
            return CODE_LIFETIME

        # ptqrlogin also applies Config.qr_lifetime when a ticket is checked; the table's
        # own lifetime only bounds memory.
        self.qr: Expiring[str, QRTicket] = Expiring(MAX_QR, fixed, clock)
        self.tickets: Expiring[str, int] = Expiring(MAX_TICKETS, fixed, clock)
        self.captchas: Expiring[int, str] = Expiring(MAX_CAPTCHAS, fixed, clock)
        self.check_codes: Expiring[int, str] = Expiring(MAX_CODES, fixed, clock)

    def forget(self) -> None:
        """Drop every session, login cookie, QR code and code handed out (a cold restart)."""
        for table in (
            self.sessions,
            self.by_qq,
            self.pending_vfwebqq,
            self.pending_ptwebqq,
            self.skeys,
            self.qr,
            self.tickets,
            self.captchas,
            self.check_codes,
        ):
            table.clear()

    def add_skey(self, skey: str, qq: int) -> None:
        self.skeys[skey] = qq
        while len(self.skeys) > KEEP_SKEYS:
            del self.skeys[next(iter(self.skeys))]

    def open(self, qq: int, clientid: str, ptwebqq: str, profile: str) -> Session:
        """A new session for ``qq`` (the caller kicks the previous one)."""
        vf = self.pending_vfwebqq.pop(qq, None) or secrets.token_hex(40)
        sid = (
            "8368046764001d636f6e6e7365727665725f77656271714031302e3133332e34312e3834"
            + secrets.token_hex(24)
            + "00000028"
            + vf[:40].encode().hex()[:40]
        )
        now = self.clock()
        s = Session(qq, sid, clientid, vf, ptwebqq, profile, now, last_rotation=now)
        self.sessions[sid] = s
        self.by_qq[qq] = s
        self._forget_old()
        return s

    def _forget_old(self) -> None:
        """Bound what a long-running emulator keeps of past logins (it answers 103 to a
        forgotten psessionid, as it would to any unknown one)."""
        if len(self.sessions) > KEEP_SESSIONS:
            ended = [sid for sid, s in self.sessions.items() if s.ended]
            for sid in ended[: len(self.sessions) - KEEP_SESSIONS]:
                del self.sessions[sid]

    def renew(self, s: Session) -> None:
        """Relink: a fresh psessionid for the same session (queue and handles kept)."""
        self.sessions.pop(s.psessionid, None)
        s.psessionid = s.psessionid[:-40] + secrets.token_hex(20)
        s.created = self.clock()
        s.expired = False
        self.sessions[s.psessionid] = s

    def end(self, s: Session) -> None:
        """Logout: the session answers 103 from now on."""
        s.ended = True
        if self.by_qq.get(s.qq) is s:
            del self.by_qq[s.qq]
        s.wake.set()

    def find_by_vfwebqq(self, vfwebqq: str) -> Session | None:
        for s in self.by_qq.values():
            if s.vfwebqq == vfwebqq and not s.ended:
                return s
        return None

    def live(self, qq: int) -> Session | None:
        s = self.by_qq.get(qq)
        return s if s is not None and not s.ended else None
