"""Transports on one event loop share one aiohttp session, and nothing of a client leaks.

A real aiohttp server on loopback answers with the Cookie header it received, so
the test sees that each client's cookies (kept in its own jar, sent as headers)
stay its own although the connection pool is shared.
"""

from __future__ import annotations

from aiohttp import web

from smartqq.protocol.http import HttpRequest
from smartqq.transport import AiohttpTransport


async def _server() -> tuple[web.AppRunner, str]:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=request.headers.get("Cookie", ""))

    app = web.Application()
    app.router.add_get("/echo", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def _request(cookie: str) -> HttpRequest:
    return HttpRequest(
        "GET", "https://s.web2.qq.com/echo", headers=(("Cookie", cookie),), endpoint="echo"
    )


async def test_one_session_per_loop_closed_by_the_last_user() -> None:
    runner, base = await _server()
    a, b = AiohttpTransport(base), AiohttpTransport(base)
    own = AiohttpTransport(base, share_session=False)
    try:
        first = await a.send(_request("who=a"))
        second = await b.send(_request("who=b"))
        assert (first.body, second.body) == (b"who=a", b"who=b")
        shared = a._client()
        assert b._client() is shared
        assert own._client() is not shared
        await a.aclose()
        assert not shared.closed  # b still holds it
        assert (await b.send(_request("who=b2"))).body == b"who=b2"
        await b.aclose()
        assert shared.closed
        # A transport made afterwards starts a fresh shared session.
        c = AiohttpTransport(base)
        assert (await c.send(_request("who=c"))).body == b"who=c"
        assert c._client() is not shared
        await c.aclose()
    finally:
        await a.aclose()
        await b.aclose()
        await own.aclose()
        await runner.cleanup()
