"""Shared helpers for the hostile suites: a hostile HTTP server and raw-socket peers.

Everything here binds or connects to 127.0.0.1 only, is bounded (bytes sent, bytes
read, seconds waited) and stops by itself, so a test that goes wrong fails instead
of hanging CI or flooding the machine.

* :func:`hostile_server` runs an aiohttp app on 127.0.0.1 whose every answer is
  produced by a handler the test supplies (oversized bodies, bad cookies, garbage).
* :func:`tampering_proxy` forwards every request to a real server (the emulator)
  and lets the test add or rewrite response headers, e.g. hostile ``Set-Cookie``
  lines on top of a login that otherwise works.
* :func:`raw_exchange` opens a TCP connection, writes bytes, and reads until the
  peer closes, a byte cap, or a deadline; it reports what happened as a value.
* :func:`open_idle` / :func:`hold_open` keep sockets open without talking, to test
  idle timeouts and connection caps.
* :func:`fifo_writer_rescue` unblocks a thread stuck opening a FIFO, so a test of
  "a FIFO is refused at once" cannot hang even when the code under test regresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

__all__ = [
    "Exchange",
    "HostileServer",
    "fifo_writer_rescue",
    "hold_open",
    "hostile_server",
    "open_idle",
    "raw_exchange",
    "tampering_proxy",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Tamper = Callable[[web.Request, list[tuple[str, str]]], list[tuple[str, str]]]
LOOPBACK = "127.0.0.1"


@dataclass
class HostileServer:
    url: str
    port: int
    requests: list[str]
    """``"METHOD /path"`` of every request received, in order."""
    cookies: list[str]
    """The ``Cookie`` header of every request ("" when absent), in order."""


@contextlib.asynccontextmanager
async def hostile_server(handler: Handler) -> AsyncIterator[HostileServer]:
    """An aiohttp server on 127.0.0.1 that answers every request with ``handler``."""
    seen: list[str] = []
    cookies: list[str] = []

    async def any_route(request: web.Request) -> web.StreamResponse:
        seen.append(f"{request.method} {request.path}")
        cookies.append(request.headers.get("Cookie", ""))
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", any_route)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    port = int(runner.addresses[0][1])
    try:
        yield HostileServer(f"http://{LOOPBACK}:{port}", port, seen, cookies)
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def tampering_proxy(
    upstream: str, tamper: Tamper, *, timeout: float = 30.0
) -> AsyncIterator[HostileServer]:
    """A hostile server that forwards to ``upstream`` and lets ``tamper`` rewrite answers.

    ``tamper(request, headers)`` gets the upstream response headers worth keeping
    (``Set-Cookie``, ``Location``, ``Content-Type``) and returns the ones to send.
    The ``Cookie`` header of every request is recorded in ``HostileServer.cookies``.
    """
    session = aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=timeout)
    )
    keep = {"set-cookie", "location", "content-type"}
    hop_by_hop = {"content-length", "transfer-encoding", "connection", "accept-encoding"}

    async def forward(request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in hop_by_hop}
        body = await request.read()
        async with session.request(
            request.method,
            upstream + request.path_qs,
            data=body or None,
            headers=headers,
            allow_redirects=False,
        ) as resp:
            payload = await resp.read()
            kept = [(k, v) for k, v in resp.headers.items() if k.lower() in keep]
            status = resp.status
        out = web.Response(body=payload, status=status)
        for name, value in tamper(request, kept):
            out.headers.add(name, value)
        return out

    try:
        async with hostile_server(forward) as server:
            yield server
    finally:
        await session.close()


@dataclass
class Exchange:
    """What a raw peer saw."""

    data: bytes
    closed: bool
    """The server closed (EOF or reset) before the deadline or the byte cap."""
    reset: bool = False
    elapsed: float = 0.0


async def raw_exchange(
    port: int,
    payload: bytes | list[bytes],
    *,
    read_limit: int = 1 << 20,
    deadline: float = 10.0,
    pause: float = 0.0,
    half_close: bool = False,
) -> Exchange:
    """Send ``payload`` (pieces ``pause`` seconds apart) to 127.0.0.1:``port``; read the answer.

    Reads until EOF, ``read_limit`` bytes, or ``deadline`` seconds in all. A server that
    resets the connection is reported as closed with ``reset=True``, not raised.
    """
    start = time.monotonic()
    pieces = [payload] if isinstance(payload, bytes) else payload
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(LOOPBACK, port), timeout=deadline
    )
    chunks: list[bytes] = []
    closed = reset = False
    try:
        try:
            for i, piece in enumerate(pieces):
                if i and pause:
                    await asyncio.sleep(pause)
                writer.write(piece)
                await asyncio.wait_for(writer.drain(), timeout=deadline)
            if half_close and writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, TimeoutError):
            reset = True
        total = 0
        while total < read_limit:
            left = deadline - (time.monotonic() - start)
            if left <= 0:
                break
            try:
                chunk = await asyncio.wait_for(reader.read(65536), timeout=left)
            except TimeoutError:
                break
            except ConnectionError:
                closed = reset = True
                break
            if not chunk:
                closed = True
                break
            chunks.append(chunk)
            total += len(chunk)
        closed = closed or reset
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout=1.0)
    return Exchange(b"".join(chunks), closed, reset, time.monotonic() - start)


async def open_idle(port: int, *, deadline: float = 10.0) -> bool:
    """Connect and say nothing; True when the server closes us within ``deadline``."""
    result = await raw_exchange(port, b"", deadline=deadline)
    return result.closed


@contextlib.asynccontextmanager
async def hold_open(
    port: int, count: int, *, timeout: float = 5.0
) -> AsyncIterator[list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]:
    """``count`` silent connections to 127.0.0.1:``port``, all closed on exit."""
    conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(count):
            conns.append(
                await asyncio.wait_for(asyncio.open_connection(LOOPBACK, port), timeout=timeout)
            )
        yield conns
    finally:
        for _, writer in conns:
            writer.close()
        for _, writer in conns:
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), timeout=1.0)


@contextlib.contextmanager
def fifo_writer_rescue(path: Path, after: float = 5.0) -> Iterator[threading.Event]:
    """If something still blocks on the FIFO at ``path`` after ``after`` s, unblock it.

    Yields an event that is set when the rescue had to act: a test asserts it is
    not set (the code refused the FIFO at once) instead of asserting a duration.
    """
    rescued = threading.Event()
    done = threading.Event()

    def rescue() -> None:
        if done.wait(after):
            return
        rescued.set()
        with contextlib.suppress(OSError):
            # Opening the write end releases a reader blocked in open(); closing it gives EOF.
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)

    thread = threading.Thread(target=rescue, daemon=True)
    thread.start()
    try:
        yield rescued
    finally:
        done.set()
        thread.join(timeout=after + 1)
