"""A loopback TCP listener that tracks its connections and stops them quietly.

Shared by the tqq emulator and the OICQ server. ``asyncio.start_server`` reports a
connection handler that ends by cancellation as an error, so :meth:`TCPListener.stop`
first closes every connection (handlers blocked on a read end by themselves) and only
then cancels what is still running, which the wrapper absorbs.

Peers are strangers: past ``max_connections`` open connections a new one is closed
at once, and whatever a handler raises ends only its own connection, logged as one
line (the traceback only at DEBUG), so no peer can fill a log with tracebacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from smartqq._tasks import cancel_and_wait

__all__ = ["TCPListener", "TCPServer"]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
log = logging.getLogger("smartqq.emulator.tcp")


class TCPListener:
    def __init__(
        self, handler: Handler, host: str, port: int, *, max_connections: int | None = None
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.refused = 0
        """Connections closed at once because ``max_connections`` were open."""
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def open_connections(self) -> int:
        return len(self._open)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._run, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self, grace: float = 0.5) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in self._open.values():
            writer.close()
        if self._open:
            _, pending = await asyncio.wait(set(self._open), timeout=grace)
            await cancel_and_wait(*pending)

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self.max_connections is not None and len(self._open) >= self.max_connections:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning("%d connection(s) refused: %d open", self.refused, len(self._open))
            writer.transport.abort()
            return
        self._open[task] = writer
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except asyncio.CancelledError:
            pass  # stop() ended this connection; nothing else cancels handlers
        except Exception as exc:  # a peer's bytes reached a bug: end this connection only
            log.warning("closing a connection after %s: %s", type(exc).__name__, str(exc)[:200])
            log.debug("connection handler failed", exc_info=True)
        finally:
            del self._open[task]
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class TCPServer(ABC):
    """Base of a loopback server: ``start``/``stop`` and ``async with`` around a listener;
    subclasses implement ``_serve`` (one connection)."""

    host: str
    port: int

    def __init__(self, host: str, port: int, *, max_connections: int | None = None) -> None:
        self.host = host
        self.port = port
        self._listener = TCPListener(self._serve, host, port, max_connections=max_connections)

    @abstractmethod
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection; the listener closes it afterwards."""

    async def start(self) -> None:
        self.port = await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
