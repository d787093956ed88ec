"""Hostile peers against the legacy servers over raw sockets (issue 13 item 11).

tqq: every malformed request gets a plain HTTP answer (400/405/413, or the seeds'
``NULL``) or a quiet close, never a traceback. OICQ: frame cap, read/idle timeouts,
capped connections, capped offline queues, a peer that does not read is dropped,
registration is capped. Every case checks the server still serves a good client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
from collections.abc import AsyncIterator

import pytest

from smartqq.emulator import OICQServer, TQQEmulator, demo_world
from smartqq.legacy.oicq import OICQClient
from smartqq.legacy.oicq import messages as msg
from smartqq.legacy.oicq.codec import HEADER, Party

from .hostile import hold_open, open_idle, raw_exchange

LOGOUT = b"VER=1.1&CMD=Logout&SEQ=1&UIN=10002"


def post(body: bytes, *, length: bytes | None = None) -> bytes:
    declared = str(len(body)).encode() if length is None else length
    return b"POST / HTTP/1.1\r\nContent-Length: " + declared + b"\r\n\r\n" + body


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]
    assert not bad, [r.getMessage() for r in bad]
    failed = [r.getMessage() for r in caplog.records if "closing a connection after" in r.msg]
    assert not failed  # the listener's last line of defence was never needed


@pytest.fixture
async def tqq() -> AsyncIterator[TQQEmulator]:
    async with TQQEmulator(max_connections=4) as emu:
        yield emu


async def still_serves(tqq: TQQEmulator) -> None:
    answer = await raw_exchange(tqq.port, post(LOGOUT), deadline=5)
    assert answer.data.endswith(b"RES=0")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (post(b"x", length="²".encode("latin-1")), b"400"),  # isdigit() but not int()
        (post(b"x", length="１２".encode()), b"400"),  # fullwidth digits
        (post(b"x", length="٣".encode()), b"400"),
        (post(b"x", length=b"9" * 5000), b"400"),  # int() would refuse 4,300+ digits
        (post(b"x", length=b"-1"), b"400"),
        (post(b"x", length=b"+1"), b"400"),
        (post(b"x", length=b"0x1"), b"400"),
        (post(b"x", length=b" "), b"400"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", b"400"),
        (post(b"", length=b"1048576"), b"413"),
        (b"\x00\xff\xfe garbage\r\n\r\n", b"405"),
        (b"GET / HTTP/1.1\r\n\r\n", b"405"),
        (post(b"VER=9.9&CMD=Login&SEQ=1&UIN=1"), b"200"),
        (post(b"\xff\xfe\x00"), b"200"),
        (post(b"VER=1.1&CMD=CLTMSG&SEQ=1&UIN=abc&UN=1&MG=x"), b"200"),
    ],
)
async def test_tqq_malformed_requests_get_a_plain_answer(
    tqq: TQQEmulator, caplog: pytest.LogCaptureFixture, request_bytes: bytes, status: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await raw_exchange(tqq.port, request_bytes, deadline=5)
    assert answer.closed
    assert answer.data.startswith(b"HTTP/1.1 " + status)
    if status == b"200":
        assert answer.data.endswith(b"\r\n\r\nNULL")  # the seeds' answer to the unreadable
    no_tracebacks(caplog)
    await still_serves(tqq)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST / HTTP/1.1\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\n",  # over the 64 KiB limit
        b"POST / HTTP/1.1\r\n" + b"X: y\r\n" * 20_000 + b"\r\n",
        b"",  # connect and leave
        post(b"VER=1.1", length=b"50"),  # body stops short
    ],
)
async def test_tqq_unreadable_framing_closes_quietly(
    tqq: TQQEmulator, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await raw_exchange(tqq.port, request_bytes, deadline=5, half_close=True)
    assert answer.closed
    assert answer.data == b""
    no_tracebacks(caplog)
    await still_serves(tqq)


async def test_tqq_service_failure_is_answered_null(
    tqq: TQQEmulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(body: bytes, peer: str) -> object:
        raise RuntimeError("a bug the peer's bytes reached")

    monkeypatch.setattr(tqq.service, "handle", broken)
    answer = await raw_exchange(tqq.port, post(LOGOUT), deadline=5)
    assert answer.data.endswith(b"\r\n\r\nNULL")
    assert "answered NULL after RuntimeError" in caplog.text
    no_tracebacks(caplog)


async def test_tqq_connections_are_capped(tqq: TQQEmulator) -> None:
    async with hold_open(tqq.port, 4):
        await asyncio.sleep(0.1)  # let the server register all four
        extra = await raw_exchange(tqq.port, post(LOGOUT), deadline=5)
        assert extra.closed
        assert extra.data == b""
        assert tqq._listener.refused >= 1
    await asyncio.sleep(0.1)
    await still_serves(tqq)


# -- OICQ ------------------------------------------------------------------------------


def frame(kind: int, body: bytes, sender: int = Party.USER) -> bytes:
    return struct.pack(">BBBBI", HEADER, sender, Party.OICQ_SERVER, kind, len(body)) + body


async def still_signs_on(srv: OICQServer) -> None:
    client = OICQClient(srv.host, srv.port)
    await client.connect()
    try:
        assert (await client.login(10002, "alice-pw")).ok == 1
    finally:
        await client.close()


async def test_oicq_frames_over_the_cap_close_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with OICQServer(demo_world(), max_frame=1024) as srv:
        # Only the 8-byte prefix: the declared length alone is refused, nothing is buffered.
        answer = await raw_exchange(srv.port, frame(0x02, b"")[:4] + struct.pack(">I", 1025))
        assert answer.closed
        assert "over the 1024 limit" in caplog.text
        huge = await raw_exchange(srv.port, frame(0x02, b"")[:4] + b"\xff\xff\xff\xff")
        assert huge.closed
        for junk in (
            b"\x00" * 16,
            frame(0x7F, b"abc"),
            frame(0x02, b"x", sender=Party.OICQ_SERVER),
        ):
            assert (await raw_exchange(srv.port, junk, deadline=5, half_close=True)).closed
        no_tracebacks(caplog)
        await still_signs_on(srv)


async def test_oicq_read_and_idle_timeouts() -> None:
    async with OICQServer(demo_world(), read_timeout=0.3, idle_timeout=0.6) as srv:
        assert await open_idle(srv.port, deadline=5)  # never signs on
        half = await raw_exchange(srv.port, frame(0x03, b"\x00" * 40)[:12], deadline=5)
        assert half.closed  # a frame started and never finished
        client = OICQClient(srv.host, srv.port)
        await client.connect()
        try:
            await client.login(10002, "alice-pw")
            assert 10002 in srv.online
            await asyncio.wait_for(_until(lambda: 10002 not in srv.online), 5)
        finally:
            await client.close()
        await still_signs_on(srv)


async def test_oicq_trickling_peers_meet_deadlines() -> None:
    async with OICQServer(demo_world(), read_timeout=0.5) as srv:
        # A frame sent a byte every 0.1 s: each read is quick, the frame never completes.
        partial = frame(0x03, b"\x00" * 40)
        trickle = await raw_exchange(
            srv.port, [partial[i : i + 1] for i in range(40)], pause=0.1, deadline=8
        )
        assert trickle.closed
        assert trickle.reset  # closed while we were still writing: before the 40th piece
        # Pings are served before signing on, but do not buy time to sign on.
        pings = await raw_exchange(srv.port, [msg.Ping(1).encode()] * 40, pause=0.1, deadline=8)
        assert pings.closed
        assert pings.reset
        await still_signs_on(srv)


async def _until(cond: object) -> None:
    assert callable(cond)
    while not cond():
        await asyncio.sleep(0.02)


async def test_oicq_connections_are_capped() -> None:
    async with OICQServer(demo_world(), max_connections=3) as srv:
        async with hold_open(srv.port, 3):
            await _until(lambda: srv._listener.open_connections == 3)
            extra = await raw_exchange(srv.port, msg.Ping(1).encode(), deadline=5)
            assert extra.closed
            assert extra.data == b""
        await _until(lambda: srv._listener.open_connections == 0)
        await still_signs_on(srv)


async def test_oicq_offline_queues_are_capped() -> None:
    async with OICQServer(demo_world(), max_offline_per_account=3, max_offline_total=5) as srv:
        alice = OICQClient(srv.host, srv.port)
        await alice.connect()
        await alice.login(10002, "alice-pw")
        for i in range(6):
            await alice.send_message(10003, f"to bob {i}")
        for i in range(4):
            await alice.send_message(10004, f"to carol {i}")
        for i in range(50):
            await alice.send_message(99_999_000 + i, "nobody")  # numbers that do not exist
        await alice.ping()  # every send above has been handled
        await alice.close()
        assert set(srv.waiting) == {10003, 10004}
        assert [m.text for m in srv.waiting[10003]] == ["to bob 3", "to bob 4", "to bob 5"]
        assert srv.waiting_total == 5
        assert len(srv.waiting[10004]) == 2  # the total cap refused the rest
        assert srv.offline_dropped == 3 + 2 + 50
        bob = OICQClient(srv.host, srv.port)
        await bob.connect()
        await bob.login(10003, "bob-pw")
        got = [await bob.receive(timeout=5) for _ in range(3)]
        assert [m.text for m in got if isinstance(m, msg.Incoming)] == [
            "to bob 3",
            "to bob 4",
            "to bob 5",
        ]
        assert srv.waiting_total == 2
        await bob.close()


async def test_oicq_a_peer_that_does_not_read_is_dropped() -> None:
    async with OICQServer(demo_world(), max_write_buffer=64 * 1024) as srv:
        # Bob signs on over a raw socket and then never reads a byte.
        bob_reader, bob_writer = await asyncio.open_connection(srv.host, srv.port)
        bob_writer.write(msg.Login(10003, "bob-pw", 0).encode())
        await bob_writer.drain()
        await _until(lambda: 10003 in srv.online)
        alice = OICQClient(srv.host, srv.port)
        await alice.connect()
        await alice.login(10002, "alice-pw")
        text = "x" * 4000
        sent = 0
        # Bounded: at most ~40 MB before we give up (the kernel buffers a few MB).
        while 10003 in srv.online and sent < 10_000:
            await alice.send_message(10003, text)
            sent += 1
            if sent % 200 == 0:
                await alice.ping()
        assert 10003 not in srv.online, "the server kept buffering for a peer that does not read"
        await alice.ping()  # the sender is unaffected
        await alice.close()
        # The server aborted Bob: his socket reads EOF or a reset, never more pushes.
        with contextlib.suppress(ConnectionError):
            while await asyncio.wait_for(bob_reader.read(1 << 20), 5):
                pass
        bob_writer.close()
        with contextlib.suppress(ConnectionError):
            await bob_writer.wait_closed()
        await still_signs_on(srv)


async def test_oicq_registration_is_capped_and_skips_taken_numbers() -> None:
    world = demo_world()
    async with OICQServer(world, max_registrations=2) as srv:
        client = OICQClient(srv.host, srv.port)
        await client.connect()
        try:
            first = await client.request(msg.Register(nick="A", password="a"), msg.RegisterResult)
            world.add_account(first.uin + 1, password="p", nick="taken")
            second = await client.request(msg.Register(nick="B", password="b"), msg.RegisterResult)
            third = await client.request(msg.Register(nick="C", password="c"), msg.RegisterResult)
        finally:
            await client.close()
    assert first.ok == 1
    assert second.ok == 1
    assert second.uin == first.uin + 2
    assert (third.ok, third.uin) == (0, 0)


async def test_oicq_pending_friend_requests_are_capped() -> None:
    world = demo_world()
    async with OICQServer(world, max_friend_requests=2) as srv:
        alice = OICQClient(srv.host, srv.port)
        await alice.connect()
        try:
            await alice.login(10002, "alice-pw")
            for target in (10003, 10004, 10001, 10003):
                await alice.send(msg.RequestFriend(10002, target, "hi"))
            await alice.ping()
        finally:
            await alice.close()
        assert srv.requests == {(10002, 10003), (10002, 10004)}
        # The refused request was not delivered either; the repeated one was.
        assert 10001 not in srv.waiting
        assert len(srv.waiting[10003]) == 2


async def test_oicq_random_frames_never_reach_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    rng = random.Random(1311)
    async with OICQServer(demo_world(), read_timeout=0.5) as srv:
        for _ in range(150):
            kind = rng.choice([*msg.CLIENT_MESSAGES, 0, 0xFF])
            body = rng.randbytes(rng.randrange(0, 64))
            data = frame(kind, body)
            if rng.random() < 0.3:
                data = msg.Login(10002, "alice-pw", 0).encode() + data
            await raw_exchange(srv.port, data, deadline=2, read_limit=4096, half_close=True)
        no_tracebacks(caplog)
        await still_signs_on(srv)
