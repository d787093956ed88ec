"""The default transport on loopback: what it sends, and how it keeps, reuses and drops
connections (a real aiohttp.web server that reports what it saw)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ssl
import threading
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from smartqq.errors import NetworkError, RequestTimeout
from smartqq.protocol.http import HttpRequest
from smartqq.transport import AsyncioTransport
from smartqq.transport import _asyncio as module


class Server:
    """Answers with what it received; counts the connections it was asked on."""

    def __init__(self) -> None:
        self.url = ""
        self.peers: set[object] = set()
        self.hold = asyncio.Event()
        self.cancelled = 0
        self._runner: web.AppRunner | None = None

    async def echo(self, request: web.Request) -> web.Response:
        self.peers.add(request.transport)
        body = await request.read()
        return web.json_response(
            {
                "method": request.method,
                "path": request.path_qs,
                "host": request.headers.get("Host"),
                "type": request.headers.get("Content-Type"),
                "body": body.decode(),
            },
            headers={"Set-Cookie": "a=1", "X-Seen": "yes"},
        )

    async def held(self, request: web.Request) -> web.Response:
        self.peers.add(request.transport)
        try:
            await self.hold.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return web.Response(text="late")

    async def closing(self, request: web.Request) -> web.Response:
        self.peers.add(request.transport)
        return web.Response(text="bye", headers={"Connection": "close"})

    async def __aenter__(self) -> Server:
        app = web.Application()
        app.router.add_route("*", "/echo", self.echo)
        app.router.add_get("/held", self.held)
        app.router.add_get("/closing", self.closing)
        self._runner = web.AppRunner(
            app, handle_signals=False, shutdown_timeout=0.2, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.hold.set()
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with Server() as running:
        yield running


@pytest.fixture
async def transport(server: Server) -> AsyncIterator[AsyncioTransport]:
    made = AsyncioTransport(server.url)
    yield made
    await made.aclose()


def request(path: str, method: str = "GET", **kw: object) -> HttpRequest:
    return HttpRequest(method, f"https://d1.web2.qq.com{path}", endpoint=path, **kw)  # type: ignore[arg-type]


async def test_the_request_keeps_its_real_host_target_form_and_answer_headers(
    server: Server, transport: AsyncioTransport
) -> None:
    sent = request("/echo", "POST", query=(("t", "a b"),), form=(("r", '{"k":1}'),))
    response = await transport.send(sent)
    assert response.status == 200
    seen = __import__("json").loads(response.body)
    assert seen == {
        "method": "POST",
        "path": "/echo?t=a+b",
        "host": "d1.web2.qq.com",
        "type": "application/x-www-form-urlencoded",
        "body": "r=%7B%22k%22%3A1%7D",
    }
    assert response.header("X-Seen") == "yes"
    assert response.header_all("Set-Cookie") == ["a=1"]
    assert response.header("Content-Length") is None  # framing, not a header of the body
    assert response.url == sent.url


async def test_one_connection_carries_request_after_request(
    server: Server, transport: AsyncioTransport
) -> None:
    for _ in range(5):
        assert (await transport.send(request("/echo"))).status == 200
    assert len(server.peers) == 1


async def test_concurrent_requests_get_their_own_connections_then_share_the_pool(
    server: Server, transport: AsyncioTransport
) -> None:
    held = asyncio.create_task(transport.send(request("/held")))
    await asyncio.sleep(0.05)
    assert (await transport.send(request("/echo"))).status == 200  # beside the held one
    assert len(server.peers) == 2
    server.hold.set()
    assert (await held).body == b"late"
    for _ in range(3):
        await transport.send(request("/echo"))
    assert len(server.peers) == 2


async def test_a_connection_the_server_closes_is_not_reused(
    server: Server, transport: AsyncioTransport
) -> None:
    assert (await transport.send(request("/closing"))).body == b"bye"
    assert (await transport.send(request("/echo"))).status == 200
    assert len(server.peers) == 2


async def test_an_idle_connection_past_keepalive_is_replaced(
    server: Server, transport: AsyncioTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    await transport.send(request("/echo"))
    monkeypatch.setattr(module, "KEEPALIVE", 0.0)
    await asyncio.sleep(0.01)
    await transport.send(request("/echo"))
    assert len(server.peers) == 2


async def test_a_timeout_and_a_cancel_drop_the_connection_and_the_next_request_works(
    server: Server, transport: AsyncioTransport
) -> None:
    with pytest.raises(RequestTimeout):
        await transport.send(request("/held"), timeout=0.1)
    task = asyncio.create_task(transport.send(request("/held")))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await transport.send(request("/echo"))).status == 200
    assert len(server.peers) == 3  # neither dropped connection came back
    await asyncio.sleep(0.05)
    assert server.cancelled == 2  # the server saw both go


async def test_aclose_ends_requests_in_flight_and_refuses_new_ones(
    server: Server, transport: AsyncioTransport
) -> None:
    held = asyncio.create_task(transport.send(request("/held")))
    await asyncio.sleep(0.05)
    await transport.aclose()
    with pytest.raises(NetworkError):
        await held
    with pytest.raises(NetworkError, match="closed"):
        await transport.send(request("/echo"))


async def test_nothing_listening_is_a_connect_error() -> None:
    from smartqq.errors import ConnectError

    closed = AsyncioTransport("http://127.0.0.1:9")
    with pytest.raises(ConnectError, match="cannot connect for /echo"):
        await closed.send(request("/echo"))
    await closed.aclose()


# -- https: tls/localhost.crt is a self-signed certificate for 127.0.0.1 and localhost,
# made for these tests (openssl req -x509 -days 36500), with its key beside it.

TLS = Path(__file__).with_name("tls")


@pytest.fixture
async def tls_server() -> AsyncIterator[str]:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=f"{request.scheme} {request.headers.get('Host')}")

    app = web.Application()
    app.router.add_get("/hello", hello)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "localhost.crt", TLS / "localhost.key")
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_https_to_a_server_its_context_trusts(tls_server: str) -> None:
    trusting = ssl.create_default_context(cafile=str(TLS / "localhost.crt"))
    transport = AsyncioTransport(tls_server, ssl_context=trusting)
    try:
        for _ in range(2):  # the second on the kept-alive TLS connection
            response = await transport.send(request("/hello"))
            assert response.body == b"https d1.web2.qq.com"
    finally:
        await transport.aclose()


async def test_https_to_a_server_nobody_vouches_for_is_refused(tls_server: str) -> None:
    transport = AsyncioTransport(tls_server)  # the system's CAs: a self-signed cert fails
    try:
        with pytest.raises(NetworkError, match="TLS failed") as info:
            await transport.send(request("/hello"))
    finally:
        await transport.aclose()
    assert info.value.__cause__ is None


def test_a_transport_outlives_its_event_loop() -> None:
    """``asyncio.run`` twice with one transport (a script calling ``asyncio.run`` again
    without closing it): the connection kept from the first loop is not used in the
    second, and closing after the first loop is gone does not fail."""
    ready = threading.Event()
    stop: list[asyncio.AbstractEventLoop] = []
    url: list[str] = []

    def serve() -> None:
        async def main() -> None:
            async def hello(request: web.Request) -> web.Response:
                return web.Response(text="hi")

            app = web.Application()
            app.router.add_get("/hello", hello)
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            url.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
            stop.append(asyncio.get_running_loop())
            ready.set()
            try:
                await asyncio.Event().wait()
            finally:
                await runner.cleanup()

        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        transport = AsyncioTransport(url[0])
        assert asyncio.run(transport.send(request("/hello"))).body == b"hi"

        async def again() -> bytes:
            try:
                return (await transport.send(request("/hello"))).body
            finally:
                await transport.aclose()

        # The first loop's idle connection can only be released by the collector
        # (closing a socket goes through the loop that owns it, and that loop is
        # closed), with a ResourceWarning, expected here. Close a transport (or its
        # client) before its loop ends.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            assert asyncio.run(again()) == b"hi"
            gc.collect()
        assert not transport._open
    finally:
        loop = stop[0]
        loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(loop)])
        thread.join(10)
