"""The hostile part of the fault run's mix: a poisoning peer and a would-be usurper.

Two faults of issue 13 that come from other clients rather than from the network:

* **Poison** (item 8): a logged-in peer ("Mallory", a friend of the bot) sends content
  the emulator must refuse at send time with the protocol's error (retcode 100006): lone
  surrogates escaped in the content JSON, nesting too deep to parse, a face id JSON
  cannot carry, content that is not a content array. Each burst also tries the direct
  injection path with a lone surrogate (it must raise ``BadContent``) and ends with one
  valid control message (``p<k>``) over the same session, which must be accepted: the
  refusals are about the content, not the sender. Refused poison is not expected
  anywhere; the innocent tagged messages injected around it are counted as usual.
* **Takeover** (item 9): a stranger with its own cookie jar asks for a QR code and polls
  its status a few times while the bot is live. QR auto-confirm is off by default, so
  every answer must be "not scanned yet" (66) or "expired" (65), never a login (0); no
  QR ticket is ever confirmed, and the bot is kicked no more often than the schedule's
  own kicks.

Both talk to the emulator through ``Emulator.transport()`` (in process, no socket) with
the protocol's own request builders, as any client would on the wire.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from smartqq.emulator import BOT_QQ, Emulator
from smartqq.emulator.mailbox import BadContent
from smartqq.emulator.memory import MemoryTransport
from smartqq.errors import SmartQQError
from smartqq.protocol import SMARTQQ, HttpRequest, SessionState, password_login_flow
from smartqq.protocol import endpoints as ep
from smartqq.protocol.http import HttpResponse

PEER_QQ = 10066
PEER_PASSWORD = "mallory-pw"

POISON: tuple[tuple[str, str], ...] = (
    ("lone high surrogate", '["\\ud800 poison"]'),
    ("lone low surrogate", '["poison \\udfff"]'),
    ("surrogate in a face", '[["face", "\\ud800"]]'),
    ("nesting too deep", "[" * 20_000 + "]" * 20_000),
    ("face id 1e999", '["x", ["face", 1e999]]'),
    ("not JSON", "not json"),
    ("not an array", '{"text": "poison"}'),
    ("numbers", "[1, 2]"),
)
"""(name, the ``content`` JSON text of send_buddy_msg2): all refused with 100006."""


@dataclasses.dataclass
class HostileLog:
    """What the hostile clients did and were told; JSON-able (``dataclasses.asdict``)."""

    poison_answers: dict[str, int] = dataclasses.field(default_factory=dict)
    """Retcodes of the poisoned sends (``"100006"`` = refused; a dead session is retried)."""
    poison_sent: int = 0
    inject_refused: int = 0
    inject_accepted: int = 0
    controls_ok: list[str] = dataclasses.field(default_factory=list)
    """Control texts the peer sent that the emulator accepted (retcode 0)."""
    peer_logins: int = 0
    qr_answers: dict[str, int] = dataclasses.field(default_factory=dict)
    """ptqrlogin answer codes the stranger got (``"66"``, ``"65"``; ``"0"`` is a takeover)."""
    qr_codes: int = 0
    qr_confirmed: int = 0
    """QR tickets confirmed for anyone (must stay 0: nobody confirmed one)."""
    poisoned_at_poll: int = 0
    """The emulator's count of events that failed to encode at poll time (must stay 0)."""


class _Jarred:
    """One client's cookie jar over the in-memory transport (the session's job)."""

    def __init__(self, transport: MemoryTransport) -> None:
        self.transport = transport
        self.state = SessionState(SMARTQQ)

    async def send(self, req: HttpRequest) -> HttpResponse:
        cookie = self.state.cookies.header_for(req.url)
        if cookie:
            req = dataclasses.replace(req, headers=(*req.headers, ("Cookie", cookie)))
        resp = await self.transport.send(req)
        self.state.cookies.update_from(req.url, resp.header_all("Set-Cookie"))
        return resp


class Hostiles:
    """The poisoning peer and the stranger; :meth:`schedule` entries for the fault mix."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.log = HostileLog()
        self._poison: Counter[str] = Counter()
        self._qr: Counter[str] = Counter()
        self._peer: _Jarred | None = None
        self._controls = 0
        if PEER_QQ not in emu.world.accounts:
            emu.world.add_account(PEER_QQ, password=PEER_PASSWORD, nick="Mallory")
            emu.world.befriend(BOT_QQ, PEER_QQ)

    def schedule(self) -> list[tuple[str, Callable[[Emulator], Any]]]:
        return [("poison", lambda _emu: self.poison()), ("takeover", lambda _emu: self.takeover())]

    async def _login(self) -> _Jarred:
        peer = _Jarred(self.emu.transport())
        flow = password_login_flow(peer.state, PEER_QQ, PEER_PASSWORD)
        answer: Any = None
        while True:
            try:
                step = flow.send(answer)
            except StopIteration:
                break
            answer = await peer.send(step) if isinstance(step, HttpRequest) else None
        self.log.peer_logins += 1
        return peer

    async def _send(self, content: str) -> int | None:
        """Send ``content`` to the bot as the peer: the retcode (logging in again once if
        the session died of an expiry or restart in the mix), or None if it failed."""
        for _ in range(2):
            try:
                if self._peer is None:
                    self._peer = await self._login()
                live = self.emu.service.live(PEER_QQ)
                if live is None:
                    self._peer = None
                    continue
                to = live.handle("qq", BOT_QQ)
                resp = await self._peer.send(ep.send_buddy_msg2(self._peer.state, to, content, 1))
                code = int(json.loads(resp.body).get("retcode", -1))
            except (SmartQQError, ValueError):
                self._peer = None  # a fault in the mix (a restart) hit the login or the send
                continue
            if code in (100006, 0):
                return code
            self._peer = None  # 103/100012: the session ended; log in again
        return None

    async def poison(self) -> None:
        for _name, content in POISON:
            code = await self._send(content)
            self.log.poison_sent += 1
            self._poison[str(code)] += 1
        for bad in ("\ud800 injected", ["x \udc00"]):
            try:
                self.emu.user(10002).send_buddy(BOT_QQ, bad)
                self.log.inject_accepted += 1
            except BadContent:
                self.log.inject_refused += 1
        self._controls += 1
        text = f"p{self._controls}"
        if await self._send(json.dumps([text])) == 0:
            self.log.controls_ok.append(text)

    async def takeover(self) -> None:
        stranger = _Jarred(self.emu.transport())
        try:
            await stranger.send(ep.ptqrshow(SMARTQQ))
            self.log.qr_codes += 1
            qrsig = stranger.state.cookies.get("qrsig") or ""
            for _ in range(4):
                resp = await stranger.send(ep.ptqrlogin(SMARTQQ, qrsig))
                code = resp.body.decode(errors="replace").split("'")[1]
                self._qr[code] += 1
            ticket = self.emu.service.qr.get(qrsig)
            if ticket is not None and ticket.confirmed_qq is not None:
                self.log.qr_confirmed += 1
        except SmartQQError:
            self._qr["transport error"] += 1  # a restart in the mix; not a takeover

    def finish(self) -> HostileLog:
        self.log.poison_answers = dict(self._poison)
        self.log.qr_answers = dict(self._qr)
        self.log.poisoned_at_poll = int(self.emu.stats()["poisoned"])
        return self.log
