"""HTTP POST event reporting with signatures and quick operations.

Design note: every event is POSTed as compact JSON (non-ASCII kept) with
``X-Self-ID`` and, when a secret is set, ``X-Signature: sha1=<HMAC-SHA1(secret,
body)>`` over the exact bytes sent. A JSON object in the answer is a quick
operation (``reply``, ``auto_escape``, ``at_sender``); 204 or an empty body
means none. Posts run concurrently (bounded per URL) so one slow handler does
not hold up the rest, and each has a timeout; failures are logged, never
raised into the event loop of the server.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

import smartqq
from smartqq._tasks import cancel_and_wait

from .params import ActionError

if TYPE_CHECKING:
    from .hub import Hub

__all__ = ["Poster", "signature"]

log = logging.getLogger("smartqq.onebot")

_CONCURRENT = 16
_MAX_ANSWER = 1024 * 1024


def signature(secret: str, body: bytes) -> str:
    return "sha1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()


class Poster:
    def __init__(self, server: Hub, url: str, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.url = url
        self.session = session
        self._slots = asyncio.Semaphore(_CONCURRENT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures = 0

    def push(self, event: dict[str, Any], text: str) -> None:
        if len(self._tasks) >= 10 * _CONCURRENT:
            log.warning("POST %s is not keeping up; an event was dropped", self.url)
            return
        task = asyncio.create_task(self._post(event, text.encode("utf-8")))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, event: dict[str, Any], body: bytes) -> None:
        config = self.server.config
        headers = {
            "Content-Type": "application/json",
            "X-Self-ID": str(self.server.conv.self_id),
            "User-Agent": f"smartqq-onebot/{smartqq.__version__}",
        }
        if config.secret:
            headers["X-Signature"] = signature(config.secret, body)
        if config.access_token:
            # Not in the spec for reports, but NoneBot's receiver checks it when it has a token.
            headers["Authorization"] = f"Bearer {config.access_token}"
        async with self._slots:
            try:
                timeout = aiohttp.ClientTimeout(total=config.post_timeout or None)
                async with self.session.post(
                    self.url, data=body, headers=headers, timeout=timeout
                ) as resp:
                    answer = await resp.content.read(_MAX_ANSWER)
                    status = resp.status
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self._failures += 1
                if self._failures in (1, 10) or self._failures % 100 == 0:
                    log.warning("POST %s failed: %s", self.url, exc or type(exc).__name__)
                return
        self._failures = 0
        if status == 204 or not answer.strip():
            return
        if status >= 300:
            log.warning("POST %s answered HTTP %d", self.url, status)
            return
        try:
            operation = json.loads(answer)
        except (ValueError, RecursionError):
            log.warning("POST %s answered something that is not JSON", self.url)
            return
        if not isinstance(operation, dict) or not operation:
            return
        try:
            await self.server.actions.sender.quick_operation(event, operation)
        except ActionError as exc:
            log.warning("quick operation from %s failed: %s", self.url, exc.message)
        except smartqq.errors.SmartQQError as exc:
            log.warning("quick operation from %s failed: %s", self.url, exc)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        await cancel_and_wait(*tasks)
