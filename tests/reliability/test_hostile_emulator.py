"""The SmartQQ emulator as a server strangers can reach, over raw loopback sockets
(issue 13 items 7-10): no 500 anywhere, poison costs nobody a message, no session
takeover, bounded state and connection timeouts."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from smartqq import BuddyMessage
from smartqq.emulator import Emulator
from smartqq.emulator.sessions import MAX_QR
from smartqq.protocol.hashing import hash33
from smartqq.testing import make_client

from .hostile_mix import POISON

TIMEOUT = 10.0


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(hold=0.5) as emulator:
        yield emulator


async def raw(emu: Emulator, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; (status, headers, body) of the one answer."""
    reader, writer = await asyncio.open_connection(emu.host, emu.port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(_read_all(reader), TIMEOUT)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything up to EOF, or up to a reset that follows an answer.

    A server that answers and closes while part of a request is still unread makes the
    kernel send RST, not FIN (RFC 9112 section 9.6 asks servers to linger to avoid this;
    aiohttp does not after a parse error). The answer was delivered before the reset, so
    it is kept; a reset before any answer is still an error. On Python 3.12+ aiohttp
    starts its error handler eagerly, so it closes sooner and this happens reliably.
    """
    data = b""
    while True:
        try:
            chunk = await reader.read(65536)
        except ConnectionResetError:
            if not data:
                raise
            return data
        if not chunk:
            return data
        data += chunk


def http(
    method: str,
    target: str,
    body: bytes = b"",
    *,
    host: bytes = b"d1.web2.qq.com",
    content_type: bytes = b"application/x-www-form-urlencoded",
    extra: bytes = b"",
) -> bytes:
    return (
        f"{method} {target} HTTP/1.1\r\n".encode()
        + b"Host: "
        + host
        + b"\r\nConnection: close\r\nContent-Type: "
        + content_type
        + f"\r\nContent-Length: {len(body)}\r\n".encode()
        + extra
        + b"\r\n"
        + body
    )


def control(path: str, payload: bytes) -> bytes:
    return http("POST", path, payload, host=b"127.0.0.1", content_type=b"application/json")


# -- item 7: no 500 anywhere ----------------------------------------------------------


@pytest.mark.parametrize(
    "request_bytes",
    [
        http("GET", "/check?uin=-1", host=b"ssl.ptlogin2.qq.com"),
        http("GET", "/check?uin=" + "9" * 30, host=b"ssl.ptlogin2.qq.com"),
        http("GET", "/getimage?uin=1e999", host=b"ssl.ptlogin2.qq.com"),
        http("GET", "/check_sig?ptsigx=x&s_url=http://a%0d%0aSet-Cookie:x=1"),
        http(
            "POST",
            "/channel/poll2",
            b"r=%7B%7D",
            content_type=b"application/x-www-form-urlencoded; charset=x-no-such-codec",
        ),
        http(
            "POST", "/channel/login2", b"r=\xff\xfe%FF", content_type=b"text/plain; charset=ebcdic"
        ),
        http("GET", "/cgi-bin/login", host=b"\xff\xfe.qq.com"),
        control("/_emu/qr/confirm", b'{"qq": "abc"}'),
        control("/_emu/qr/confirm", b'{"qq": 1e999}'),
        control("/_emu/qr/confirm", b'{"qq": 99999}'),
        control("/_emu/inject", b'{"kind": "buddy", "to": 1e999}'),
        control("/_emu/inject", b'{"kind": "buddy", "from": "' + b"1" * 30 + b'"}'),
        control("/_emu/inject", b'{"kind": "buddy", "repeat": NaN}'),
        control("/_emu/inject", b'{"kind": "group", "text": ["not", "text"]}'),
        control("/_emu/fault", b'{"endpoint": "poll2", "action": "status", "value": NaN}'),
        control("/_emu/fault", b'{"endpoint": "poll2", "action": "delay", "value": Infinity}'),
        control("/_emu/fault", b'{"endpoint": "poll2", "action": "retcode", "value": 1e300}'),
        control("/_emu/fault", b'{"endpoint": "poll2", "action": "status", "n": "x"}'),
        control("/_emu/fault", b"[" * 100_000),
        http("GET", "/_emu/captcha/" + "9" * 40, host=b"127.0.0.1"),
    ],
)
async def test_hostile_requests_get_4xx_or_the_protocols_answer(
    emu: Emulator, request_bytes: bytes
) -> None:
    status, _, _ = await raw(emu, request_bytes)
    assert status < 500
    # The server is still whole: the stats page (which reports every Host) encodes.
    stats_status, _, body = await raw(emu, http("GET", "/_emu/stats", host=b"127.0.0.1"))
    assert stats_status == 200
    assert "hosts" in json.loads(body)


async def test_bad_control_values_are_refused_not_stored(emu: Emulator) -> None:
    status, _, _ = await raw(
        emu, control("/_emu/fault", b'{"endpoint": "poll2", "action": "delay", "value": NaN}')
    )
    assert status == 400
    assert emu.faults.rules == []
    status, _, _ = await raw(emu, control("/_emu/inject", b'{"kind": "buddy", "to": 1e999}'))
    assert status == 400
    assert emu.stats()["injected"] == []


async def test_an_oversized_url_gets_414(emu: Emulator) -> None:
    status, _, _ = await raw(emu, http("GET", "/check?uin=" + "1" * 20_000))
    assert status == 414
    status, _, _ = await raw(emu, http("GET", "/check?uin=" + "1" * 200_000))
    assert 400 <= status < 500  # past the parser's own cap: still an answer, not silence


# -- item 8: a poison message never costs anyone else a message -------------------------


async def test_poison_is_refused_when_sent_and_innocents_arrive(emu: Emulator) -> None:
    async with make_client(emu, qq=10002, password="alice-pw") as alice:
        assert alice.state is not None
        async with make_client(emu, qq=10001, password="bot-password") as bot:
            assert bot.state is not None
            session = emu.service.live(10001)
            assert session is not None
            to = session.handle("qq", 10002)
            r = {
                "to": to,
                "content": '["\\ud800 poison", ["font", {"name": "x", "size": 10}]]',
                "psessionid": bot.state.psessionid,
                "clientid": bot.state.clientid,
                "msg_id": 1,
            }
            body = ("r=" + quote(json.dumps(r))).encode()
            status, _, answer = await raw(emu, http("POST", "/channel/send_buddy_msg2", body))
            assert status == 200
            assert json.loads(answer)["retcode"] == 100006
            received: list[str] = []
            done = asyncio.Event()

            @alice.on(BuddyMessage)
            async def collect(event: BuddyMessage) -> None:
                received.append(event.text)
                if len(received) == 48:
                    done.set()

            for i in range(48):
                emu.user(10003).send_buddy(10002, f"innocent {i}")
            await asyncio.wait_for(done.wait(), TIMEOUT)
            assert sorted(received) == sorted(f"innocent {i}" for i in range(48))
            assert emu.stats()["poisoned"] == 0


@pytest.mark.parametrize(("name", "content"), POISON, ids=[n for n, _ in POISON])
async def test_every_poison_of_the_fault_mix_is_refused_and_never_queued(
    emu: Emulator, name: str, content: str
) -> None:
    # A face id of 1e999 used to be queued (and written into poll2 as ``Infinity``, which
    # is not JSON) while the sender was told 100006.
    async with make_client(emu, qq=10001, password="bot-password") as bot:
        assert bot.state is not None
        session = emu.service.live(10001)
        assert session is not None
        r = {
            "to": session.handle("qq", 10002),
            "content": content,
            "psessionid": bot.state.psessionid,
            "clientid": bot.state.clientid,
            "msg_id": 1,
        }
        body = ("r=" + quote(json.dumps(r))).encode()
        status, _, answer = await raw(emu, http("POST", "/channel/send_buddy_msg2", body))
        assert status == 200
        assert json.loads(answer)["retcode"] == 100006, name
        assert emu.sent == []
        assert not emu.service.queues.get(10002)


# -- item 9: no session takeover --------------------------------------------------------


async def test_a_stranger_asking_for_a_qr_code_never_becomes_the_bot(emu: Emulator) -> None:
    _, headers, _ = await raw(emu, http("GET", "/ptqrshow", host=b"ssl.ptlogin2.qq.com"))
    qrsig = headers["set-cookie"].split(";")[0].split("=", 1)[1]
    for _ in range(20):
        status, _, body = await raw(
            emu,
            http(
                "GET",
                f"/ptqrlogin?ptqrtoken={hash33(qrsig)}",
                host=b"ssl.ptlogin2.qq.com",
                extra=f"Cookie: qrsig={qrsig}\r\n".encode(),
            ),
        )
        assert status == 200
        assert body.startswith(b"ptuiCB('66'")
    status, _, body = await raw(emu, control("/_emu/qr/confirm", b'{"qq": 10002}'))
    assert json.loads(body) == {"ok": True, "confirmed": 1}
    _, _, body = await raw(
        emu,
        http(
            "GET",
            f"/ptqrlogin?ptqrtoken={hash33(qrsig)}",
            host=b"ssl.ptlogin2.qq.com",
            extra=f"Cookie: qrsig={qrsig}\r\n".encode(),
        ),
    )
    assert body.startswith(b"ptuiCB('0'")


# -- item 10: bounded state, timeouts, accept under fd exhaustion -----------------------


async def test_unauthenticated_tables_stay_bounded(emu: Emulator) -> None:
    async def one(i: int) -> None:
        await raw(emu, http("GET", "/ptqrshow", host=f"h{i}.example".encode()))

    for start in range(0, MAX_QR + 100, 100):
        await asyncio.gather(*(one(i) for i in range(start, start + 100)))
    assert len(emu.service.qr) <= MAX_QR
    assert len(emu.hosts) <= 257


async def test_a_slow_header_writer_is_dropped() -> None:
    emu = Emulator()
    emu.keepalive_timeout = 0.3
    async with emu:
        reader, writer = await asyncio.open_connection(emu.host, emu.port)
        writer.write(b"GET /check HTTP/1.1\r\nHost: x\r\n")  # and never finishes
        await writer.drain()
        assert await asyncio.wait_for(reader.read(-1), TIMEOUT) == b""  # closed by the server
        writer.close()


async def test_fd_exhaustion_is_logged_once(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    server = emu._site._server  # type: ignore[union-attr]
    assert server is not None
    sock = server.sockets[0]  # type: ignore[attr-defined]
    caplog.set_level(logging.WARNING)
    for _ in range(200):
        loop.call_exception_handler(
            {
                "message": "socket.accept() out of system resource",
                "exception": OSError(24, "Too many open files"),
                "socket": sock,
            }
        )
    warnings = [r for r in caplog.records if "file descriptors" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].exc_info is None  # no traceback
    # The server still serves.
    status, _, _ = await raw(emu, http("GET", "/check?uin=10001", host=b"ssl.ptlogin2.qq.com"))
    assert status == 200
