"""``TQQEmulator``: the tqq HTTP interface on a loopback port, over the same world.

A raw asyncio server rather than aiohttp.web, because the real one was not a general
HTTP server and clients of the time relied on that: the seed's own probe sends a
request line without a target (``POST HTTP/1.1``), and Query_Stat with ``TN=0`` writes
two complete responses on one connection. Every connection carries one request and
is closed after the answer (``Connection: close``, as the seeds send). Only POST is
served (anything else: 405); bodies are capped at 64 KiB (413) and a client that
does not finish its headers within 10 s is dropped.

Malformed requests never reach a traceback: a Content-Length that is not plain ASCII
digits (``²``, ``１２``, 5,000 digits, two that disagree) is a 400; a header block over
64 KiB (the stream limit), a body that stops short or is slower than 10 s closes the
connection quietly; a body the service cannot read is answered ``NULL`` (the seeds'
answer), even if the service itself fails on it. At most ``max_connections`` (1000)
connections are open at once; more are closed on arrival.
"""

from __future__ import annotations

import asyncio
import logging

from .tcp import TCPServer
from .tqq_service import TQQConfig, TQQService
from .world import World, demo_world

__all__ = ["TQQEmulator", "TQQUser"]

log = logging.getLogger("smartqq.emulator.tqq")
_MAX_BODY = 64 * 1024
_HEADER_TIMEOUT = 10.0
MAX_CONNECTIONS = 1000
_NULL = "NULL"


def _content_length(lines: list[str]) -> int | None:
    """The body length the headers declare: 0 when absent, None when unreadable."""
    found: set[str] = set()
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            found.add(value.strip())
    if not found:
        return 0
    if len(found) > 1:
        return None  # two lengths that disagree: request smuggling territory
    text = found.pop()
    # isdigit() alone accepts "²" and "١٢"; and int() of 5,000 digits raises.
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    return int(text)


def _response(status: str, body: str) -> bytes:
    data = body.encode()
    head = (
        f"HTTP/1.1 {status}\r\nServer: tencent imserver/1.0.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


class TQQUser:
    """A world account driven by a script, as its friends on tqq see it."""

    def __init__(self, service: TQQService, qq: int) -> None:
        self._svc = service
        self.qq = qq

    def send(self, to: int, text: str) -> None:
        """A chat message to ``to`` (delivered in <= 400-byte segments)."""
        self._svc.deliver(to, 9, self.qq, text)

    def set_status(self, status: int) -> None:
        """10 online, 20 offline, 30 busy, 40 invisible; friends get a status message."""
        self._svc.presence[self.qq] = status
        self._svc.broadcast_status(self.qq, status)

    def request_auth(self, to: int, reason: str = "") -> None:
        """Ask ``to`` to approve adding them as a friend (they get MT 2)."""
        self._svc.requests.add((self.qq, to))
        self._svc.deliver(to, 2, self.qq, reason)

    def system(self, to: int, text: str) -> None:
        self._svc.deliver(to, 99, self.qq, text)


class TQQEmulator(TCPServer):
    """``async with TQQEmulator(world) as tqq: TQQClient(..., base_url=tqq.url)``."""

    def __init__(
        self,
        world: World | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        config: TQQConfig | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.world = world if world is not None else demo_world()
        self.config = config or TQQConfig()
        self.service = TQQService(self.world, self.config)
        super().__init__(host, port, max_connections=max_connections)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def user(self, qq: int) -> TQQUser:
        self.world.account(qq)
        return TQQUser(self.service, qq)

    async def start(self) -> None:
        await super().start()
        log.info("tqq emulator listening on %s", self.url)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEADER_TIMEOUT)
        except (asyncio.LimitOverrunError, ValueError):
            log.debug("closing a connection: header block over the stream limit")
            return
        lines = head.decode("latin-1").split("\r\n")
        method = lines[0].split(" ", 1)[0]
        if method != "POST":
            writer.write(_response("405 Method Not Allowed", ""))
            await writer.drain()
            return
        length = _content_length(lines[1:])
        if length is None or length > _MAX_BODY:
            status = "400 Bad Request" if length is None else "413 Payload Too Large"
            writer.write(_response(status, ""))
            await writer.drain()
            return
        body = await asyncio.wait_for(reader.readexactly(length), _HEADER_TIMEOUT)
        peer = writer.get_extra_info("peername")
        try:
            reply = self.service.handle(body, str(peer[0]) if peer else "")
        except Exception as exc:  # the seeds' server answered NULL to what it could not read
            log.warning("tqq request answered NULL after %s", type(exc).__name__)
            writer.write(_response("200 OK", _NULL))
            await writer.drain()
            return
        if reply.delay:
            await asyncio.sleep(reply.delay)
        writer.write(b"".join(_response("200 OK", b) for b in reply.bodies))
        await writer.drain()
