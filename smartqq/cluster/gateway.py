"""``smartqq.cluster.Gateway``: hold accounts through leases and serve them.

Every ``renew_every`` seconds a gateway lists the accounts in the sessions
bucket and tries to lease the ones it serves (``accounts``) that nobody holds,
up to its fair share: the number of accounts divided by the live gateways
(each gateway keeps a ``gateway.<name>`` key in the leases bucket, renewed like
a lease). When a gateway dies its leases and its membership key expire
together, the fair share of the others grows, and they take its accounts over
within one lease TTL plus one scan. An account nobody took for a whole lease
time is taken beyond the fair share (peers serving other ``--accounts``). A
gateway that cannot resume an account (the session is dead) leaves it alone
for ``retry_after`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js.errors import Error as JsError

from smartqq._tasks import cancel_and_wait

from .account import AccountRunner
from .config import (
    LEASES_BUCKET,
    SESSIONS_BUCKET,
    Buckets,
    ClusterConfig,
    connect,
    ensure_jetstream,
    list_keys,
)
from .lease import Lease

__all__ = ["Gateway"]

log = logging.getLogger("smartqq.cluster.gateway")


def _default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Gateway:
    """Own SmartQQ sessions for the cluster (see the module docstring)."""

    def __init__(
        self,
        nats_url: str | list[str],
        *,
        accounts: Iterable[int] | None = None,
        base_url: str | None = None,
        name: str | None = None,
        config: ClusterConfig | None = None,
        send_interval: float = 0.5,
        poll_timeout: float = 90.0,
        retry_after: float = 60.0,
        poll_hold: float = 60.0,
    ) -> None:
        self.nats_url = nats_url
        self.accounts = None if accounts is None else frozenset(accounts)
        self.base_url = base_url
        self.name = re.sub(r"[^A-Za-z0-9_-]", "_", name or _default_name())
        self.config = config or ClusterConfig()
        self.send_interval = send_interval
        self.poll_timeout = poll_timeout
        self.retry_after = retry_after
        self.poll_hold = poll_hold
        """How long the service may hold a poll, when the account's history does not say."""
        self.runners: dict[int, AccountRunner] = {}
        self.takeovers: list[tuple[int, float]] = []
        """(qq, monotonic time) of every account this gateway started serving."""
        self._tasks: dict[int, asyncio.Task[str]] = {}
        self._cooldown: dict[int, float] = {}
        self._free_since: dict[int, float] = {}
        self._nc: NATS | None = None
        self._buckets: Buckets | None = None
        self._ttl = self.config.lease_ttl
        self._member: Lease | None = None
        self._scan_task: asyncio.Task[None] | None = None
        self._workdir = ""
        self._stopping = False

    def __repr__(self) -> str:
        return f"<smartqq.cluster.Gateway {self.name} holding {sorted(self.runners)}>"

    @property
    def held(self) -> set[int]:
        """Accounts whose lease this gateway holds (their client may still be starting)."""
        return set(self.runners)

    @property
    def serving(self) -> set[int]:
        """Accounts whose session is restored and whose poll loop runs here."""
        return {qq for qq, runner in self.runners.items() if runner.serving}

    async def start(self) -> None:
        self._workdir = tempfile.mkdtemp(prefix="smartqq-gateway-")
        self._nc = await connect(self.nats_url, f"smartqq-gateway-{self.name}")
        js = self._nc.jetstream()
        self._buckets = await ensure_jetstream(js, self.config)
        self._ttl = self._buckets.lease_ttl
        self.config = replace(
            self.config, partitions=self._buckets.partitions, lease_ttl=self._buckets.lease_ttl
        )
        self._scan_task = asyncio.get_running_loop().create_task(
            self._scan_loop(), name="smartqq-gateway-scan"
        )

    async def _join(self) -> None:
        assert self._buckets is not None
        key = f"gateway.{self.name}"
        if self._member is None or self._member.lost.is_set():
            self._member = await Lease.acquire(self._buckets.leases, key, self.name, self._ttl)
            if self._member is not None:
                self._member.start()

    async def _scan_loop(self) -> None:
        first = True
        while not self._stopping:
            try:
                await self._join()
                if first:
                    # Let peers starting at the same moment register before taking a share.
                    first = False
                    await asyncio.sleep(self._ttl / 3)
                    continue
                await self._scan()
            except (NatsError, JsError, OSError) as exc:
                log.info("gateway %s: scan failed (%s)", self.name, type(exc).__name__)
            await asyncio.sleep(self._ttl / 3)

    async def _scan(self) -> None:
        assert self._buckets is not None
        assert self._nc is not None
        js = self._nc.jetstream()
        stored = {int(k) for k in await list_keys(js, SESSIONS_BUCKET) if k.isdigit()}
        leased = await list_keys(js, LEASES_BUCKET)
        wanted = stored if self.accounts is None else stored & self.accounts
        gateways = max(1, sum(1 for k in leased if k.startswith("gateway.")))
        share = math.ceil(len(wanted) / gateways)
        now = time.monotonic()
        free = {qq for qq in wanted if str(qq) not in leased and qq not in self.runners}
        self._free_since = {qq: self._free_since.get(qq, now) for qq in free}
        for qq in sorted(free):
            if self._stopping:
                return
            # Beyond the fair share only what nobody took for a whole lease time (peers
            # whose --accounts exclude it, or peers that are full).
            starving = now - self._free_since[qq] > self._ttl
            if (len(self.runners) >= share and not starving) or self._cooldown.get(qq, 0) > now:
                continue
            lease = await Lease.acquire(self._buckets.leases, str(qq), self.name, self._ttl)
            if lease is not None:
                self._serve(qq, lease)

    def _serve(self, qq: int, lease: Lease) -> None:
        assert self._nc is not None
        assert self._buckets is not None
        log.info("gateway %s: serving account %d", self.name, qq)
        runner = AccountRunner(
            qq,
            lease,
            self._nc,
            self._nc.jetstream(),
            self._buckets,
            self.config,
            workdir=self._workdir,
            base_url=self.base_url,
            send_interval=self.send_interval,
            poll_timeout=self.poll_timeout,
            default_hold=self.poll_hold,
        )
        self.runners[qq] = runner
        self.takeovers.append((qq, time.monotonic()))
        task = asyncio.get_running_loop().create_task(runner.run(), name=f"smartqq-account:{qq}")
        self._tasks[qq] = task
        task.add_done_callback(lambda t: self._ended(runner, t))

    def _ended(self, runner: AccountRunner, task: asyncio.Task[str]) -> None:
        qq = runner.qq
        self.runners.pop(qq, None)
        self._tasks.pop(qq, None)
        if task.cancelled():
            return
        exc = task.exception()
        reason = repr(exc) if exc is not None else task.result()
        log.warning("gateway %s: stopped serving %d: %s", self.name, qq, reason)
        if exc is not None or not runner.lost_lease:
            # The session ended or failed here: don't spin on it (another gateway may try).
            self._cooldown[qq] = time.monotonic() + self.retry_after

    async def stop(self) -> None:
        """Stop every account (publishing what was polled), release leases, disconnect."""
        self._stopping = True
        await cancel_and_wait(self._scan_task)
        for runner in list(self.runners.values()):
            runner.lease.lost.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks.values()), timeout=15.0)
        await cancel_and_wait(*self._tasks.values())
        if self._member is not None:
            await self._member.release()
        if self._nc is not None:
            with contextlib.suppress(NatsError, OSError):
                await self._nc.close()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
