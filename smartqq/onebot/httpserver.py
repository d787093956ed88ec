"""The listening side: forward WebSocket (``/``, ``/api``, ``/event``) and HTTP API (``/:action``).

Design note: one aiohttp application per listening address; when ``--ws`` and
``--http`` name the same address, that one application serves both (a
WebSocket upgrade on ``/``, ``/api`` or ``/event`` is a WebSocket, anything
else an action). Authentication comes first: the token from ``Authorization:
Bearer|Token …`` or ``?access_token=``; missing is 401, wrong is 403 (for a
WebSocket, before the upgrade). Then 406 for a POST body that is neither JSON
nor a form, 400 for a body that does not parse to an object, 404 for an
unknown action, and 200 with the OneBot envelope for everything else. No
request can produce a 500: the actions layer catches its own failures.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .ws import MAX_FRAME, WsConnection, dumps

if TYPE_CHECKING:
    from .hub import Hub

__all__ = ["build_app"]

log = logging.getLogger("smartqq.onebot")

_WS_PATHS = {"": "universal", "api": "api", "event": "event"}


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=dumps(body), content_type="application/json")


def _denied(status: int, message: str) -> web.Response:
    retcode = {401: 1401, 403: 1403, 400: 1400, 404: 1404, 406: 1406}.get(status, status)
    return _json(
        status,
        {"status": "failed", "retcode": retcode, "data": None, "message": message},
    )


def check_token(request: web.Request, token: str | None) -> web.Response | None:
    if not token:
        return None
    given: str | None = None
    auth = request.headers.get("Authorization", "").strip()
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("bearer", "token") and value.strip():
            given = value.strip()
    if given is None:
        given = request.query.get("access_token")
    if not given:
        return _denied(401, "an access token is required")
    if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        return _denied(403, "the access token is wrong")
    return None


def build_app(server: Hub, *, ws: bool, http: bool) -> web.Application:
    app = web.Application(client_max_size=MAX_FRAME)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        denied = check_token(request, server.config.access_token)
        if denied is not None:
            return denied
        name = request.match_info.get("name", "").strip("/")
        is_upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if ws and name in _WS_PATHS and (is_upgrade or not http):
            return await _serve_ws(server, request, _WS_PATHS[name])
        if http and name and "/" not in name:
            return await _serve_action(server, request, name)
        return _denied(404, "not found")

    app.router.add_route("GET", "/{name:.*}", dispatch)
    app.router.add_route("POST", "/{name:.*}", dispatch)
    return app


async def _serve_ws(server: Hub, request: web.Request, role: str) -> web.StreamResponse:
    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME, heartbeat=None)
    if not ws.can_prepare(request).ok:
        return _denied(400, "a WebSocket upgrade is expected here")
    await ws.prepare(request)
    conn = WsConnection(
        server,
        ws,
        api=role in ("universal", "api"),
        events=role in ("universal", "event"),
        name=f"ws {request.remote} /{'' if role == 'universal' else role}",
    )
    server.track(conn)
    try:
        await conn.run()
    finally:
        server.untrack(conn)
    return ws


async def _params(request: web.Request) -> dict[str, Any] | web.Response:
    params: dict[str, Any] = {k: v for k, v in request.query.items() if k != "access_token"}
    if request.method != "POST":
        return params
    body = await request.read()
    ctype = request.content_type  # "application/octet-stream" when the header is absent
    if not body.strip() and ctype in ("application/octet-stream", "application/json"):
        return params
    if ctype == "application/json":
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return _denied(400, "the body is not valid JSON")
        if not isinstance(data, dict):
            return _denied(400, "the body must be a JSON object")
        params.update(data)
        return params
    if ctype == "application/x-www-form-urlencoded":
        try:
            form = await request.post()
        except ValueError:
            return _denied(400, "the form cannot be read")
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params
    return _denied(406, f"unsupported content type {ctype!r}")


async def _serve_action(server: Hub, request: web.Request, action: str) -> web.Response:
    if not server.actions.known(action):
        return _denied(404, f"no action {action[:80]!r}")
    params = await _params(request)
    if isinstance(params, web.Response):
        return params
    answer = await server.actions.call(action, params)
    if answer is None:  # known() said yes; kept for the type checker
        return _denied(404, f"no action {action[:80]!r}")
    return _json(200, answer)
