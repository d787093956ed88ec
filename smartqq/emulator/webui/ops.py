"""The phone and the operator: confirm QR logins, watch the journal, steer the faults.

The phone lists QR codes that login pages are showing and confirms one as an
account after its password (or as the account this tab is signed in as), the
way a person scanned it with the QQ app. The operator reads the journal live
over ``/_web/api/operator/ws`` and the emulator's state from
``/_web/api/operator/state``, and adds or clears fault rules, restarts the
emulator, expires a session or kicks an account.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from smartqq.emulator.faults import Fault

from . import bridge
from .chat import websocket
from .http import HUB, ApiError, account_of, check_access, hub_of, int_field, ok, read_json
from .hub import Hub

__all__ = ["routes"]


def _accounts(hub: Hub) -> list[dict[str, Any]]:
    return [{"qq": a.qq, "nick": a.nick} for a in hub.emu.world.accounts.values()]


async def qr_list(request: web.Request) -> web.Response:
    hub = hub_of(request)
    pending = [
        {
            "id": p.id,
            "age": round(p.age, 1),
            "expires_in": round(p.expires_in, 1),
            "scanned": p.scanned,
            "image": f"/_web/api/qr/{p.id}.png",
        }
        for p in bridge.pending_qr(hub.emu)
    ]
    return ok({"pending": pending, "accounts": _accounts(hub)})


async def qr_png(request: web.Request) -> web.Response:
    hub = hub_of(request)
    png = bridge.qr_image(hub.emu, request.match_info["id"])
    if png is None:
        raise ApiError(404, "no such pending QR code (confirmed or expired)")
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})


def _checked_account(hub: Hub, data: dict[str, Any]) -> int:
    qq = int_field(data.get("qq"), "the QQ number")
    account = hub.emu.world.accounts.get(qq)
    if account is None or data.get("password") != account.password:
        raise ApiError(401, "wrong QQ number or password")
    return qq


async def qr_confirm(request: web.Request) -> web.Response:
    hub = hub_of(request)
    data = await read_json(request)
    if data.get("qq") in (None, "") and request.headers.get("X-Web-Session"):
        qq = account_of(hub, request)  # the account this tab is signed in as
    else:
        qq = _checked_account(hub, data)
    qid = request.match_info["id"]
    if not bridge.confirm_qr_ticket(hub.emu, qid, qq):
        raise ApiError(404, "no such pending QR code (confirmed or expired)")
    hub.log({"type": "phone", "qq": qq, "text": f"confirmed QR code {qid}"})
    return ok({"confirmed": qid, "qq": qq})


def _summary(hub: Hub) -> dict[str, Any]:
    stats = hub.emu.stats()
    return {
        "sessions": stats.get("sessions"),
        "polls": stats.get("polls"),
        "waiters": stats.get("waiters"),
        "online_at": stats.get("online_at"),
        "injected": len(stats.get("injected", ())),
        "delivered": len(stats.get("delivered", ())),
        "replies": len(stats.get("replies", ())),
        "hosts": stats.get("hosts", {}),
        "page_messages": len(hub.history),
        "page_watchers": len(hub.chat_subs),
    }


async def state(request: web.Request) -> web.Response:
    hub = hub_of(request)
    world = hub.emu.world
    sessions = bridge.live_sessions(hub.emu)
    for s in sessions:
        acc = world.accounts.get(s["qq"])
        s["nick"] = acc.nick if acc else ""
    rules = [
        {
            "endpoint": r.endpoint,
            "action": r.action,
            "value": r.value,
            "mode": r.mode,
            "n": r.n,
            "p": r.p,
            "hits": r.hits,
            "fired": r.fired,
            "spent": r.spent,
        }
        for r in hub.emu.faults.rules
    ]
    return ok(
        {
            "stats": _summary(hub),
            "sessions": sessions,
            "faults": rules,
            "accounts": _accounts(hub),
            "qr_pending": len(bridge.pending_qr(hub.emu)),
            "url": hub.emu.url,
        }
    )


async def fault(request: web.Request) -> web.Response:
    hub = hub_of(request)
    data = await read_json(request)
    if data.get("clear"):
        hub.emu.faults.clear()
        hub.log({"type": "operator", "text": "cleared every fault rule"})
        return ok({"rules": 0})
    if not isinstance(data.get("endpoint", "*"), str) or not data.get("endpoint", "*"):
        raise ApiError(400, "endpoint must be a path segment such as poll2, or *")
    try:
        rule = Fault.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise ApiError(400, f"bad fault rule: {exc}") from None
    if rule.mode == "every" and rule.n < 1:
        raise ApiError(400, "every needs n >= 1")
    hub.emu.faults.rules.append(rule)
    hub.log({"type": "operator", "text": f"fault rule: {rule.endpoint} {rule.action} {rule.mode}"})
    return ok({"rules": len(hub.emu.faults.rules)})


async def restart(request: web.Request) -> web.Response:
    hub = hub_of(request)
    data = await read_json(request)
    keep = data.get("keep_logins", True)
    if not isinstance(keep, bool):
        raise ApiError(400, "keep_logins must be true or false")
    hub.log({"type": "operator", "text": f"restart (keep_logins={keep})"})
    # The restart closes this very server: run it after this answer is written.
    hub.spawn(hub.emu.restart(keep_logins=keep))
    return ok({"restarting": True}, status=202)


async def expire(request: web.Request) -> web.Response:
    hub = hub_of(request)
    data = await read_json(request)
    if data.get("qq") in (None, ""):
        hub.emu.expire_sessions()
        hub.log({"type": "operator", "text": "expired every session"})
        return ok({"expired": "all"})
    qq = int_field(data.get("qq"), "qq")
    if not bridge.expire_session(hub.emu, qq):
        raise ApiError(404, f"{qq} has no live session")
    hub.log({"type": "operator", "qq": qq, "text": "expired the session"})
    return ok({"expired": qq})


async def kick(request: web.Request) -> web.Response:
    hub = hub_of(request)
    data = await read_json(request)
    qq = int_field(data.get("qq"), "qq")
    if not hub.emu.kick(qq):
        raise ApiError(404, f"{qq} has no live session")
    hub.log({"type": "operator", "qq": qq, "text": "kicked"})
    return ok({"kicked": qq})


async def journal_ws(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    check_access(hub.emu, request)
    return await websocket(
        request, hub, None, lambda: {"type": "journal", "entries": list(hub.journal)[-300:]}
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/_web/api/qr", qr_list),
        web.get("/_web/api/qr/{id:[0-9a-f]{16}}.png", qr_png),
        web.post("/_web/api/qr/{id}/confirm", qr_confirm),
        web.get("/_web/api/operator/state", state),
        web.post("/_web/api/operator/fault", fault),
        web.post("/_web/api/operator/restart", restart),
        web.post("/_web/api/operator/expire", expire),
        web.post("/_web/api/operator/kick", kick),
        web.get("/_web/api/operator/ws", journal_ws),
    ]
