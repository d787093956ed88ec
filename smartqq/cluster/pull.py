"""A durable JetStream pull consumer that notices when it has stalled and re-binds.

A pull request lives on the consumer's leader. When the node holding that
leader dies, requests already parked there are lost; later ones should reach
the newly elected leader, but the client can be left with a subscription that
times out on every fetch while messages pile up behind it (seen with three
nodes and one SIGKILLed). Nothing reports it: every fetch is just "no
messages yet". So this wrapper keeps count of how long fetches have come back
empty and then asks the consumer itself; when it has messages to give (and
room under ``max_ack_pending``) yet gives none, the subscription is dropped and
bound again. Repeated errors also re-bind. The durable consumer and its
acknowledgement state live on the server, so re-binding loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import Error as JsError

__all__ = ["DurablePull"]

log = logging.getLogger("smartqq.cluster.nats")

_ERRORS_BEFORE_REBIND = 3


class DurablePull:
    """Fetch from one durable pull consumer, re-binding when it stalls or keeps failing.

    :meth:`fetch` never raises NATS errors: it returns an empty list (after a
    short pause when something failed), so callers loop on it until they stop.
    """

    def __init__(
        self,
        js: JetStreamContext,
        subject: str,
        *,
        durable: str,
        stream: str,
        config: ConsumerConfig,
        stall_after: float = 3.0,
        retry_delay: float = 0.5,
    ) -> None:
        self.js = js
        self.subject = subject
        self.durable = durable
        self.stream = stream
        self.config = config
        self.stall_after = stall_after
        self.retry_delay = retry_delay
        self.rebinds = 0
        """How many times the subscription was dropped and bound again."""
        self._sub: JetStreamContext.PullSubscription | None = None
        self._idle_since: float | None = None
        self._errors = 0

    @property
    def bound(self) -> bool:
        return self._sub is not None

    async def bind(self) -> bool:
        """Bind (creating the consumer when missing); False, after a pause, when NATS refuses."""
        if self._sub is not None:
            return True
        try:
            self._sub = await self.js.pull_subscribe(
                self.subject, durable=self.durable, stream=self.stream, config=self.config
            )
        except (NatsError, JsError, OSError) as exc:
            log.info("consumer %s not ready (%s)", self.durable, type(exc).__name__)
            await asyncio.sleep(self.retry_delay)
            return False
        self._idle_since = time.monotonic()
        self._errors = 0
        return True

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to ``batch`` messages, or ``[]`` when none came within ``timeout``."""
        if not await self.bind():
            return []
        assert self._sub is not None
        try:
            msgs = await self._sub.fetch(batch, timeout=timeout)
        except NatsTimeout:
            self._errors = 0
            await self._check_stalled()
            return []
        except (NatsError, JsError, OSError) as exc:
            self._errors += 1
            if self._errors >= _ERRORS_BEFORE_REBIND:
                await self._rebind(f"{self._errors} failed fetches ({type(exc).__name__})")
            else:
                await asyncio.sleep(0.2)
            return []
        self._errors = 0
        self._idle_since = time.monotonic()
        return msgs

    async def _check_stalled(self) -> None:
        now = time.monotonic()
        if self._idle_since is None or now - self._idle_since < self.stall_after:
            return
        self._idle_since = now  # ask at most once per stall_after
        assert self._sub is not None
        try:
            info = await self._sub.consumer_info()
        except (NatsError, JsError, OSError):
            return  # the JetStream API itself is busy (a leader election): ask again later
        limit = self.config.max_ack_pending or 0
        room = limit <= 0 or (info.num_ack_pending or 0) < limit
        if (info.num_pending or 0) > 0 and room:
            await self._rebind(f"{info.num_pending} messages waiting but none delivered")

    async def _rebind(self, why: str) -> None:
        log.warning("consumer %s stalled: %s; binding again", self.durable, why)
        self.rebinds += 1
        await self.close()
        self._errors = 0

    async def close(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(NatsError, JsError, OSError):
                await sub.unsubscribe()
