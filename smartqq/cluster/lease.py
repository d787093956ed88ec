"""One gateway's hold on one account: a key in the ``smartqq_leases`` bucket.

Acquire is ``create`` (fails if the key exists); renew is ``update`` with the
revision we last wrote (fails if anyone else wrote since); the bucket's TTL
deletes a lease nobody renews. The holder renews every ``ttl / 3``.

The safety rule (never two pollers): the holder measures its own deadline
from the moment it *sent* the last successful renewal, which is before the
server stored it, so the local deadline is never later than the server's
expiry. Polling is allowed only until ``deadline - margin``; at that instant
:attr:`Lease.lost` is set and the account runner aborts its in-flight poll. The
margin (a third of the TTL) covers the time an aborted request needs to end and
timer slack, so the old holder has stopped before another gateway can create
the key. A holder that was frozen (SIGSTOP, a VM pause) wakes up past its
deadline: it must not poll again, and it finds that out before its next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from nats.errors import Error as NatsError
from nats.js.errors import Error as JsError
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from smartqq._tasks import cancel_and_wait

__all__ = ["Lease"]

log = logging.getLogger("smartqq.cluster.lease")


class Lease:
    """A held lease; create with :meth:`acquire`."""

    def __init__(self, kv: KeyValue, key: str, owner: str, ttl: float, revision: int) -> None:
        self.kv = kv
        self.key = key
        self.owner = owner
        self.ttl = ttl
        self.revision = revision
        self.margin = ttl / 3
        self.lost = asyncio.Event()
        self._renewed_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def acquire(cls, kv: KeyValue, key: str, owner: str, ttl: float) -> Lease | None:
        sent = time.monotonic()
        try:
            revision = await kv.create(key, owner.encode())
        except KeyWrongLastSequenceError:
            return None  # held by someone else
        lease = cls(kv, key, owner, ttl, revision)
        lease._renewed_at = sent
        return lease

    @property
    def deadline(self) -> float:
        """Monotonic time after which this holder must not be polling."""
        return self._renewed_at + self.ttl - self.margin

    def valid(self) -> bool:
        return not self.lost.is_set() and time.monotonic() < self.deadline

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._keep(), name=f"smartqq-lease:{self.key}"
        )

    async def _keep(self) -> None:
        interval = self.ttl / 3
        while not self.lost.is_set():
            now = time.monotonic()
            if now >= self.deadline:
                # Overslept (frozen, starved) or renewals kept failing: the lease may be gone.
                log.warning("lease %s: deadline passed; stopping", self.key)
                self.lost.set()
                return
            wake = min(now + interval, self.deadline)
            try:
                await asyncio.wait_for(self._renew_at(wake), timeout=self.deadline - now)
            except TimeoutError:
                log.warning("lease %s: renewal did not finish before the deadline", self.key)
                self.lost.set()
                return
            except KeyWrongLastSequenceError:
                log.warning("lease %s: taken over by another gateway", self.key)
                self.lost.set()
                return
            except (NatsError, JsError, OSError) as exc:
                # Transient (NATS restarting): retry until the deadline says otherwise.
                log.info("lease %s: renewal failed (%s); retrying", self.key, type(exc).__name__)
                await asyncio.sleep(min(0.2, max(0.0, self.deadline - time.monotonic())))

    async def _renew_at(self, when: float) -> None:
        delay = when - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.monotonic() >= self.deadline:
            raise TimeoutError
        sent = time.monotonic()
        self.revision = await self.kv.update(self.key, self.owner.encode(), last=self.revision)
        self._renewed_at = sent

    async def release(self) -> None:
        """Stop renewing; delete the key if it is still ours (a clean handover)."""
        self.lost.set()
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if time.monotonic() < self._renewed_at + self.ttl:
            with contextlib.suppress(NatsError, JsError, OSError):
                await self.kv.delete(self.key, last=self.revision)
