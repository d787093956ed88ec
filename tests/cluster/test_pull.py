"""What keeps replies flowing through a NATS leader election, against a real nats-server.

A three-node cluster losing a node (tests/cluster/test_three_nodes.py) shows
both faults, but only now and then; here each is produced on purpose: a pull
subscription whose requests reach no consumer leader, and a results bucket
that does not answer (or answers too late) while a reply is being marked.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import nats
from chaos import wait_until
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import NoStreamResponseError

from smartqq import BuddyMessage
from smartqq.cluster import ClusterConfig, Gateway, Handlers, Worker, import_session
from smartqq.cluster.account import AccountRunner
from smartqq.cluster.codec import parse_reply
from smartqq.cluster.natsserver import NatsServer
from smartqq.cluster.pull import DurablePull
from smartqq.emulator import BOT_QQ, Emulator

CFG = ClusterConfig(lease_ttl=2.0, ack_wait=4.0, partitions=2, send_timeout=15.0)


async def test_a_stalled_pull_subscription_is_bound_again(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="T", subjects=["t.>"]))
        config = ConsumerConfig(durable_name="d", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=4)
        pull = DurablePull(js, "t.x", durable="d", stream="T", config=config, stall_after=0.3)
        assert await pull.bind()
        # What a lost consumer leader looks like from here: requests reach nobody.
        assert pull._sub is not None
        pull._sub._nms = "$JS.API.CONSUMER.MSG.NEXT.T.nobody"
        for i in range(3):
            await js.publish("t.x", f"m{i}".encode())
        got: list[bytes] = []
        for _ in range(20):
            for msg in await pull.fetch(4, timeout=0.2):
                got.append(msg.data)
                await msg.ack()
            if len(got) == 3:
                break
        assert got == [b"m0", b"m1", b"m2"]
        assert pull.rebinds == 1
        # An idle consumer with nothing waiting is left alone.
        for _ in range(3):
            assert await pull.fetch(4, timeout=0.2) == []
        assert pull.rebinds == 1
        await pull.close()
        assert not pull.bound
    finally:
        await nc.close()


class _UnsteadyResults:
    """The results bucket during an election: ``create`` fails ``failures`` times.

    With ``written=True`` the write lands but its acknowledgement is lost (the
    harder case: the mark exists, yet nothing was sent).
    """

    def __init__(self, inner: Any, failures: int, *, written: bool) -> None:
        self.inner = inner
        self.failures = failures
        self.written = written
        self.refused = 0

    async def create(self, key: str, value: bytes) -> int:
        if self.failures:
            self.failures -= 1
            self.refused += 1
            if self.written:
                await self.inner.create(key, value)
                raise NatsTimeout
            raise NoStreamResponseError
        revision: int = await self.inner.create(key, value)
        return revision

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _replies_survive(
    nats_server: NatsServer, emu: Emulator, session_file: Path, *, written: bool
) -> tuple[list[str], AccountRunner, _UnsteadyResults]:
    handlers = Handlers()

    @handlers.on(BuddyMessage)
    async def echo(msg: BuddyMessage) -> None:
        await msg.reply(f"echo: {msg.text}")

    await import_session(session_file, nats_server.url, CFG)
    gw = Gateway(nats_server.url, base_url=emu.url, config=CFG, send_interval=0.0, name="g")
    wk = Worker(nats_server.url, handlers, config=CFG)
    await gw.start()
    try:
        await wait_until(lambda: gw.held == {BOT_QQ}, 15, "the gateway to hold the account")
        runner = gw.runners[BOT_QQ]
        unsteady = _UnsteadyResults(runner.buckets.results, 2, written=written)
        runner.buckets = dataclasses.replace(runner.buckets, results=unsteady)
        await wk.start()
        try:
            for text in ("one", "two", "three"):
                emu.user(10002).send_buddy(BOT_QQ, text)
            await wait_until(lambda: len(emu.sent) >= 3, 20, "three replies")
            await wait_until(lambda: wk.handled >= 3, 10, "the handlers to finish")
        finally:
            await wk.stop()
        assert gw.held == {BOT_QQ}  # the send loop never ended
    finally:
        await gw.stop()
    return [r["text"] for r in emu.sent], runner, unsteady


async def test_an_unanswered_results_bucket_delays_replies_and_loses_none(
    nats_server: NatsServer, cluster_emu: Emulator, session_file: Path
) -> None:
    texts, runner, unsteady = await _replies_survive(
        nats_server, cluster_emu, session_file, written=False
    )
    assert unsteady.refused == 2
    assert texts == ["echo: one", "echo: two", "echo: three"]  # once each, in order
    assert runner.sent == 3


async def test_a_mark_whose_acknowledgement_was_lost_is_recognised_as_ours(
    nats_server: NatsServer, cluster_emu: Emulator, session_file: Path
) -> None:
    texts, runner, unsteady = await _replies_survive(
        nats_server, cluster_emu, session_file, written=True
    )
    assert unsteady.refused == 2
    # Not "uncertain": this gateway wrote the mark and knows it sent nothing yet.
    assert texts == ["echo: one", "echo: two", "echo: three"]
    assert runner.sent == 3
    assert runner._marks == {}


def test_pending_marks_of_any_attempt_read_as_pending() -> None:
    assert parse_reply(b"pending") is None
    assert parse_reply(b"pending:0123abcd") is None
    assert parse_reply(b'{"ok":false,"error":"nope"}') == "nope"
