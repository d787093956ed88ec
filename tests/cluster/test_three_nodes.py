"""The production shape on loopback: three nats-server nodes, every stream and bucket R3.

One node is SIGKILLed mid-run; the cluster keeps a quorum, the clients
reconnect to the others, and every message is still answered exactly once.
"""

from __future__ import annotations

import asyncio
import collections
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos import wait_until
from echo_app import handlers

from smartqq.cluster import ClusterConfig, Gateway, Worker, import_session
from smartqq.cluster.natsserver import NatsServer, free_port
from smartqq.emulator import BOT_QQ, Emulator

CFG = ClusterConfig(lease_ttl=3.0, ack_wait=5.0, partitions=4, replicas=3, send_timeout=30.0)


@pytest.fixture
def three_nodes(tmp_path: Path) -> Iterator[list[NatsServer]]:
    routes = [free_port() for _ in range(3)]
    nodes = [
        NatsServer(tmp_path / "nats", name=f"n{i + 1}", cluster_port=routes[i], routes=routes)
        for i in range(3)
    ]
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.stop()


async def _import_when_ready(session: Path, urls: list[str]) -> None:
    # JetStream needs a meta leader (elected once the routes are up) before R3 assets exist.
    for _ in range(60):
        try:
            await import_session(session, urls, CFG)
            return
        except Exception:
            await asyncio.sleep(0.5)
    await import_session(session, urls, CFG)


async def test_three_node_cluster_survives_losing_a_node(
    three_nodes: list[NatsServer], cluster_emu: Emulator, session_file: Path
) -> None:
    rng = random.Random(3)
    urls = [n.url for n in three_nodes]
    await _import_when_ready(session_file, urls)
    expected: list[str] = []

    def send(n: int) -> None:
        for _ in range(n):
            who = rng.choice((10002, 10003, 10004))
            text = f"m{len(expected)} from {who}"
            cluster_emu.user(who).send_buddy(BOT_QQ, text)
            expected.append(f"echo: {text}")

    gw_args = dict(base_url=cluster_emu.url, config=CFG, send_interval=0.0)
    async with (
        Gateway(urls, name="g1", **gw_args) as g1,
        Gateway(list(reversed(urls)), name="g2", **gw_args) as g2,
        Worker(urls, handlers, config=CFG) as w1,
        Worker(list(reversed(urls)), handlers, config=CFG) as w2,
    ):
        await wait_until(lambda: bool(g1.held | g2.held), 30, "a lease holder")
        send(10)
        await wait_until(lambda: len(cluster_emu.sent) >= 10, 30, "the first replies")
        three_nodes[0].stop(kill=True)
        for _ in range(10):
            send(1)
            await asyncio.sleep(0.1)
        await wait_until(lambda: len(cluster_emu.sent) >= len(expected), 60, "every reply")
        await asyncio.sleep(1.0)
        assert w1.handled + w2.handled >= len(expected)
    counts = collections.Counter(r["text"] for r in cluster_emu.sent)
    assert counts == collections.Counter(expected)
