"""Per-chat workers: arrival order per chat, chats concurrent, bounded, drained."""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Any

import pytest

from smartqq.errors import UsageError
from smartqq.events import BuddyMessage, Event, GroupMessage, MessageEvent, parse_event
from smartqq.runtime.dispatch import Dispatcher
from smartqq.runtime.workers import ChatWorkers


def message(chat: int, n: int, kind: str = "message") -> Event:
    value: dict[str, Any] = {"msg_id": n + 1, "from_uin": chat, "content": [f"{chat}:{n}"]}
    if kind == "group_message":
        value["send_uin"] = 7
    return parse_event({"poll_type": kind, "value": value})


async def test_no_message_out_of_order_within_a_chat_under_concurrency() -> None:
    d = Dispatcher(owner=None, max_workers=16)
    seen: dict[int, list[int]] = {}
    rng = random.Random(7)

    @d.router.on(MessageEvent)
    async def handler(msg: MessageEvent) -> None:
        await asyncio.sleep(rng.random() * 0.002)
        chat, n = map(int, msg.text.split(":"))
        seen.setdefault(chat, []).append(n)

    for n in range(20):
        for chat in range(1, 41):
            d.dispatch(message(chat, n))
    await d.drain(timeout=30)
    assert len(seen) == 40
    out_of_order = sum(1 for ns in seen.values() for a, b in itertools.pairwise(ns) if b < a)
    assert out_of_order == 0
    assert all(ns == list(range(20)) for ns in seen.values())
    assert not d.tasks


async def test_task_mode_can_reorder_and_chat_mode_cannot() -> None:
    # The same slow-first workload in both modes: only task-per-call lets the
    # second message of a chat overtake the first.
    async def run(mode: str) -> list[str]:
        d = Dispatcher(owner=None, concurrency=mode)  # type: ignore[arg-type]
        done: list[str] = []

        @d.router.on(MessageEvent)
        async def handler(msg: MessageEvent) -> None:
            if msg.text.endswith(":0"):
                await asyncio.sleep(0.05)
            done.append(msg.text)

        d.dispatch(message(1, 0))
        d.dispatch(message(1, 1))
        await d.drain(timeout=5)
        return done

    assert await run("chat") == ["1:0", "1:1"]
    assert await run("task") == ["1:1", "1:0"]
    with pytest.raises(UsageError):
        Dispatcher(owner=None, concurrency="thread")  # type: ignore[arg-type]


async def test_a_slow_handler_delays_only_its_own_chat() -> None:
    d = Dispatcher(owner=None)
    gate = asyncio.Event()
    done: list[str] = []

    @d.router.on(MessageEvent)
    async def handler(msg: MessageEvent) -> None:
        if msg.text == "1:0":
            await gate.wait()
        done.append(msg.text)

    d.dispatch(message(1, 0))
    d.dispatch(message(1, 1))
    d.dispatch(message(2, 0))
    d.dispatch(message(2, 0, kind="group_message"))  # group 2 is another chat than buddy 2
    for _ in range(20):
        await asyncio.sleep(0)
    assert done == ["2:0", "2:0"]  # chat 1 waits for its slow first message
    gate.set()
    await d.drain(timeout=5)
    assert done == ["2:0", "2:0", "1:0", "1:1"]


async def test_exceptions_stay_isolated_and_the_worker_goes_on() -> None:
    failures: list[str] = []
    d = Dispatcher(owner=None, error_hook=lambda exc, ev, h: failures.append(str(exc)))
    done: list[str] = []

    @d.router.on(BuddyMessage)
    async def handler(msg: BuddyMessage) -> None:
        if msg.text == "1:1":
            raise RuntimeError("bad one")
        done.append(msg.text)

    for n in range(3):
        d.dispatch(message(1, n))
    await d.drain(timeout=5)
    assert done == ["1:0", "1:2"]
    assert failures == ["bad one"]


async def test_workers_are_bounded_and_reused_for_waiting_chats() -> None:
    d = Dispatcher(owner=None, max_workers=2)
    peak = 0
    done: list[str] = []

    @d.router.on(MessageEvent)
    async def handler(msg: MessageEvent) -> None:
        nonlocal peak
        peak = max(peak, d.workers.workers, len(d.tasks))
        await asyncio.sleep(0.001)
        done.append(msg.text)

    for chat in range(1, 7):
        d.dispatch(message(chat, 0))
        d.dispatch(message(chat, 1))
    await d.drain(timeout=10)
    assert peak == 2
    assert sorted(done) == sorted(f"{c}:{n}" for c in range(1, 7) for n in range(2))
    for c in range(1, 7):  # per chat, still in order
        assert [t for t in done if t.startswith(f"{c}:")] == [f"{c}:0", f"{c}:1"]
    assert d.workers.workers == 0


async def test_idle_workers_linger_then_retire() -> None:
    ran: list[str] = []
    tasks: set[asyncio.Task[None]] = set()

    async def run(item: str) -> None:
        ran.append(item)

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, idle=0.02)
    workers.submit("a", "1")
    await asyncio.sleep(0)
    assert ran == ["1"]
    assert len(tasks) == 1  # lingering, waiting for more of chat "a"
    first = next(iter(tasks))
    workers.submit("a", "2")
    await asyncio.sleep(0)
    assert ran == ["1", "2"]
    assert tasks == {first}  # the same task took the second message
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert not tasks
    assert workers.workers == 0
    with pytest.raises(ValueError):
        ChatWorkers(run, tasks, max_workers=0)


async def test_drain_cancels_what_outlives_the_grace_time(caplog: pytest.LogCaptureFixture) -> None:
    d = Dispatcher(owner=None)
    finished: list[str] = []

    @d.router.on(MessageEvent)
    async def slow(msg: MessageEvent) -> None:
        await asyncio.sleep(30)
        finished.append(msg.text)

    d.dispatch(message(1, 0))
    d.dispatch(message(1, 1))
    await asyncio.sleep(0)
    await d.drain(timeout=0.05)
    assert finished == []
    assert not d.tasks
    assert "stopped with 1 events not handled" in caplog.text
    assert d.workers.pending() == 0


async def test_wait_for_in_a_handler_is_matched_before_the_chat_queue() -> None:
    d = Dispatcher(owner=None)
    got: list[str] = []

    @d.router.on(GroupMessage)
    async def conversation(msg: GroupMessage) -> None:
        if msg.text.endswith(":0"):
            nxt = await d.wait_for(GroupMessage, chat=msg.chat_key, timeout=5)
            got.append("answer " + nxt.text)
        else:
            got.append("handled " + msg.text)

    d.dispatch(message(1, 0, kind="group_message"))
    await asyncio.sleep(0)
    d.dispatch(message(1, 1, kind="group_message"))  # not consumed: the handler sees it too
    await d.drain(timeout=5)
    assert got == ["answer 1:1", "handled 1:1"]


async def test_per_class_plans_are_cached_and_invalidated() -> None:
    d = Dispatcher(owner=None)
    calls: list[str] = []
    d.register(BuddyMessage, lambda e: calls.append("buddy"))
    d.dispatch(message(1, 0))
    assert BuddyMessage in d.router._plans
    plan = d.router._plans[BuddyMessage]
    d.dispatch(message(1, 1))
    assert d.router._plans[BuddyMessage] is plan  # reused, not rebuilt
    assert d.dispatch(message(1, 2, kind="group_message")) == 0
    d.register(MessageEvent, lambda e: calls.append("any"))
    assert BuddyMessage not in d.router._plans  # registration dropped the cache
    d.dispatch(message(1, 3))
    assert calls == ["buddy", "buddy", "buddy", "any"]
