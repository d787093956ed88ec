"""The emulator's live state: ptlogin tickets, channel sessions, queues, delivery.

A *channel session* exists from ``login2`` until logout, kick or expiry. Each
has its own handle table: every account, group and discussion it sees gets a
random 32-bit handle (often above 2**31, as in real traffic), different from
QQ numbers and different at every login. Events wait in a per-account queue
that outlives relinks, so a bot that relinks loses nothing; ``poll2`` takes up
to ``max_batch`` of them and answers newest first.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .world import World

__all__ = ["Config", "Delivery", "PendingEvent", "QRTicket", "Service", "Session"]


@dataclass
class Config:
    hold: float = 25.0
    """Seconds a poll2 is held when idle (the real service held ~60 s)."""
    idle: str = "102"
    """Idle answer: ``102``, ``errmsg`` (retcode 0 + errmsg) or ``504``."""
    max_batch: int = 20
    rotate_ptwebqq_every: float | None = None
    session_lifetime: float | None = None
    expiry_retcode: int = 121
    qr_confirm_after: int | None = 2
    """ptqrlogin checks before the scan is confirmed (None: only via /_emu/qr/confirm)."""
    qr_lifetime: float = 120.0
    qr_account: int | None = None
    send_form: str = "retcode"
    """``retcode`` → {"retcode":0,"result":"ok"}; ``errCode`` → {"errCode":0,"msg":"send ok"}."""
    send_rate: float | None = None
    """Sends per second allowed per session before answering 1202."""
    deliver_on_1202: bool = True
    require_probe: bool = True
    """Answer 103 to poll2 until get_online_buddies2 was called after login2."""
    trailing_space: bool = False
    """Emit 2012–2015 content (one trailing space after the last text)."""
    control_token: str | None = None


_KEEP_SESSIONS = 2_000
_KEEP_SKEYS = 10_000


@dataclass
class PendingEvent:
    poll_type: str
    build: Any
    """``build(session) -> value dict`` so handles are per-session."""
    token: str | None = None
    enqueued: float = field(default_factory=time.time)


@dataclass
class Delivery:
    token: str | None
    qq: int
    t: float


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


class Service:
    """All state behind the HTTP layer. One per Emulator."""

    def __init__(self, world: World, config: Config) -> None:
        self.world = world
        self.config = config
        self.sessions: dict[str, Session] = {}
        self.by_qq: dict[int, Session] = {}
        self.queues: dict[int, deque[PendingEvent]] = {}
        self.pending_vfwebqq: dict[int, str] = {}
        self.pending_ptwebqq: dict[int, str] = {}
        self.qr: dict[str, QRTicket] = {}
        self.tickets: dict[str, int] = {}
        self.skeys: dict[str, int] = {}
        self.captchas: dict[int, str] = {}
        self.check_codes: dict[int, str] = {}
        self._msg_ids = itertools.count(int(time.time()) % 100000 * 100 + 1)
        self.polls = 0
        self.waiters = 0
        self.online_at: float | None = None
        self.injected: list[dict[str, Any]] = []
        self.delivered: list[Delivery] = []
        self.replies: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.sent_listeners: list[Callable[[dict[str, Any]], None]] = []
        self.hosts: dict[str, int] = {}

    def forget_logins(self) -> None:
        """Drop every session, login cookie, QR code and queued event (a cold restart).

        The world and the test records (``sent``, ``injected``, ``delivered``…) stay.
        """
        for table in (
            self.sessions,
            self.by_qq,
            self.queues,
            self.pending_vfwebqq,
            self.pending_ptwebqq,
            self.qr,
            self.tickets,
            self.skeys,
            self.captchas,
            self.check_codes,
        ):
            table.clear()
        self.online_at = None

    # -- ids ---------------------------------------------------------------------------

    def next_msg_id(self) -> int:
        return next(self._msg_ids)

    @staticmethod
    def token_hex(n: int) -> str:
        return secrets.token_hex(n)

    # -- sessions ----------------------------------------------------------------------

    def open_session(
        self, qq: int, clientid: str, ptwebqq: str, profile: str
    ) -> tuple[Session, Session | None]:
        old = self.by_qq.get(qq)
        vf = self.pending_vfwebqq.pop(qq, None) or secrets.token_hex(40)
        sid = (
            "8368046764001d636f6e6e7365727665725f77656271714031302e3133332e34312e3834"
            + secrets.token_hex(24)
            + "00000028"
            + vf[:40].encode().hex()[:40]
        )
        now = time.time()
        s = Session(qq, sid, clientid, vf, ptwebqq, profile, now, last_rotation=now)
        s.status = (
            self.world.account(qq).status
            if self.world.account(qq).status != "offline"
            else "online"
        )
        self.sessions[sid] = s
        self.by_qq[qq] = s
        self.queues.setdefault(qq, deque())
        self.online_at = now
        if old is not None and not old.ended:
            self.kick(old)
        self._forget_old_logins()
        return s, old

    def _forget_old_logins(self) -> None:
        """Bound what a long-running emulator keeps of past logins (it answers 103 to a
        forgotten psessionid, as it would to any unknown one)."""
        if len(self.sessions) > _KEEP_SESSIONS:
            ended = [sid for sid, s in self.sessions.items() if s.ended]
            for sid in ended[: len(self.sessions) - _KEEP_SESSIONS]:
                del self.sessions[sid]
        while len(self.skeys) > _KEEP_SKEYS:
            del self.skeys[next(iter(self.skeys))]

    def renew(self, s: Session) -> None:
        """Relink: a fresh psessionid for the same session (queue and handles kept)."""
        self.sessions.pop(s.psessionid, None)
        s.psessionid = s.psessionid[:-40] + secrets.token_hex(20)
        s.created = time.time()
        s.expired = False
        self.sessions[s.psessionid] = s

    def end_session(self, s: Session) -> None:
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

    def is_expired(self, s: Session) -> bool:
        life = self.config.session_lifetime
        if life is not None and time.time() - s.created > life:
            s.expired = True
        return s.expired

    # -- events ------------------------------------------------------------------------

    def push(self, qq: int, event: PendingEvent) -> bool:
        """Queue an event for an account with a live session (the real service
        dropped events for offline accounts)."""
        s = self.live(qq)
        if s is None:
            return False
        self.queues.setdefault(qq, deque()).append(event)
        s.wake.set()
        return True

    def requeue(self, qq: int, events: list[PendingEvent]) -> None:
        """Put undelivered events back at the front, in their original order."""
        q = self.queues.setdefault(qq, deque())
        q.extendleft(reversed(events))

    def take(self, qq: int, limit: int) -> list[PendingEvent]:
        q = self.queues.get(qq)
        if not q:
            return []
        return [q.popleft() for _ in range(min(limit, len(q)))]

    def content_wire(self, content: list[Any]) -> list[Any]:
        font = next((el for el in content if isinstance(el, list) and el and el[0] == "font"), None)
        body = [el for el in content if not (isinstance(el, list) and el and el[0] == "font")]
        if self.config.trailing_space:
            if body and isinstance(body[-1], str):
                body[-1] = body[-1] + " "
            else:
                body.append(" ")
        font = font or ["font", {"size": 10, "color": "000000", "style": [0, 0, 0], "name": "宋体"}]
        return [font, *body]

    def _stamp(self, content: list[Any]) -> tuple[list[Any], int, int]:
        """The wire content, a fresh msg_id and the time shared by every copy of a message."""
        return self.content_wire(content), self.next_msg_id(), int(time.time())

    def _fan_out(
        self,
        members: Iterable[int],
        sender: int,
        poll_type: str,
        build: Callable[[Session], dict[str, Any]],
        token: str | None,
    ) -> int:
        """Queue one event for every logged-in member but the sender; how many got it."""
        count = 0
        for member in members:
            if member != sender and self.live(member) is not None:
                count += self.push(member, PendingEvent(poll_type, build, token))
        return count

    def deliver_buddy(
        self, sender: int, to: int, content: list[Any], token: str | None = None
    ) -> bool:
        wire, msg_id, now = self._stamp(content)

        def build(s: Session) -> dict[str, Any]:
            return {
                "content": wire,
                "from_uin": s.handle("qq", sender),
                "msg_id": msg_id,
                "msg_type": 0,
                "time": now,
                "to_uin": s.qq,
            }

        return self._fan_out((to,), sender, "message", build, token) == 1

    def deliver_sess(
        self,
        sender: int,
        to: int,
        via: tuple[str, int],
        content: list[Any],
        token: str | None = None,
    ) -> bool:
        """A temporary-session message; ``via`` is (``group``, code) or (``discu``, did)."""
        wire, msg_id, now = self._stamp(content)
        kind, key = via

        def build(s: Session) -> dict[str, Any]:
            return {
                "content": wire,
                "flags": {"text": 1, "pic": 1, "file": 1, "audio": 1, "video": 1},
                "from_uin": s.handle("qq", sender),
                "id": s.handle(kind, key),
                "msg_id": msg_id,
                "msg_id2": msg_id % 1_000_000,
                "msg_type": 140,
                "reply_ip": 176_498_455,
                "ruin": sender,
                "service_type": 0 if kind == "group" else 1,
                "time": now,
                "to_uin": s.qq,
            }

        return self._fan_out((to,), sender, "sess_message", build, token) == 1

    def deliver_group(
        self, sender: int, code: int, content: list[Any], token: str | None = None
    ) -> int:
        group = self.world.groups[code]
        wire, msg_id, now = self._stamp(content)

        def build(s: Session) -> dict[str, Any]:
            gid = s.handle("group", code)
            return {
                "content": wire,
                "from_uin": gid,
                "group_code": gid,
                "msg_id": msg_id,
                "msg_type": 0,
                "send_uin": s.handle("qq", sender),
                "time": now,
                "to_uin": s.qq,
            }

        return self._fan_out(group.members, sender, "group_message", build, token)

    def deliver_discu(
        self, sender: int, did: int, content: list[Any], token: str | None = None
    ) -> int:
        disc = self.world.discussions[did]
        wire, msg_id, now = self._stamp(content)

        def build(s: Session) -> dict[str, Any]:
            d = s.handle("discu", did)
            return {
                "content": wire,
                "did": d,
                "from_uin": d,
                "msg_id": msg_id,
                "msg_type": 0,
                "send_uin": s.handle("qq", sender),
                "time": now,
                "to_uin": s.qq,
            }

        return self._fan_out(disc.members, sender, "discu_message", build, token)

    def shared_chat(self, a: int, b: int) -> tuple[str, int] | None:
        """A group or discussion both ``a`` and ``b`` belong to (what a sess message needs)."""
        for group in self.world.groups_of(a):
            if b in group.members:
                return ("group", group.code)
        for disc in self.world.discussions_of(a):
            if b in disc.members:
                return ("discu", disc.id)
        return None

    def status_changed(self, qq: int, status: str, client_type: int = 1) -> None:
        self.world.account(qq).status = status
        for friend in self.world.account(qq).friends:
            self.push(
                friend,
                PendingEvent(
                    "buddies_status_change",
                    lambda s, qq=qq: {
                        "uin": s.handle("qq", qq),
                        "status": status,
                        "client_type": client_type,
                    },
                ),
            )

    def kick(self, s: Session, reason: str = "您的帐号在另一地点登录，您已被迫下线。") -> None:
        """End ``s``; its next poll answers ``kick_message`` (then 103)."""
        s.kick_reason = reason
        s.kick_pending = True
        self.end_session(s)

    def inject(
        self,
        kind: str,
        sender: int | None,
        to: int | None,
        text: str,
        token: str | None,
        content: list[Any] | None = None,
    ) -> int:
        return inject(self, kind, sender, to, text, token, content)

    def record_delivery(self, qq: int, events: list[PendingEvent]) -> None:
        now = time.time()
        for ev in events:
            if ev.token is not None:
                self.delivered.append(Delivery(ev.token, qq, now))


def _resolve_sender(svc: Service, sender: int | None) -> int:
    accounts = list(svc.world.accounts)
    if sender is None:
        # the first account without a live session: a "person", not the bot
        return next((q for q in accounts if svc.live(q) is None), accounts[-1])
    if 0 <= sender < len(accounts) and sender not in svc.world.accounts:
        return accounts[sender]
    svc.world.account(sender)
    return sender


def inject(
    svc: Service,
    kind: str,
    sender: int | None,
    to: int | None,
    text: str,
    token: str | None,
    content: list[Any] | None,
) -> int:
    """Queue one message from a world account to a chat it belongs to."""
    qq = _resolve_sender(svc, sender)
    body = content if content is not None else [text]
    svc.injected.append({"token": token, "t": time.time(), "kind": kind, "from": qq})
    if kind == "buddy":
        friends = svc.world.account(qq).friends
        target = (
            to if to is not None else next((f for f in friends if svc.live(f) is not None), None)
        )
        if target is None or target not in friends:
            raise ValueError(f"{qq} has no friend {to} to message")
        return int(svc.deliver_buddy(qq, target, body, token))
    if kind == "group":
        groups = svc.world.groups_of(qq)
        group = next((g for g in groups if to in (None, g.code)), None)
        if group is None:
            raise ValueError(f"{qq} is not in group {to}")
        return svc.deliver_group(qq, group.code, body, token)
    if kind == "discu":
        discs = svc.world.discussions_of(qq)
        disc = next((d for d in discs if to in (None, d.id)), None)
        if disc is None:
            raise ValueError(f"{qq} is not in discussion {to}")
        return svc.deliver_discu(qq, disc.id, body, token)
    if kind == "sess":
        via = svc.shared_chat(qq, to) if to is not None else None
        if to is None or via is None:
            raise ValueError(f"{qq} shares no group or discussion with {to}")
        return int(svc.deliver_sess(qq, to, via, body, token))
    raise ValueError(f"unknown message kind {kind!r}")
