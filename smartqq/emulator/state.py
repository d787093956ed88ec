"""The emulator's configuration and the state behind every endpoint, composed from three jobs.

* :mod:`.sessions` -- ptlogin2's tickets and the channel sessions (``logins``);
* :mod:`.mailbox` -- per-account queues and fan-out (``mail``);
* :mod:`.journal` -- the test journal (``journal``).

:class:`State` wires them to one world, one config and one injected clock, and holds the
operations that span them (open a session and kick the old one, deliver a message to a
chat, inject one from a world account). The tables are also reachable under their old
names (``state.sessions``, ``state.queues``, ``state.sent``...): tests read them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smartqq.content import Content

from .journal import Delivery, Journal
from .mailbox import BadContent, Mailboxes, PendingEvent, parse_content
from .sessions import Logins, QRTicket, Session
from .world import World

__all__ = ["BadContent", "Config", "Delivery", "PendingEvent", "QRTicket", "Session", "State"]


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
    qr_confirm_after: int | None = None
    """ptqrlogin checks before a QR code is confirmed by itself. None (the default): only
    the control API (``/_emu/qr/confirm``, :meth:`Emulator.confirm_qr`) confirms one, so a
    stranger who asks for a QR code is never logged in as the bot."""
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
    self_echo: bool = False
    """The late-2017 era: the bot's own sends come back through its poll2, the sender
    shown as a uin the bot has never seen."""
    control_token: str | None = None


class State:
    """All state behind the endpoints. One per Emulator; no I/O."""

    def __init__(
        self, world: World, config: Config, clock: Callable[[], float] = time.time
    ) -> None:
        self.world = world
        self.config = config
        self.clock = clock
        self.logins = Logins(clock)
        self.journal = Journal()
        self.mail = Mailboxes(self.logins, self.journal, lambda: self.config.trailing_space)
        # The old names, kept for tests and scripts (the same objects, not copies).
        self.sessions = self.logins.sessions
        self.by_qq = self.logins.by_qq
        self.skeys = self.logins.skeys
        self.qr = self.logins.qr
        self.tickets = self.logins.tickets
        self.captchas = self.logins.captchas
        self.check_codes = self.logins.check_codes
        self.pending_vfwebqq = self.logins.pending_vfwebqq
        self.pending_ptwebqq = self.logins.pending_ptwebqq
        self.queues: dict[int, deque[PendingEvent]] = self.mail.queues
        self.sent = self.journal.sent
        self.sent_listeners = self.journal.sent_listeners
        self.injected = self.journal.injected
        self.delivered = self.journal.delivered
        self.replies = self.journal.replies
        self.hosts = self.journal.hosts
        self.live = self.logins.live
        self.renew = self.logins.renew
        self.find_by_vfwebqq = self.logins.find_by_vfwebqq
        self.push = self.mail.push

    def forget_logins(self) -> None:
        """Drop every session, login cookie, QR code and queued event (a cold restart).

        The world and the test records (``sent``, ``injected``, ``delivered``…) stay.
        """
        self.logins.forget()
        self.queues.clear()
        self.journal.online_at = None

    # -- sessions ----------------------------------------------------------------------

    def open_session(self, qq: int, clientid: str, ptwebqq: str, profile: str) -> Session:
        old = self.by_qq.get(qq)
        s = self.logins.open(qq, clientid, ptwebqq, profile)
        status = self.world.account(qq).status
        s.status = status if status != "offline" else "online"
        self.queues.setdefault(qq, deque())
        self.journal.online_at = s.created
        if old is not None and not old.ended:
            self.kick(old)
        return s

    def is_expired(self, s: Session) -> bool:
        life = self.config.session_lifetime
        if life is not None and self.clock() - s.created > life:
            s.expired = True
        return s.expired

    def kick(self, s: Session, reason: str = "您的帐号在另一地点登录，您已被迫下线。") -> None:
        """End ``s``; its next poll answers ``kick_message`` (then 103)."""
        s.kick_reason = reason
        s.kick_pending = True
        self.logins.end(s)

    def end_session(self, s: Session) -> None:
        self.logins.end(s)

    def record_delivery(self, qq: int, events: list[PendingEvent]) -> None:
        self.journal.record_delivery(qq, [e.token for e in events], self.clock())

    # -- messages ----------------------------------------------------------------------

    def shared_chat(self, a: int, b: int) -> tuple[str, int] | None:
        """A group or discussion both ``a`` and ``b`` belong to (what a sess message needs)."""
        for group in self.world.groups_of(a):
            if b in group.members:
                return ("group", group.code)
        for disc in self.world.discussions_of(a):
            if b in disc.members:
                return ("discu", disc.id)
        return None

    def deliver(
        self,
        kind: str,
        sender: int,
        target: int,
        content: Content,
        token: str | None = None,
        *,
        echo: bool = False,
    ) -> int:
        """Queue one message from ``sender`` to a chat; how many sessions got it.

        ``echo`` also queues it back to the sender (the late-2017 echo).
        :class:`BadContent` if it cannot be encoded (nothing is queued then).
        """
        st = self.mail.stamp(content)
        if kind == "buddy":
            count = int(self.mail.buddy(sender, target, st, token, echo=False))
            if echo:
                self.mail.buddy(sender, target, st, None, echo=True)
            return count
        if kind == "sess":
            via = self.shared_chat(sender, target)
            if via is None:
                raise ValueError(f"{sender} shares no group or discussion with {target}")
            return int(self.mail.sess(sender, target, via, st, token))
        if kind == "group":
            members = self.world.groups[target].members
            return self.mail.group(sender, target, members, st, token, echo=echo) - echo
        if kind == "discu":
            members = self.world.discussions[target].members
            return self.mail.discu(sender, target, members, st, token, echo=echo) - echo
        raise ValueError(f"unknown message kind {kind!r}")

    def status_changed(self, qq: int, status: str, client_type: int = 1) -> None:
        self.world.account(qq).status = status
        build = self.mail.generic(
            "buddies_status_change",
            lambda s: {"uin": s.handle("qq", qq), "status": status, "client_type": client_type},
        )
        for friend in self.world.account(qq).friends:
            self.push(friend, PendingEvent("buddies_status_change", build))

    def inject(
        self,
        kind: str,
        sender: int | None,
        to: int | None,
        text: str,
        token: str | None,
        content: list[Any] | None = None,
    ) -> int:
        """Queue one message from a world account to a chat it belongs to."""
        qq = self._resolve_sender(sender)
        body = parse_content(content if content is not None else [text])
        target = self._inject_target(kind, qq, to)
        count = self.deliver(kind, qq, target, body, token)
        self.injected.append({"token": token, "t": self.clock(), "kind": kind, "from": qq})
        return count

    def _resolve_sender(self, sender: int | None) -> int:
        accounts = list(self.world.accounts)
        if sender is None:
            # the first account without a live session: a "person", not the bot
            return next((q for q in accounts if self.live(q) is None), accounts[-1])
        if 0 <= sender < len(accounts) and sender not in self.world.accounts:
            return accounts[sender]
        self.world.account(sender)
        return sender

    def _inject_target(self, kind: str, qq: int, to: int | None) -> int:
        if kind == "buddy":
            friends = self.world.account(qq).friends
            target = to if to is not None else next((f for f in friends if self.live(f)), None)
            if target is None or target not in friends:
                raise ValueError(f"{qq} has no friend {to} to message")
            return target
        if kind == "group":
            group = next((g for g in self.world.groups_of(qq) if to in (None, g.code)), None)
            if group is None:
                raise ValueError(f"{qq} is not in group {to}")
            return group.code
        if kind == "discu":
            disc = next((d for d in self.world.discussions_of(qq) if to in (None, d.id)), None)
            if disc is None:
                raise ValueError(f"{qq} is not in discussion {to}")
            return disc.id
        if kind == "sess":
            if to is None or self.shared_chat(qq, to) is None:
                raise ValueError(f"{qq} shares no group or discussion with {to}")
            return to
        raise ValueError(f"unknown message kind {kind!r}")
