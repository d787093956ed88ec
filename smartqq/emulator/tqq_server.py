"""``TQQEmulator``: the tqq HTTP interface on a loopback port, over the same world.

A raw asyncio server rather than aiohttp.web, because the real one was not a general
HTTP server and clients of the time relied on that: the seed's own probe sends a
request line without a target (``POST HTTP/1.1``), and Query_Stat with ``TN=0`` writes
two complete responses on one connection. Every connection carries one request and
is closed after the answer (``Connection: close``, as the seeds send). Only POST is
served (anything else: 405); bodies are capped at 64 KiB (413) and a client that
does not finish its headers within 10 s is dropped.
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
    ) -> None:
        self.world = world if world is not None else demo_world()
        self.config = config or TQQConfig()
        self.service = TQQService(self.world, self.config)
        super().__init__(host, port)

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
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEADER_TIMEOUT)
        lines = head.decode("latin-1").split("\r\n")
        method = lines[0].split(" ", 1)[0]
        if method != "POST":
            writer.write(_response("405 Method Not Allowed", ""))
            await writer.drain()
            return
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip()) if value.strip().isdigit() else -1
        if length < 0 or length > _MAX_BODY:
            writer.write(
                _response("413 Payload Too Large" if length > 0 else "400 Bad Request", "")
            )
            await writer.drain()
            return
        body = await asyncio.wait_for(reader.readexactly(length), _HEADER_TIMEOUT)
        peer = writer.get_extra_info("peername")
        reply = self.service.handle(body, str(peer[0]) if peer else "")
        if reply.delay:
            await asyncio.sleep(reply.delay)
        writer.write(b"".join(_response("200 OK", b) for b in reply.bodies))
        await writer.drain()
