"""What the web page needs from the emulator beyond the public ``Emulator`` facade.

Every read or write of the emulator's internal state (``emulator.service``) that
the web page makes lives in this one module, so that a refactoring of the
service's internals has exactly one place to follow here (``mypy --strict``
points at it). Everything else in :mod:`smartqq.emulator.webui` uses only the
facade (``world``, ``user``, ``on_sent``, ``faults``, ``kick``, ``restart`` …)
and these functions.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from smartqq.emulator.http import json_body, read_r
from smartqq.emulator.images import qr_png
from smartqq.emulator.incoming import emu_request

if TYPE_CHECKING:
    from smartqq.emulator.state import QRTicket

    from .facade import EmulatorView

__all__ = [
    "PendingQR",
    "confirm_qr_ticket",
    "drop_captcha",
    "expire_session",
    "live_sessions",
    "pending_qr",
    "qr_image",
    "request_account",
    "session_status",
    "set_captcha",
    "watch_injected",
]


@dataclass(frozen=True)
class PendingQR:
    """A QR code shown by a login page and not yet confirmed, as the phone sees it."""

    id: str
    """A stable public name for the code (a hash: the ``qrsig`` cookie itself is never shown)."""
    age: float
    expires_in: float
    scanned: bool


def _qr_id(qrsig: str) -> str:
    return hashlib.sha256(qrsig.encode()).hexdigest()[:16]


def _pending(emu: EmulatorView) -> list[tuple[str, QRTicket]]:
    now = time.time()
    life = emu.config.qr_lifetime
    return [
        (_qr_id(sig), t)
        for sig, t in emu.service.qr.items()
        if not t.done and t.confirmed_qq is None and now - t.created <= life
    ]


def pending_qr(emu: EmulatorView) -> list[PendingQR]:
    """Every QR login waiting for a phone to confirm it, newest first."""
    now = time.time()
    life = emu.config.qr_lifetime
    out = [
        PendingQR(qid, now - t.created, life - (now - t.created), t.scanned)
        for qid, t in _pending(emu)
    ]
    return sorted(out, key=lambda p: p.age)


def qr_image(emu: EmulatorView, qid: str) -> bytes | None:
    """The PNG of a pending QR code (the same picture ``ptqrshow`` served), or None."""
    for found, t in _pending(emu):
        if found == qid:
            return qr_png(f"https://ssl.ptlogin2.qq.com/ptqrlogin?k={t.qrsig[:24]}")
    return None


def confirm_qr_ticket(emu: EmulatorView, qid: str, qq: int) -> bool:
    """Confirm one pending QR code as ``qq``: its next ``ptqrlogin`` poll logs in."""
    for found, t in _pending(emu):
        if found == qid:
            t.scanned = True
            t.confirmed_qq = qq
            return True
    return False


def set_captcha(emu: EmulatorView, qq: int, code: str) -> None:
    """Hand out a captcha for ``qq``: ``emu.captcha_code(qq)`` (and ``/_emu/captcha``) read it."""
    emu.service.captchas[qq] = code


def drop_captcha(emu: EmulatorView, qq: int) -> None:
    emu.service.captchas.pop(qq, None)


def session_status(emu: EmulatorView, qq: int) -> str | None:
    """The status of ``qq``'s live SmartQQ session, or None when it has none."""
    s = emu.service.live(qq)
    return s.status if s is not None else None


def live_sessions(emu: EmulatorView) -> list[dict[str, Any]]:
    """The live SmartQQ sessions (no secrets: QQ, status, profile, queue length, age)."""
    service = emu.service
    now = time.time()
    return [
        {
            "qq": s.qq,
            "status": s.status,
            "profile": s.profile,
            "queued": len(service.queues.get(s.qq, ())),
            "age": round(now - s.created, 1),
            "expired": s.expired,
        }
        for s in list(service.by_qq.values())
        if not s.ended
    ]


def expire_session(emu: EmulatorView, qq: int) -> bool:
    """Expire one account's session: its next poll answers the expiry retcode."""
    s = emu.service.live(qq)
    if s is None:
        return False
    s.expired = True
    s.wake.set()
    return True


async def request_account(emu: EmulatorView, request: web.Request) -> int | None:
    """The QQ number a SmartQQ request acts for, if it can be told (for the journal).

    Read *before* the handler runs, from the request as the service will see it
    (:func:`~smartqq.emulator.incoming.emu_request`, built once): the handler then
    reads the same parsed form and decoded ``r`` without parsing them again.
    """
    service = emu.service
    fields: dict[str, str] = dict(request.query)
    r: Any = None
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        try:
            incoming = await emu_request(request)
        except ConnectionError:
            incoming = None
        if incoming is not None:
            r, fields = read_r(incoming)
    elif "r" in fields:
        r = json_body(fields["r"])
    if not isinstance(r, dict):
        r = {}
    sid = str(r.get("psessionid") or fields.get("psessionid") or "")
    if sid and sid in service.sessions:
        return service.sessions[sid].qq
    vf = str(r.get("vfwebqq") or fields.get("vfwebqq") or "")
    if vf:
        s = service.find_by_vfwebqq(vf)
        if s is not None:
            return s.qq
    qq = service.skeys.get(request.cookies.get("skey", ""))
    if qq is not None:
        return qq
    for name in ("u", "uin"):
        value = fields.get(name, "")
        if value.isdigit() and len(value) < 12:
            return int(value)
    return None


Injected = Callable[[str, int, int, list[Any], int], None]


def watch_injected(emu: EmulatorView, callback: Injected) -> None:
    """Call ``callback(kind, sender, to, content, delivered_to)`` for every message a world
    account sends through ``emu.user(qq)``, ``emu.inject`` or ``/_emu/inject``.

    The service has no listener list for these (only ``on_sent`` for the clients'
    side), so its ``inject`` is wrapped on this one instance, once.
    """
    service = emu.service
    original = service.inject
    if getattr(original, "_webui_watched", False):
        return

    def inject(
        kind: str,
        sender: int | None,
        to: int | None,
        text: str,
        token: str | None,
        content: list[Any] | None = None,
    ) -> int:
        count = original(kind, sender, to, text, token, content)
        qq = service.injected[-1]["from"] if service.injected else sender
        if not isinstance(qq, int):
            return count
        target = to if to is not None else _default_target(emu, kind, qq)
        if target is not None:
            callback(kind, qq, target, content if content is not None else [text], count)
        return count

    inject._webui_watched = True  # type: ignore[attr-defined]
    setattr(service, "inject", inject)  # noqa: B010  (an instance attribute over the method)


def _default_target(emu: EmulatorView, kind: str, qq: int) -> int | None:
    """Where ``inject`` sent a message that named no target (its own defaults)."""
    world = emu.world
    if kind == "group":
        return next((g.code for g in world.groups_of(qq)), None)
    if kind == "discu":
        return next((d.id for d in world.discussions_of(qq)), None)
    if kind == "buddy":
        friends = world.accounts[qq].friends if qq in world.accounts else {}
        return next((f for f in friends if emu.service.live(f) is not None), None)
    return None
