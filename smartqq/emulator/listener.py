"""What the listening socket does when file descriptors run out: log once, pause, go on.

When ``accept()`` fails with EMFILE/ENFILE, asyncio already stops accepting on that
socket for a second (``ACCEPT_RETRY_DELAY``) and then tries again -- the pause we want --
but it reports every failure through the loop's exception handler with a traceback, and
under a connection flood that was 162 MB of tracebacks in 24 s. :func:`guard_accept`
installs one exception handler per loop that recognises those reports for our listening
sockets, logs one warning a minute with a count of the suppressed ones, and passes every
other report on to the handler that was there before.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any

__all__ = ["guard_accept"]

log = logging.getLogger("smartqq.emulator")
_MESSAGE = "socket.accept() out of system resource"
_LOG_EVERY = 60.0


class _Guard:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.previous = loop.get_exception_handler()
        self.servers: weakref.WeakSet[asyncio.base_events.Server] = weakref.WeakSet()
        self.last_logged = -_LOG_EVERY
        self.suppressed = 0

    def _ours(self, context: dict[str, Any]) -> bool:
        sock = context.get("socket")
        if sock is None or not str(context.get("message", "")).startswith(_MESSAGE):
            return False
        try:
            fileno = sock.fileno()
        except (OSError, AttributeError):
            return False
        return any(s.fileno() == fileno for srv in self.servers for s in srv.sockets)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if self._ours(context):
            now = time.monotonic()
            if now - self.last_logged >= _LOG_EVERY:
                log.warning(
                    "out of file descriptors: accepting paused, retried every second "
                    "(%d earlier failures not logged)",
                    self.suppressed,
                )
                self.last_logged, self.suppressed = now, 0
            else:
                self.suppressed += 1
            return
        if self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)


_GUARDS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Guard] = weakref.WeakKeyDictionary()


def guard_accept(server: asyncio.base_events.Server) -> None:
    """Quiet EMFILE reports for ``server``'s listening sockets on the running loop."""
    loop = asyncio.get_running_loop()
    guard = _GUARDS.get(loop)
    if guard is None or loop.get_exception_handler() is not guard:
        guard = _Guard(loop)
        _GUARDS[loop] = guard
        loop.set_exception_handler(guard)
    guard.servers.add(server)
