"""Two gateways and two workers serve one account: every message answered exactly once."""

from __future__ import annotations

import asyncio
import collections
import random
import time
from pathlib import Path

from echo_app import handlers

from smartqq.cluster import ClusterConfig, Gateway, Worker, import_session
from smartqq.cluster.natsserver import NatsServer
from smartqq.emulator import BOT_QQ, Emulator

CFG = ClusterConfig(lease_ttl=3.0, ack_wait=5.0, partitions=4, send_timeout=20.0)


async def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_two_gateways_two_workers_answer_every_message_once(
    nats_server: NatsServer, cluster_emu: Emulator, session_file: Path
) -> None:
    rng = random.Random(18)
    assert await import_session(session_file, nats_server.url, CFG) == BOT_QQ
    url = nats_server.url
    gw = dict(base_url=cluster_emu.url, config=CFG, send_interval=0.0)
    async with (
        Gateway(url, name="g1", **gw) as g1,
        Gateway(url, name="g2", **gw) as g2,
        Worker(url, handlers, config=CFG, concurrency=2) as w1,
        Worker(url, handlers, config=CFG, concurrency=2) as w2,
    ):
        await wait_until(lambda: bool(g1.held | g2.held), 15, "a gateway to take the account")
        assert g1.held ^ g2.held == {BOT_QQ}  # exactly one holder
        senders = [10002, 10003, 10004]
        expected = []
        for i in range(30):
            who = rng.choice(senders)
            cluster_emu.user(who).send_buddy(BOT_QQ, f"m{i} from {who}")
            expected.append(f"echo: m{i} from {who}")
            if rng.random() < 0.3:
                await asyncio.sleep(rng.random() * 0.1)
        await wait_until(lambda: len(cluster_emu.sent) >= len(expected), 30, "all replies")
        await asyncio.sleep(0.5)  # a duplicate would arrive now
        assert w1.handled + w2.handled == len(expected)
        # Every poll went through the lease gate (the seam around the client's transport).
        runners = [r for g in (g1, g2) for r in g.runners.values()]
        assert len(runners) == 1
        assert runners[0].polls > 0
        assert runners[0].published == len(expected)
    counts = collections.Counter(r["text"] for r in cluster_emu.sent)
    assert counts == collections.Counter(expected)
    # Each chat's replies went out in the order its messages came in.
    for who in senders:
        mine = [r["text"] for r in cluster_emu.sent if r["text"].endswith(f"from {who}")]
        assert mine == [e for e in expected if e.endswith(f"from {who}")]
