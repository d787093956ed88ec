"""HTTP plumbing of the web page: the access rule, request reading, errors, the journal.

Access rule (the control API's): the page and its API exist only when the
emulator binds a loopback address or has a ``control_token``; with a token,
every API call must carry it (``Authorization: Bearer …``, or ``?token=`` on
the WebSocket URL and on the page URL, from which the page script takes it).

Requests of the page never pass through the emulator's own middleware, so a
fault rule for ``*`` breaks the SmartQQ endpoints, never the page that steers
them. The same middleware journals every other request: account, endpoint,
status, retcode, events delivered, and whether a fault rule answered it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from . import bridge
from .hub import Hub

if TYPE_CHECKING:
    from .facade import EmulatorView

__all__ = [
    "HUB",
    "MAX_BODY",
    "ApiError",
    "account_of",
    "check_access",
    "enabled",
    "hub_of",
    "int_field",
    "is_page_path",
    "middleware",
    "ok",
    "read_json",
]

MAX_BODY = 64 * 1024
"""Largest API request body (a message is capped well below it, see chat.MAX_TEXT)."""
PAGES = ("/", "/phone", "/operator")
_PTUI = re.compile(rb"^\s*ptui(?:CB|_checkVC)\('(\d+)'")
_RETCODE = re.compile(rb'"(?:retcode|errCode)":\s*(-?\d+)')
_POLL_TYPE = re.compile(rb'"poll_type":"([a-z_]+)"')
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


HUB = web.AppKey("webui_hub", Hub)


class ApiError(Exception):
    """A clear 4xx answer: ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def ok(obj: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps({"ok": True, **(obj or {})}, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


def error(status: int, message: str, **extra: Any) -> web.Response:
    return web.Response(
        text=json.dumps({"ok": False, "error": message, **extra}, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def enabled(emu: EmulatorView) -> bool:
    if emu.config.control_token:
        return True
    try:
        return ipaddress.ip_address(emu.host).is_loopback
    except ValueError:
        return emu.host == "localhost"


def is_page_path(path: str) -> bool:
    return path in PAGES or path.startswith("/_web/")


def check_access(emu: EmulatorView, request: web.Request) -> None:
    """Raise ApiError unless the request may use the API (token, same origin)."""
    token = emu.config.control_token
    if token:
        given = request.headers.get("Authorization", "")
        given = given[7:] if given.startswith("Bearer ") else request.query.get("token", "")
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, "this emulator needs its control token")
    origin = request.headers.get("Origin")
    # A page on another site must not steer the emulator (browsers send Origin on
    # cross-site POSTs and WebSockets; same-site GETs may omit it).
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise ApiError(403, "cross-origin requests are refused")


def hub_of(request: web.Request) -> Hub:
    """The hub of the app serving ``request``, once the access rule lets it through."""
    hub = request.app[HUB]
    check_access(hub.emu, request)
    return hub


def account_of(hub: Hub, request: web.Request) -> int:
    """The world account this page session (header or ``?session=``) is signed in as."""
    token = request.headers.get("X-Web-Session") or request.query.get("session")
    qq = hub.page_account(token)
    if qq is None:
        raise ApiError(401, "sign in first (the page session is unknown or ended)")
    return qq


def int_field(value: Any, what: str) -> int:
    """A QQ / group / discussion number from JSON (a number or digits), or a 400."""
    if isinstance(value, bool):
        raise ApiError(400, f"{what} must be a number")
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
        return int(value)
    if isinstance(value, int) and 0 <= value < 10**12:
        return value
    raise ApiError(400, f"{what} must be a number")


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or a clear ApiError (never a 500)."""
    if request.content_type != "application/json":
        raise ApiError(415, "send JSON with Content-Type: application/json")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, f"request too large (limit {MAX_BODY} bytes)")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, f"request too large (limit {MAX_BODY} bytes)") from None
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"request too large (limit {MAX_BODY} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the request is not valid UTF-8") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ApiError(400, "the request is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request must be a JSON object")
    return data


def _outcome(resp: web.StreamResponse) -> dict[str, Any]:
    """Retcode and delivered events of a SmartQQ answer (bodies the emulator wrote).

    Regular expressions, not a JSON parse: this runs for every request, and the
    emulator's answers are small JSON objects with ``retcode`` (or ``errCode``) near
    the start.
    A quote inside message text is escaped, so it never looks like a key.
    """
    out: dict[str, Any] = {"status": resp.status}
    body = resp.body if isinstance(resp, web.Response) else None
    if not isinstance(body, bytes):
        return out
    m = _PTUI.match(body) or (_RETCODE.search(body, 0, 200) if body[:1] == b"{" else None)
    if m:
        out["retcode"] = int(m.group(1))
    if b'"poll_type"' in body:
        out["events"] = [t.decode() for t in _POLL_TYPE.findall(body)]
    return out


def middleware(emu: EmulatorView, hub: Hub) -> Any:
    @web.middleware
    async def webui_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_page_path(request.path):
            return await _serve_page(emu, request)
        start = time.monotonic()
        entry: dict[str, Any] = {
            "type": "http",
            "method": request.method,
            "endpoint": request.path.rsplit("/", 1)[-1] or request.path,
            "host": request.headers.get("Host", "").split(":")[0],
            "qq": await bridge.request_account(emu, request),
        }
        fired = sum(rule.fired for rule in emu.faults.rules)
        try:
            resp = await handler(request)
        except asyncio.CancelledError:
            entry["status"] = None
            entry["note"] = "connection closed"
            raise
        except web.HTTPException as exc:
            entry["status"] = exc.status
            raise
        else:
            entry.update(_outcome(resp))
        finally:
            entry["fault"] = sum(rule.fired for rule in emu.faults.rules) > fired
            entry["ms"] = round((time.monotonic() - start) * 1000, 1)
            hub.log(entry)
        return resp

    return webui_middleware


async def _serve_page(emu: EmulatorView, request: web.Request) -> web.StreamResponse:
    # Straight to the route's handler: the emulator's fault rules do not apply here.
    try:
        return await request.match_info.handler(request)
    except ApiError as exc:
        return error(exc.status, exc.message, **exc.extra)
    except web.HTTPNotFound:
        return error(404, "no such page or API call")
    except web.HTTPMethodNotAllowed:
        return error(405, "method not allowed")
