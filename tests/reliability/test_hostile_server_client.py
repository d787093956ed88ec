"""The client against a hostile server on 127.0.0.1 (issue 13 items 1-4 and 6, client side).

The server serves gzip bombs, endless chunked bodies, 100k-deep JSON, Infinity in a
font, bodies that stop half-way and answers that never come. Everything is bounded:
bodies are capped by what the client reads, the endless stream stops when the
client hangs up (or after a fixed amount), and each test closes its server.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import traceback
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from smartqq import BuddyMessage, Client, Disconnected, Reconnected, UnknownEvent
from smartqq.client.session_store import save_session
from smartqq.errors import (
    ConnectError,
    NetworkError,
    ProtocolError,
    RequestTimeout,
    ResponseTooLarge,
    SmartQQError,
    TransportError,
)
from smartqq.events import Event
from smartqq.protocol import endpoints
from smartqq.protocol.http import HttpRequest
from smartqq.protocol.profiles import SMARTQQ
from smartqq.protocol.redact import register_secret, retire_secret
from smartqq.protocol.session import SessionState
from smartqq.testing import until
from smartqq.transport import AiohttpTransport, AsyncioTransport, Transport

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MB = 1 << 20
BOMB = gzip.compress(b"\0" * (64 * MB), compresslevel=9)  # ~64 KB on the wire
ENDLESS_LIMIT = 256 * MB  # the server gives up by itself after this much


def message(msg_id: int, text: str, font: object = None) -> dict[str, object]:
    return {
        "poll_type": "message",
        "value": {
            "msg_id": msg_id,
            "from_uin": 2001,
            "to_uin": 1000,
            "time": 1_500_000_000 + msg_id,
            "content": [["font", font if font is not None else {"size": 10}], text],
        },
    }


def answer(*events: dict[str, object]) -> bytes:
    return json.dumps({"retcode": 0, "result": list(reversed(events))}).encode()


async def gzip_bomb(request: web.Request) -> web.StreamResponse:
    return web.Response(body=BOMB, headers={"Content-Encoding": "gzip"})


async def deflate_bomb(request: web.Request) -> web.StreamResponse:
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = raw.compress(b"\0" * (64 * MB)) + raw.flush()
    return web.Response(body=body, headers={"Content-Encoding": "deflate"})


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = b'{"retcode":0,"result":[' + b" " * (64 * 1024)
    sent = 0
    try:
        while sent < ENDLESS_LIMIT:
            await response.write(chunk)
            sent += len(chunk)
    except (ConnectionResetError, ConnectionError):
        pass
    return response


async def deep_json(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"[" * 100_000 + b"]" * 100_000)


async def half_body(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": "100000"})
    await response.prepare(request)
    await response.write(b'{"retcode":0,')
    assert request.transport is not None
    request.transport.close()
    return response


async def never(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(30)
    return web.Response(body=b"{}")


class Hostile:
    """poll2 answers from a queue of handlers; everything else answers ``retcode 0``."""

    def __init__(self) -> None:
        self.polls: asyncio.Queue[Handler] = asyncio.Queue()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def poll2(self, request: web.Request) -> web.StreamResponse:
        handler = await self.polls.get()
        return await handler(request)

    async def __aenter__(self) -> Hostile:
        app = web.Application()
        app.router.add_post("/channel/poll2", self.poll2)
        app.router.add_route("*", "/{tail:.*}", self.ok)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def ok(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"retcode": 0, "result": []})

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def then(self, body: bytes) -> None:
        async def reply(request: web.Request) -> web.StreamResponse:
            return web.Response(body=body)

        self.polls.put_nowait(reply)


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    async with Hostile() as server:
        yield server


def poll_request(max_bytes: int | None = 4 * MB) -> HttpRequest:
    state = SessionState(SMARTQQ, psessionid="p" * 20)
    request = endpoints.poll2(state)
    return HttpRequest(
        request.method,
        request.url,
        request.query,
        request.form,
        request.headers,
        request.endpoint,
        max_bytes=max_bytes,
    )


# -- the transport alone -------------------------------------------------------------------

MakeTransport = Callable[[str], Transport]


@pytest.fixture(params=[AsyncioTransport, AiohttpTransport], ids=["asyncio", "aiohttp"])
def make_transport(request: pytest.FixtureRequest) -> MakeTransport:
    """Each transport test runs against both transports (the default first)."""
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("handler", [gzip_bomb, deflate_bomb, endless], ids=lambda h: h.__name__)
async def test_bombs_and_endless_bodies_stop_at_the_decompressed_cap(
    hostile: Hostile, handler: Handler, make_transport: MakeTransport
) -> None:
    transport = make_transport(hostile.url)
    hostile.polls.put_nowait(handler)
    try:
        with pytest.raises(ResponseTooLarge) as info:
            await transport.send(poll_request(4 * MB), timeout=30)
    finally:
        await transport.aclose()
    assert info.value.limit == 4 * MB
    assert isinstance(info.value, SmartQQError)


async def test_a_compressed_body_under_the_cap_is_decoded(
    hostile: Hostile, make_transport: MakeTransport
) -> None:
    body = answer(message(1, "hi"))

    async def small_gzip(request: web.Request) -> web.StreamResponse:
        return web.Response(body=gzip.compress(body), headers={"Content-Encoding": "gzip"})

    hostile.polls.put_nowait(small_gzip)
    transport = make_transport(hostile.url)
    try:
        response = await transport.send(poll_request(len(body)))
    finally:
        await transport.aclose()
    assert response.body == body
    assert response.header("Content-Encoding") is None


async def test_truncated_compressed_data_in_a_whole_answer_is_a_protocol_error(
    hostile: Hostile, make_transport: MakeTransport
) -> None:
    cut = gzip.compress(answer(message(1, "hi")))[:-12]  # the stream's end is missing

    async def truncated(request: web.Request) -> web.StreamResponse:
        return web.Response(body=cut, headers={"Content-Encoding": "gzip"})

    hostile.polls.put_nowait(truncated)
    transport = make_transport(hostile.url)
    try:
        with pytest.raises(ProtocolError, match="truncated"):
            await transport.send(poll_request(), timeout=5)  # at once, not at the timeout
    finally:
        await transport.aclose()


async def test_exactly_at_the_cap_passes_and_one_byte_over_fails(
    hostile: Hostile, make_transport: MakeTransport
) -> None:
    transport = make_transport(hostile.url)
    try:
        hostile.then(b"x" * 1000)
        assert len((await transport.send(poll_request(1000))).body) == 1000
        hostile.then(b"x" * 1001)
        with pytest.raises(ResponseTooLarge):
            await transport.send(poll_request(1000))
    finally:
        await transport.aclose()


# -- the poll loop against it --------------------------------------------------------------


def resumed_client(url: str, directory: Path, **options: object) -> Client:
    state = SessionState(SMARTQQ, qq=1000, uin=1000, psessionid="a" * 40, vfwebqq="b" * 40)
    path = directory / "session.json"
    save_session(path, state)
    return Client(
        session_file=path,
        base_url=url,
        on_qrcode=lambda qr: None,
        backoff_base=0.01,
        backoff_cap=0.05,
        contacts_refresh=None,
        poll_timeout=5,
        **options,  # type: ignore[arg-type]
    )


async def test_the_poll_loop_survives_every_hostile_answer(
    hostile: Hostile, tmp_path: Path
) -> None:
    client = resumed_client(hostile.url, tmp_path, max_response_bytes=2 * MB)
    seen: list[Event] = []
    for etype in (BuddyMessage, UnknownEvent, Disconnected, Reconnected):
        client.add_handler(etype, seen.append)
    infinity_font = answer(message(1, "inf", font={"size": float("inf")}), message(2, "good"))
    assert b"Infinity" in infinity_font
    for handler in (gzip_bomb, endless, deep_json, half_body):
        hostile.polls.put_nowait(handler)
    hostile.then(infinity_font)
    deep_content = message(5, "deep")
    deep_content["value"]["content"] = "[" * 100_000 + "]" * 100_000  # type: ignore[index]
    hostile.then(answer(deep_content, message(6, "beside the deep one")))
    hostile.then(answer(message(3, "after")))
    async with client:
        await until(lambda: any(getattr(e, "text", "") == "after" for e in seen), timeout=30)
        assert client.state is not None
    texts = [e.text for e in seen if isinstance(e, BuddyMessage)]
    assert texts == ["inf", "good", "beside the deep one", "after"]
    assert client.stats.oversize == 2
    unknown = [e for e in seen if isinstance(e, UnknownEvent)]
    assert len(unknown) == 1  # the 100k-deep content, kept apart from its batch
    assert any(isinstance(e, Disconnected) for e in seen)
    assert isinstance(seen[-1], BuddyMessage)


def test_a_20_mb_unreadable_body_is_excerpted_without_redacting_all_of_it() -> None:
    from smartqq.client.poller import excerpt

    big = b"ptwebqq=" + b"s" * (20 * MB)
    line = excerpt(big)
    assert len(line) < 200
    assert "sss" not in line  # the secret-named value is still redacted


# -- no secret in any printed traceback ----------------------------------------------------

SECRET = "7f3c9a1e5b2d4c6e8f0a1b2c3d4e5f60"


async def raised_by(
    transport: Transport, request: HttpRequest, timeout: float = 5
) -> BaseException:
    try:
        await transport.send(request, timeout=timeout)
    except SmartQQError as exc:
        return exc
    raise AssertionError("no error raised")


async def test_no_transport_error_prints_a_secret_in_its_traceback(
    hostile: Hostile, make_transport: MakeTransport
) -> None:
    register_secret(SECRET)
    base = poll_request(1 * MB)
    request = HttpRequest(
        base.method,
        base.url,
        (("psessionid", SECRET), ("vfwebqq", SECRET)),
        (("r", json.dumps({"psessionid": SECRET})),),
        (*base.headers, ("Cookie", f"skey={SECRET}; ptwebqq={SECRET}")),
        "poll2",
        max_bytes=1 * MB,
    )
    errors: list[BaseException] = []
    try:
        closed = make_transport("http://127.0.0.1:9")  # nothing listens on port 9
        errors.append(await raised_by(closed, request))
        await closed.aclose()
        transport = make_transport(hostile.url)
        for handler, timeout in ((never, 0.3), (half_body, 5), (gzip_bomb, 5)):
            hostile.polls.put_nowait(handler)
            errors.append(await raised_by(transport, request, timeout))
        bad_header = HttpRequest(
            "GET", base.url, headers=(("X-Bad", f"{SECRET}\r\nInjected: 1"),), endpoint="poll2"
        )
        errors.append(await raised_by(transport, bad_header))
        await transport.aclose()
    finally:
        retire_secret(SECRET)
    kinds = [type(e) for e in errors]
    assert kinds[0] is ConnectError
    assert kinds[1] is RequestTimeout
    assert issubclass(kinds[2], NetworkError)
    assert kinds[3] is ResponseTooLarge
    assert issubclass(kinds[4], TransportError)
    for exc in errors:
        printed = "".join(traceback.format_exception(exc))
        assert SECRET not in printed, printed
        assert exc.__cause__ is None
