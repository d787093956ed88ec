"""A toolkit Router (a command, a filter, outer middleware) run by two workers."""

from __future__ import annotations

from pathlib import Path

import router_app
from chaos import wait_until

from smartqq.cluster import ClusterConfig, Gateway, Worker, import_session
from smartqq.cluster.natsserver import NatsServer
from smartqq.emulator import BOT_QQ, Emulator

CFG = ClusterConfig(lease_ttl=3.0, ack_wait=5.0, partitions=4)


async def test_a_router_with_commands_filters_and_middleware_runs_in_workers(
    nats_server: NatsServer, cluster_emu: Emulator, session_file: Path
) -> None:
    await import_session(session_file, nats_server.url, CFG)
    async with (
        Gateway(nats_server.url, base_url=cluster_emu.url, config=CFG, send_interval=0.0) as gw,
        Worker(nats_server.url, router_app.router, config=CFG) as w1,
        Worker(nats_server.url, router_app.router, config=CFG) as w2,
    ):
        await wait_until(lambda: gw.held, 15, "the lease")
        alice = cluster_emu.user(10002)
        alice.send_buddy(BOT_QQ, "/ping")
        alice.send_buddy(BOT_QQ, "hello there")
        alice.send_buddy(BOT_QQ, "nothing for us")
        await wait_until(lambda: w1.handled + w2.handled == 3, 20, "three events")
        await wait_until(lambda: len(cluster_emu.sent) >= 2, 20, "two replies")
    assert [r["text"] for r in cluster_emu.sent] == ["pong", "hello to you"]
    assert sorted(router_app.seen) == sorted(["/ping", "hello there", "nothing for us"])
