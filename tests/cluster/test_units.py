"""Cluster pieces against a real nats-server: codec, lease, send outcomes, CLI, account states."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import nats
import pytest
from chaos import wait_until

from smartqq import BuddyMessage, GroupMessage
from smartqq.cli import amain
from smartqq.cluster import (
    ClusterConfig,
    Gateway,
    Handlers,
    RemoteSendError,
    Worker,
    import_session,
)
from smartqq.cluster.app import load_app
from smartqq.cluster.codec import (
    decode_event,
    decode_send,
    encode_event,
    encode_send,
    event_key,
    events_subject,
    result_key,
)
from smartqq.cluster.config import SESSIONS_BUCKET, ensure_jetstream
from smartqq.cluster.lease import Lease
from smartqq.cluster.natsserver import NatsServer
from smartqq.content import Content, Face, Font
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.errors import UsageError
from smartqq.events import UnknownEvent, parse_event
from smartqq.models import SendStatus

CFG = ClusterConfig(lease_ttl=2.0, ack_wait=4.0, partitions=4, send_timeout=10.0)

GROUP_EL = {
    "poll_type": "group_message",
    "value": {
        "msg_id": 77,
        "from_uin": 5001,
        "to_uin": BOT_QQ,
        "send_uin": 6001,
        "group_code": 9,
        "time": 1_500_000_000,
        "content": [
            ["font", {"name": "x", "size": 10, "style": [0, 0, 0], "color": "000000"}],
            "hi ",
            ["face", 14],
        ],
    },
}


# -- codec ----------------------------------------------------------------------------


def test_events_survive_the_wire_and_keep_their_dedup_key() -> None:
    ev = parse_event(GROUP_EL)
    back = decode_event(encode_event(ev))
    assert isinstance(back, GroupMessage)
    assert back == ev
    assert back.content.segments == ev.content.segments
    assert event_key(BOT_QQ, back) == f"{BOT_QQ}.group_message.77.5001"
    odd = parse_event({"poll_type": "brand_new", "value": {"x": [1]}})
    assert isinstance(odd, UnknownEvent)
    again = decode_event(encode_event(odd))
    assert isinstance(again, UnknownEvent)
    assert again.type_name == "brand_new"
    assert again.value == {"x": [1]}
    assert event_key(BOT_QQ, odd) is None
    with pytest.raises(ValueError):
        decode_event(b"[1, 2]")


def test_a_chat_always_maps_to_one_partition_and_chats_spread() -> None:
    def buddy(sender: int, msg_id: int) -> BuddyMessage:
        return BuddyMessage(msg_id=msg_id, from_uin=sender, content=Content.of("x"))

    subjects = {events_subject(BOT_QQ, buddy(7, i), 8) for i in range(1, 20)}
    assert len(subjects) == 1
    (one,) = subjects
    assert one.startswith(f"smartqq.{BOT_QQ}.events.message.")
    spread = {events_subject(BOT_QQ, buddy(s, 1), 8) for s in range(100)}
    assert len(spread) == 8


def test_send_requests_round_trip_content_and_font() -> None:
    ev = parse_event(GROUP_EL)
    assert isinstance(ev, GroupMessage)
    font = Font(name="Arial", size=12)
    event, content, got_font = decode_send(encode_send(ev, Content.of("a ", Face(2)), font))
    assert event == ev
    assert content.segments == Content.of("a ", Face(2)).segments
    assert got_font == font
    assert len(result_key("x" * 500)) == 40


# -- lease ----------------------------------------------------------------------------


async def test_a_lease_is_exclusive_renewed_and_expires(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        buckets = await ensure_jetstream(nc.jetstream(), CFG)
        a = await Lease.acquire(buckets.leases, "42", "a", CFG.lease_ttl)
        assert a is not None
        assert await Lease.acquire(buckets.leases, "42", "b", CFG.lease_ttl) is None
        a.start()
        await asyncio.sleep(CFG.lease_ttl * 1.5)  # renewed meanwhile
        assert a.valid()
        assert await Lease.acquire(buckets.leases, "42", "b", CFG.lease_ttl) is None
        await a.release()  # a clean handover: free at once
        assert not a.valid()
        b = await Lease.acquire(buckets.leases, "42", "b", CFG.lease_ttl)
        assert b is not None  # never started: nobody renews it
        deadline = time.monotonic() + 10
        c = None
        while c is None and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            c = await Lease.acquire(buckets.leases, "42", "c", CFG.lease_ttl)
        assert c is not None, "an unrenewed lease did not expire"
        assert not b.valid()  # its own clock says so too
    finally:
        await nc.close()


def test_config_is_checked() -> None:
    with pytest.raises(UsageError):
        ClusterConfig(lease_ttl=0.1)
    with pytest.raises(UsageError):
        ClusterConfig(replicas=2)
    with pytest.raises(UsageError):
        ClusterConfig(results_ttl=10, dedup_window=60)
    with pytest.raises(UsageError):
        load_app("no_colon")
    with pytest.raises(UsageError):
        load_app("echo_app:nothing_here")
    with pytest.raises(UsageError):
        Worker("nats://127.0.0.1:1", object())


# -- sends: uncertain and failing replies ----------------------------------------------


async def _serve(
    nats_server: NatsServer, emu: Emulator, session_file: Path, handlers: Handlers
) -> tuple[Gateway, Worker]:
    await import_session(session_file, nats_server.url, CFG)
    gw = Gateway(nats_server.url, base_url=emu.url, config=CFG, send_interval=0.0, name="g")
    wk = Worker(nats_server.url, handlers, config=CFG, accounts=[BOT_QQ, 99999])
    await gw.start()
    await wk.start()
    # Serving, not only holding: a kick while the stored session is still being restored
    # reads as a dead session (needs-login), not as a kick (ended).
    await wait_until(lambda: gw.serving == {BOT_QQ}, 15, "the gateway to serve the account")
    return gw, wk


async def test_a_send_in_flight_at_takeover_is_uncertain_and_never_resent(
    nats_server: NatsServer, cluster_emu: Emulator, session_file: Path
) -> None:
    handlers = Handlers()
    outcomes: list[Any] = []

    @handlers.on(BuddyMessage)
    async def answer(msg: BuddyMessage) -> None:
        replier = msg.client
        if msg.text == "pending":
            # What a gateway that died mid-send leaves behind for this reply's id.
            ctx = replier.handling[id(msg)]
            results = replier._worker._buckets.results
            await results.create(result_key(f"{ctx.key}.r0"), b"pending")
        try:
            outcomes.append(await msg.reply(f"re: {msg.text}"))
        except RemoteSendError as exc:
            outcomes.append(exc)
        with pytest.raises(UsageError):
            await msg.reply("   ")

    gw, wk = await _serve(nats_server, cluster_emu, session_file, handlers)
    try:
        cluster_emu.user(10002).send_buddy(BOT_QQ, "pending")
        await wait_until(lambda: len(outcomes) == 1, 20, "the first outcome")
        cluster_emu.user(10002).send_buddy(BOT_QQ, "normal")
        await wait_until(lambda: len(outcomes) == 2, 20, "the second outcome")
    finally:
        await wk.stop()
        await gw.stop()
    first, second = outcomes
    assert first.status is SendStatus.UNCERTAIN
    assert first.msg_ids == ()
    assert second.status is SendStatus.SENT
    assert len(second.msg_ids) == 1
    assert [r["text"] for r in cluster_emu.sent] == ["re: normal"]


async def test_gateway_errors_reach_the_handler(
    nats_server: NatsServer, cluster_emu: Emulator, session_file: Path
) -> None:
    handlers = Handlers()
    errors: list[BaseException] = []

    @handlers.on(BuddyMessage)
    async def answer(msg: BuddyMessage) -> None:
        try:
            await msg.client.reply_to(msg.model_copy(update={"from_uin": 123}), "to nobody")
        except RemoteSendError as exc:
            errors.append(exc)

    gw, wk = await _serve(nats_server, cluster_emu, session_file, handlers)
    try:
        cluster_emu.user(10002).send_buddy(BOT_QQ, "hello")
        await wait_until(lambda: errors, 20, "the error")
    finally:
        await wk.stop()
        await gw.stop()
    assert "UsageError" in str(errors[0])
    assert cluster_emu.sent == []


# -- account states -----------------------------------------------------------------


async def _state(url: str) -> str:
    nc = await nats.connect(url)
    try:
        kv = await nc.jetstream().key_value(SESSIONS_BUCKET)
        entry = await kv.get(str(BOT_QQ))
        assert entry.value is not None
        return str(json.loads(entry.value)["state"])
    finally:
        await nc.close()


async def test_a_kicked_account_is_marked_ended_and_left_alone(
    nats_server: NatsServer, cluster_emu: Emulator, session_file: Path
) -> None:
    gw, wk = await _serve(nats_server, cluster_emu, session_file, Handlers())
    try:
        assert cluster_emu.kick(BOT_QQ)
        await wait_until(lambda: not gw.held, 15, "the gateway to let go")
        await asyncio.sleep(CFG.lease_ttl)  # no retake
        assert not gw.held
    finally:
        await wk.stop()
        await gw.stop()
    assert await _state(nats_server.url) == "ended"


async def test_a_dead_session_is_marked_needs_login(
    nats_server: NatsServer, cluster_emu: Emulator, session_file: Path
) -> None:
    await cluster_emu.restart(keep_logins=False)
    await import_session(session_file, nats_server.url, CFG)
    async with Gateway(nats_server.url, base_url=cluster_emu.url, config=CFG) as gw:
        await wait_until(lambda: gw.takeovers, 15, "an attempt")
        await wait_until(lambda: not gw.held, 15, "the gateway to give up")
    assert await _state(nats_server.url) == "needs-login"


# -- command line -------------------------------------------------------------------


async def test_import_session_command(
    nats_server: NatsServer, session_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await amain(["cluster", "import-session", str(session_file), "--nats", nats_server.url])
    assert code == 0
    assert f"imported the session of {BOT_QQ}" in capsys.readouterr().out
    assert await _state(nats_server.url) == "active"
    missing = tmp_path / "missing.session"
    assert await amain(["cluster", "import-session", str(missing), "--nats", nats_server.url]) == 1
    assert "cannot read session file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        await amain(["gateway", "--accounts", "12,abc"])
    assert bad.value.code == 2


async def test_the_worker_replier_is_a_replier_and_refuses_ask() -> None:
    from smartqq.events import Replier

    worker = Worker("nats://127.0.0.1:1", Handlers())
    replier: Replier = worker.replier  # the structural type check is mypy's (tests: runtime)
    msg = BuddyMessage(msg_id=1, from_uin=5, content=Content.of("x"))
    with pytest.raises(UsageError, match="not available"):
        await replier.ask(msg, "name?")
    with pytest.raises(UsageError, match="not being handled"):
        await replier.reply_to(msg, "hi")
    assert await replier.display_name_for(msg) == "5"


async def test_partitions_and_lease_ttl_are_decided_by_the_first_process(
    nats_server: NatsServer,
) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        first = await ensure_jetstream(nc.jetstream(), ClusterConfig(partitions=8, lease_ttl=4))
        later = await ensure_jetstream(nc.jetstream(), ClusterConfig(partitions=32, lease_ttl=9))
    finally:
        await nc.close()
    assert (first.partitions, first.lease_ttl) == (8, 4)
    assert (later.partitions, later.lease_ttl) == (8, 4)  # what the streams say, not the flags


async def test_an_unreadable_event_is_dropped_and_the_partition_goes_on(
    nats_server: NatsServer,
) -> None:
    cfg = ClusterConfig(partitions=1, ack_wait=2.0)
    handlers = Handlers()
    got: list[str] = []

    @handlers.on(BuddyMessage)
    def record(msg: BuddyMessage) -> None:
        got.append(msg.text)

    good = {"poll_type": "message", "value": {"msg_id": 9, "from_uin": 4, "content": ["ok"]}}
    async with Worker(nats_server.url, handlers, config=cfg) as wk:
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            await js.publish(f"smartqq.{BOT_QQ}.events.message.0", b"{not json")
            await js.publish(f"smartqq.{BOT_QQ}.events.message.0", json.dumps(good).encode())
            await wait_until(lambda: got, 15, "the good event")
        finally:
            await nc.close()
    assert got == ["ok"]
    assert wk.handled == 1
