"""``OICQClient``: an asyncio TCP client for the OICQ frame protocol.

A reader task decodes every frame the server sends. A request that has an answer type
(:meth:`OICQClient.request`) waits for the next message of that type; everything else
the server pushes (messages, status changes, friend additions, file notices) goes to
an inbox read with :meth:`OICQClient.receive` or ``async for``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TypeVar

from smartqq._tasks import cancel_and_wait
from smartqq.errors import ClientClosedError, ConnectError, UsageError
from smartqq.legacy.errors import FrameError, LegacyError

from . import messages as msg
from .codec import DEFAULT, Dialect, FrameReader, Party

__all__ = ["OICQClient"]

log = logging.getLogger("smartqq.legacy.oicq")
M = TypeVar("M", bound=msg.Message)


class OICQClient:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 8000, *, dialect: Dialect = DEFAULT
    ) -> None:
        self.host, self.port, self.dialect = host, port, dialect
        self.uin = 0
        self.login_result: msg.LoginResult | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiters: deque[tuple[type[msg.Message], asyncio.Future[msg.Message]]] = deque()
        self._inbox: asyncio.Queue[msg.Message | None] = asyncio.Queue()
        self.error: BaseException | None = None

    async def connect(self) -> None:
        try:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise ConnectError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self._task = asyncio.get_running_loop().create_task(self._read(), name="oicq-read")

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
            self._writer = None

    async def __aenter__(self) -> OICQClient:
        await self.connect()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _read(self) -> None:
        assert self._reader is not None
        frames = FrameReader(self.dialect)
        try:
            while data := await self._reader.read(65536):
                for frame in frames.feed(data):
                    if frame.sender == Party.USER:
                        raise FrameError("the server sent a user frame")
                    self._arrived(msg.decode_message(frame, self.dialect))
        except (FrameError, ConnectionError) as exc:
            self.error = exc
            log.warning("OICQ connection failed: %s", exc)
        finally:
            for _, fut in self._waiters:
                if not fut.done():
                    fut.set_exception(ClientClosedError("the OICQ connection closed"))
            self._waiters.clear()
            self._inbox.put_nowait(None)

    def _arrived(self, message: msg.Message) -> None:
        for entry in self._waiters:
            kind, fut = entry
            if isinstance(message, kind) and not fut.done():
                self._waiters.remove(entry)
                fut.set_result(message)
                return
        self._inbox.put_nowait(message)

    async def send(self, message: msg.Message) -> None:
        """Write one frame (the message's own type and parties)."""
        if self._writer is None or self._task is None or self._task.done():
            raise ClientClosedError("not connected")
        self._writer.write(message.encode(self.dialect))
        await self._writer.drain()

    async def request(self, message: msg.Message, answer: type[M], timeout: float = 10.0) -> M:
        """Send ``message`` and wait for the next ``answer``-typed message."""
        fut: asyncio.Future[msg.Message] = asyncio.get_running_loop().create_future()
        entry = (answer, fut)
        self._waiters.append(entry)
        try:
            await self.send(message)
            result = await asyncio.wait_for(fut, timeout)
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)
        assert isinstance(result, answer)
        return result

    async def receive(self, timeout: float | None = None) -> msg.Message:
        """The next pushed message; :class:`ClientClosedError` once the connection ends."""
        item = await asyncio.wait_for(self._inbox.get(), timeout)
        if item is None:
            self._inbox.put_nowait(None)  # stay ended for other readers
            raise ClientClosedError("the OICQ connection closed")
        return item

    async def __aiter__(self) -> AsyncIterator[msg.Message]:
        while True:
            try:
                yield await self.receive()
            except ClientClosedError:
                return

    # -- the common requests -------------------------------------------------------------

    async def login(self, uin: int, password: str, invisible: bool = False) -> msg.LoginResult:
        result = await self.request(msg.Login(uin, password, int(invisible)), msg.LoginResult)
        if not result.ok:
            raise LegacyError(f"OICQ login of {uin} refused")
        self.uin, self.login_result = uin, result
        return result

    def _me(self) -> int:
        if not self.uin:
            raise UsageError("log in first")
        return self.uin

    async def send_message(self, to: int, text: str) -> None:
        await self.send(msg.SendMessage(self._me(), to, text))

    async def friend_info(self, uin: int) -> msg.FriendInfo:
        return await self.request(msg.GetFriendInfo(self._me(), uin), msg.FriendInfo)

    async def set_mode(self, mode: int) -> msg.ModeResult:
        """1 online, 2 hidden, 3 do not disturb, 4 offline."""
        return await self.request(msg.SetMode(self._me(), mode), msg.ModeResult)

    async def who_is_online(
        self, start: int = 0, count: int = 50, direction: int = 2
    ) -> msg.OnlineUsers:
        query = msg.WhoIsOnline(self._me(), start, count, direction)
        return await self.request(query, msg.OnlineUsers)

    async def add_friend(self, uin: int) -> msg.AddFriendResult:
        return await self.request(msg.AddFriend(self._me(), uin), msg.AddFriendResult)

    async def ping(self) -> msg.Pong:
        return await self.request(msg.Ping(self._me()), msg.Pong)
