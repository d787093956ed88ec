"""The emulator's scripting surface: Python methods and the ``/_emu/`` control API.

:class:`ControlMixin` gives :class:`~smartqq.emulator.Emulator` its test-facing methods
(``inject``, ``confirm_qr``, ``kick``, ``stats`` ...) and the aiohttp routes that expose
them over HTTP. Every route validates its JSON and answers 400 for anything it cannot use
(a string QQ number, ``1e999``, NaN): nothing a caller sends becomes a 500. When a
``control_token`` is configured, every route wants ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .faults import Fault, FaultSet
from .http import int_param, json_response
from .service import SmartQQService
from .state import Config
from .world import World, WorldError

__all__ = ["ControlMixin"]

_KINDS = ("buddy", "group", "discuss", "discu", "sess")


def _json(obj: Any, status: int = 200) -> web.Response:
    answer = json_response(obj, status)
    return web.Response(
        body=answer.body, status=status, content_type="application/json", charset="utf-8"
    )


def _bad(message: str) -> web.Response:
    return web.Response(status=400, text=message)


def _optional_int(data: dict[str, Any], key: str) -> int | None:
    """``data[key]`` as an integer, None when absent; ValueError when unusable."""
    raw = data.get(key)
    if raw is None:
        return None
    value = int_param(raw)
    if value is None or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError(f"{key} must be an integer")
    return value


class ControlMixin:
    world: World
    config: Config
    faults: FaultSet
    service: SmartQQService

    # -- Python API --------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        sender: int | None = None,
        to: int | None = None,
        text: str = "",
        token: str | None = None,
        content: list[Any] | None = None,
    ) -> int:
        """Queue one message from a world account; returns how many sessions got it."""
        return self.service.inject(kind, sender, to, text, token, content)

    def confirm_qr(self, qq: int | None = None) -> int:
        """Confirm every pending QR code as ``qq`` (default: the configured QR account)."""
        target = qq or self.config.qr_account or next(iter(self.world.accounts))
        self.world.account(target)  # WorldError for an account that does not exist
        count = 0
        for ticket in self.service.qr.values():
            if not ticket.done and ticket.confirmed_qq is None:
                ticket.confirmed_qq = target
                count += 1
        return count

    def captcha_code(self, qq: int) -> str | None:
        return self.service.captchas.get(qq)

    def expire_sessions(self) -> None:
        for s in self.service.by_qq.values():
            s.expired = True
            s.wake.set()

    def kick(self, qq: int) -> bool:
        s = self.service.live(qq)
        if s is None:
            return False
        self.service.kick(s)
        return True

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every message clients sent, oldest first (``kind``, ``from``, ``to``, ``text``, ``t`` …)."""
        return self.service.sent

    def on_sent(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``callback(record)`` for each message a client sends; returns an unsubscriber."""
        self.service.sent_listeners.append(callback)
        return lambda: self.service.sent_listeners.remove(callback)

    @property
    def hosts(self) -> dict[str, int]:
        return self.service.hosts

    def stats(self) -> dict[str, Any]:
        service = self.service
        journal = service.journal
        return {
            "online_at": journal.online_at,
            "waiters": journal.waiters,
            "polls": journal.polls,
            "sessions": len(service.by_qq),
            "injected": list(service.injected),
            "delivered": [{"token": d.token, "qq": d.qq, "t": d.t} for d in service.delivered],
            "replies": list(service.replies),
            "hosts": dict(service.hosts),
            "poisoned": journal.poisoned,
        }

    # -- HTTP --------------------------------------------------------------------------

    def control_routes(self) -> list[web.RouteDef]:
        return [
            web.post("/_emu/inject", self._guarded(self._inject)),
            web.get("/_emu/stats", self._guarded(self._stats)),
            web.post("/_emu/fault", self._guarded(self._fault)),
            web.post("/_emu/qr/confirm", self._guarded(self._qr_confirm)),
            web.get("/_emu/captcha/{qq}", self._guarded(self._captcha)),
        ]

    def _guarded(self, handler: Callable[[web.Request], Any]) -> Callable[[web.Request], Any]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            token = self.config.control_token
            if token and request.headers.get("Authorization") != f"Bearer {token}":
                return _json({"error": "unauthorized"}, status=401)
            try:
                response: web.StreamResponse = await handler(request)
            except (WorldError, ValueError, TypeError, OverflowError) as exc:
                return _bad(str(exc)[:200] or type(exc).__name__)
            return response

        return guarded

    @staticmethod
    async def _body(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
        raw = await request.read()
        if optional and not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise ValueError("body must be JSON") from None
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data

    async def _inject(self, request: web.Request) -> web.Response:
        """Queue a message; ``"repeat": N`` queues N copies (tokens get ``-i`` suffixes)."""
        data = await self._body(request)
        kind = data.get("kind")
        if kind not in _KINDS:
            return _bad("kind must be buddy, group, discuss or sess")
        sender, to = _optional_int(data, "from"), _optional_int(data, "to")
        repeat = _optional_int(data, "repeat") or 1
        if not 1 <= repeat <= 100_000:
            return _bad("repeat must be 1..100000")
        token = data.get("token")
        text = data.get("text", "")
        if not isinstance(text, str):
            return _bad("text must be a string")
        count = 0
        for i in range(repeat):
            count += self.inject(
                "discu" if kind == "discuss" else kind,
                sender,
                to,
                text,
                None if token is None else (str(token) if repeat == 1 else f"{token}-{i}"),
            )
        return _json({"ok": True, "delivered_to": count})

    async def _stats(self, request: web.Request) -> web.Response:
        return _json(self.stats())

    async def _fault(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        if data.get("clear"):
            self.faults.clear()
            return _json({"ok": True, "rules": 0})
        self.faults.rules.append(Fault.from_dict(data))
        return _json({"ok": True, "rules": len(self.faults.rules)})

    async def _qr_confirm(self, request: web.Request) -> web.Response:
        data = await self._body(request, optional=True)
        qq = _optional_int(data, "qq")
        return _json({"ok": True, "confirmed": self.confirm_qr(qq)})

    async def _captcha(self, request: web.Request) -> web.Response:
        qq = int_param(request.match_info["qq"])
        if qq is None:
            return _bad("qq must be a number")
        return _json({"qq": qq, "code": self.captcha_code(qq)})
