"""The chat API: a person signs in as a world account and chats with the bot.

``POST /_web/api/login`` checks the account's password (and a captcha when the
world marks the account ``needs_captcha``) and returns a page session token;
the page keeps it per browser tab, so several tabs can be several accounts.
``GET /_web/api/me`` lists friends, groups and discussions; ``POST
/_web/api/send`` sends as that account through ``Emulator.user(qq)``; the
WebSocket ``/_web/api/ws`` replays this run's history of every chat the account
can see and then pushes each new message as it happens.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, web

from smartqq.emulator.images import CAPTCHA_ALPHABET, captcha_png
from smartqq.emulator.world import WorldError

from . import bridge
from .http import ApiError, account_of, hub_of, int_field, ok, read_json
from .hub import Hub

__all__ = ["MAX_TEXT", "parse_content", "routes", "websocket"]

MAX_TEXT = 2_000
"""Characters in one message (text plus one per face); longer gets a clear 413."""


def _utf8(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400, "the text is not valid Unicode (it cannot be encoded as UTF-8)"
        ) from None
    return text


def parse_content(data: dict[str, Any]) -> list[str | list[Any]]:
    """``content`` (text and ``["face", n]``) or ``text`` from a send request, checked."""
    raw = data.get("content")
    if raw is None and "text" in data:
        raw = [data["text"]]
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "content must be a non-empty list of text and faces")
    out: list[str | list[Any]] = []
    size = 0
    for el in raw:
        if isinstance(el, str):
            out.append(_utf8(el))
            size += len(el)
        elif (
            isinstance(el, list)
            and len(el) == 2
            and el[0] == "face"
            and isinstance(el[1], int)
            and not isinstance(el[1], bool)
            and 0 <= el[1] <= 255
        ):
            out.append(["face", el[1]])
            size += 1
        else:
            raise ApiError(400, 'content holds only text and ["face", 0..255]')
    if size > MAX_TEXT:
        raise ApiError(413, f"message too long: {size} characters (limit {MAX_TEXT})")
    if not any(isinstance(el, list) or el.strip() for el in out):
        raise ApiError(400, "the message is empty")
    return out


async def login(request: web.Request) -> web.Response:
    hub = hub_of(request)
    data = await read_json(request)
    qq = int_field(data.get("qq"), "the QQ number")
    password = data.get("password")
    if not isinstance(password, str):
        raise ApiError(400, "password must be text")
    account = hub.emu.world.accounts.get(qq)
    if account is None:
        raise ApiError(401, "wrong QQ number or password")
    if account.needs_captcha:
        given = data.get("captcha")
        expected = hub.emu.captcha_code(qq)
        if not isinstance(given, str) or not given.strip():
            raise ApiError(401, "enter the letters in the picture", captcha=True)
        if expected is None or given.strip().upper() != expected.upper():
            bridge.drop_captcha(hub.emu, qq)  # a wrong answer burns it, as ptlogin did
            raise ApiError(401, "wrong captcha letters; try the new picture", captcha=True)
    if password != account.password:
        raise ApiError(401, "wrong QQ number or password", captcha=account.needs_captcha)
    bridge.drop_captcha(hub.emu, qq)
    token = hub.open_page_session(qq)
    hub.log({"type": "page", "qq": qq, "text": "signed in on the web page"})
    return ok({"session": token, "qq": qq, "nick": account.nick})


async def captcha(request: web.Request) -> web.Response:
    hub = hub_of(request)
    qq = int_field(request.query.get("qq"), "qq")
    if qq not in hub.emu.world.accounts:
        raise ApiError(404, "no such account")
    code = "".join(random.choice(CAPTCHA_ALPHABET) for _ in range(4))
    bridge.set_captcha(hub.emu, qq, code)
    return web.Response(
        body=captcha_png(code), content_type="image/png", headers={"Cache-Control": "no-store"}
    )


def status_of(hub: Hub, qq: int) -> str:
    live = bridge.session_status(hub.emu, qq)
    if live is not None:
        return live
    if hub.online_on_page(qq):
        world_status = hub.emu.world.accounts[qq].status
        return world_status if world_status not in ("offline", "hidden") else "online"
    return "offline"


def _member(hub: Hub, qq: int, card: str = "") -> dict[str, Any]:
    acc = hub.emu.world.accounts.get(qq)
    return {"qq": qq, "name": card or (acc.nick if acc else str(qq))}


async def me(request: web.Request) -> web.Response:
    hub = hub_of(request)
    qq = account_of(hub, request)
    world = hub.emu.world
    acc = world.account(qq)
    friends = [
        {
            "qq": f,
            "nick": world.accounts[f].nick,
            "markname": entry.markname,
            "status": status_of(hub, f),
            "category": acc.categories[entry.category]
            if 0 <= entry.category < len(acc.categories)
            else "",
        }
        for f, entry in acc.friends.items()
        if f in world.accounts
    ]
    groups = [
        {
            "code": g.code,
            "name": g.name,
            "members": [_member(hub, m, g.cards.get(m, "")) for m in g.members],
        }
        for g in world.groups_of(qq)
    ]
    discus = [
        {"id": d.id, "name": d.name, "members": [_member(hub, m) for m in d.members]}
        for d in world.discussions_of(qq)
    ]
    return ok(
        {
            "qq": qq,
            "nick": acc.nick,
            "status": status_of(hub, qq),
            "friends": friends,
            "groups": groups,
            "discussions": discus,
        }
    )


async def send(request: web.Request) -> web.Response:
    hub = hub_of(request)
    qq = account_of(hub, request)
    data = await read_json(request)
    kind = data.get("kind")
    to = int_field(data.get("to"), "to")
    content = parse_content(data)
    world = hub.emu.world
    if kind == "buddy":
        if to not in world.account(qq).friends:
            raise ApiError(404, f"{to} is not a friend of {qq}")
    elif kind == "group":
        if to not in world.groups or qq not in world.groups[to].members:
            raise ApiError(404, f"{qq} is not in group {to}")
    elif kind == "discu":
        if to not in world.discussions or qq not in world.discussions[to].members:
            raise ApiError(404, f"{qq} is not in discussion {to}")
    else:
        raise ApiError(400, "kind must be buddy, group or discu")
    try:
        msg = hub.send_as(kind, qq, to, content)
    except (WorldError, ValueError) as exc:
        raise ApiError(400, str(exc)) from None
    return ok({"message": msg, "delivered_to": msg["delivered_to"]})


async def logout(request: web.Request) -> web.Response:
    hub = hub_of(request)
    token = request.headers.get("X-Web-Session", "")
    hub.page_sessions.pop(token, None)
    return ok()


async def websocket(
    request: web.Request, hub: Hub, qq: int | None, hello: Callable[[], dict[str, Any]]
) -> web.WebSocketResponse:
    """Send ``hello()`` then everything the subscription receives, until either side leaves.

    ``hello()`` runs right after subscribing, with no await between, so the backlog
    it returns and the live items that follow neither overlap nor leave a gap.
    """
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=4096)
    await ws.prepare(request)
    sub = hub.subscribe(qq)
    first = hello()
    hub.sockets.add(ws)

    async def pump() -> None:
        await ws.send_json(first)
        while not ws.closed:
            item = await sub.queue.get()
            if sub.overflowed:
                await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")
                return
            await ws.send_json(item)

    sender = asyncio.ensure_future(pump())
    try:
        async for _ in ws:  # the page sends nothing we need; this waits for the close
            pass
    except ConnectionError:
        pass
    finally:
        sender.cancel()
        hub.unsubscribe(sub)
        hub.sockets.discard(ws)
        await ws.close()
    return ws


async def chat_ws(request: web.Request) -> web.StreamResponse:
    hub = hub_of(request)
    qq = account_of(hub, request)
    return await websocket(
        request, hub, qq, lambda: {"type": "hello", "qq": qq, "history": hub.history_of(qq)}
    )


def routes() -> list[web.RouteDef]:
    return [
        web.post("/_web/api/login", login),
        web.post("/_web/api/logout", logout),
        web.get("/_web/api/captcha", captcha),
        web.get("/_web/api/me", me),
        web.post("/_web/api/send", send),
        web.get("/_web/api/ws", chat_ws),
    ]
