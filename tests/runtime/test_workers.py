"""Per-chat workers: arrival order per chat, chats concurrent, bounded, drained."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import random
from collections import deque
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


async def test_jobs_that_never_wait_share_one_runner_task() -> None:
    ran: list[str] = []
    tasks: set[asyncio.Task[None]] = set()

    async def run(item: str) -> None:
        ran.append(item)

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, idle=0.01)
    for chat in "abcdefg":
        workers.submit(chat, f"{chat}1")
        workers.submit(chat, f"{chat}2")
    assert ran == []  # queued: the runner starts after the dispatch loop
    assert [t.get_name() for t in tasks] == ["smartqq-chats"]  # one task for all chats
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert ran == [f"{c}{n}" for c in "abcdefg" for n in (1, 2)]
    assert workers.workers == 0
    assert not workers.queues
    with pytest.raises(ValueError, match="max_workers"):
        ChatWorkers(run, tasks, max_workers=0)
    with pytest.raises(ValueError, match="idle"):
        ChatWorkers(run, tasks, idle=-1)


async def test_the_runner_parks_between_batches_then_retires_when_idle() -> None:
    ran: list[str] = []
    tasks: set[asyncio.Task[None]] = set()

    async def run(item: str) -> None:
        ran.append(item)

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, idle=0.05)
    workers.submit("a", "1")
    workers.submit("b", "2")
    await asyncio.sleep(0)
    assert ran == ["1", "2"]
    [runner] = tasks  # parked, waiting for the next batch
    assert workers.busy == 0
    workers.submit("c", "3")
    for _ in range(3):  # the wake-up, then the runner's step
        await asyncio.sleep(0)
    assert ran == ["1", "2", "3"]
    assert tasks == {runner}  # the same task took the next batch
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert runner.done()
    assert workers.workers == 0
    workers.submit("d", "4")  # a new runner after the old one retired
    for _ in range(3):
        await asyncio.sleep(0)
    assert ran[-1] == "4"
    workers.close_idle()  # what drain does: the parked runner retires at once
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert not tasks
    workers.reopen()


async def test_a_job_that_waits_gets_a_task_for_its_chat_and_the_rest_go_on() -> None:
    ran: list[str] = []
    tasks: set[asyncio.Task[None]] = set()
    gate = asyncio.Event()

    async def run(item: str) -> None:
        ran.append(f"start {item}")
        if item == "a1":
            await gate.wait()
        ran.append(f"end {item}")

    async def quick(item: str) -> None:  # another kind of job: never waits
        ran.append(f"quick {item}")

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, idle=0.01)
    workers.submit("a", "a1")
    workers.submit("a", "a2")  # behind the waiting one
    workers.call("b", quick, "b1", None)  # another chat: not held up
    while any(t.get_name() == "smartqq-chats" for t in tasks):
        await asyncio.sleep(0)
    assert ran == ["start a1", "quick b1"]
    assert [t.get_name() for t in tasks] == ["smartqq-chat:a"]  # the runner is done
    assert workers.pending() == 1
    assert workers.busy == 1
    # `run` waited once: an idle chat's job of that kind gets its own worker at once.
    workers.submit("c", "c1")
    assert "smartqq-chat:c" in {t.get_name() for t in tasks}
    gate.set()
    while tasks:
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert ran == [
        "start a1",
        "quick b1",
        "start c1",
        "end c1",
        "end a1",
        "start a2",
        "end a2",
    ]
    assert workers.workers == 0
    assert not workers.queues  # retired


async def test_a_waiting_job_keeps_the_context_it_set_before_waiting() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outside")
    seen: list[str] = []
    tasks: set[asyncio.Task[None]] = set()

    async def run(item: str) -> None:
        var.set(item)
        await asyncio.sleep(0.001)
        seen.append(var.get())

    workers: ChatWorkers[str] = ChatWorkers(
        run, tasks, idle=0.01, enter=lambda: seen.append("entered")
    )
    workers.submit("a", "mine")
    for _ in range(3):
        await asyncio.gather(*tasks)
    assert var.get() == "outside"  # the job's setting stayed out of the caller's context
    assert seen == ["entered", "mine"]


async def test_a_job_that_dispatches_to_its_own_chat_goes_first() -> None:
    order: list[str] = []
    tasks: set[asyncio.Task[None]] = set()
    workers: ChatWorkers[str]

    async def run(item: str) -> None:
        if item == "outer":
            workers.submit("a", "inner")  # re-entrant, same chat: after this one
            workers.submit("b", "other")
        order.append(item)

    workers = ChatWorkers(run, tasks, idle=0.01)
    workers.submit("a", "outer")
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert order == ["outer", "inner", "other"]
    assert not workers.queues


async def test_cancelling_a_chat_task_reaches_the_waiting_handler() -> None:
    tasks: set[asyncio.Task[None]] = set()
    saw: list[str] = []

    async def run(item: str) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            saw.append("cancelled")
            raise

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, idle=0.01)
    workers.submit("a", "x")
    for _ in range(3):
        await asyncio.sleep(0)
    [task] = tasks
    assert task.get_name() == "smartqq-chat:a"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert saw == ["cancelled"]
    assert workers.workers == 0


async def test_errors_before_and_after_waiting_are_reported_and_the_chat_goes_on() -> None:
    tasks: set[asyncio.Task[None]] = set()
    errors: list[tuple[str, Any]] = []
    done: list[str] = []

    async def on_error(exc: Exception, arg: Any, tag: Any) -> None:
        errors.append((str(exc), arg))

    async def run(item: str) -> None:
        if item.startswith("late"):
            await asyncio.sleep(0)
        if item.endswith("bad"):
            raise RuntimeError(item)
        done.append(item)

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, idle=0.01, on_error=on_error)
    for item in ("early bad", "early ok", "late bad", "late ok"):
        workers.submit("a", item)
    while tasks:
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert sorted(errors) == [("early bad", "early bad"), ("late bad", "late bad")]
    assert done == ["early ok", "late ok"]


async def test_at_the_bound_the_runner_waits_and_the_chats_behind_it_wait_in_line() -> None:
    tasks: set[asyncio.Task[None]] = set()
    gate = asyncio.Event()
    ran: list[str] = []

    async def run(item: str) -> None:
        ran.append(item)
        await gate.wait()

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, max_workers=1, idle=0.01)
    workers.submit("a", "1")
    workers.submit("b", "2")
    for _ in range(3):
        await asyncio.sleep(0)
    assert ran == ["1"]  # chat b waits in line, its job not started
    assert len(tasks) == 1
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert ran == ["1", "2"]
    assert not tasks
    assert workers.workers == 0


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


async def test_odd_jobs_a_future_a_handler_raising_cancelled_and_failures_anywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks: set[asyncio.Task[None]] = set()
    done: list[str] = []
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()

    async def run(item: str) -> None:
        if item == "cancel-self":
            raise asyncio.CancelledError  # the handler's own: the next job still runs
        if item == "wait":
            await asyncio.sleep(0)
        if item.endswith("bad"):
            raise RuntimeError(item)
        done.append(item)

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, idle=0.01)  # no on_error: the log
    workers.call("f", lambda _: fut, "future", None)  # an awaitable that is not a coroutine
    for item in ("cancel-self", "ok", "wait", "queued bad", "queued ok"):
        workers.submit("a", item)
    loop.call_later(0.01, fut.set_result, None)
    while tasks:
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert done == ["ok", "wait", "queued ok"]
    assert fut.done()
    assert "worker job on 'str' failed" in caplog.text
    assert workers.workers == 0
    assert not workers.queues


async def test_at_the_bound_a_failing_job_is_reported_and_the_next_runs() -> None:
    tasks: set[asyncio.Task[None]] = set()
    errors: list[str] = []
    done: list[str] = []

    async def on_error(exc: Exception, arg: Any, tag: Any) -> None:
        errors.append(str(exc))

    async def run(item: str) -> None:
        await asyncio.sleep(0)
        if item == "bad":
            raise RuntimeError(item)
        done.append(item)

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, max_workers=1, idle=0.01, on_error=on_error)
    workers.submit("a", "bad")
    workers.submit("b", "good")
    while tasks:
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert errors == ["bad"]
    assert done == ["good"]


async def test_a_chat_whose_job_waited_keeps_its_own_worker_for_its_next_batch() -> None:
    tasks: set[asyncio.Task[None]] = set()
    ran: list[str] = []

    async def run(item: str) -> None:
        await asyncio.sleep(0)  # every job waits
        ran.append(item)

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, idle=0.05)
    workers.submit("a", "a1")
    workers.submit("b", "b1")
    while len(ran) < 2:
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    names = sorted(t.get_name() for t in tasks)
    assert names == ["smartqq-chat:a", "smartqq-chat:b"]  # parked, one per chat
    before = set(tasks)
    workers.submit("a", "a2")  # woken directly: no runner, no new task
    assert workers._ready == deque()
    while len(ran) < 3:
        await asyncio.sleep(0)
    assert ran == ["a1", "b1", "a2"]
    assert set(tasks) <= before
    await asyncio.wait_for(asyncio.gather(*tasks), 5)  # they retire when idle
    assert workers.workers == 0
    assert not workers.queues


async def test_at_the_bound_a_chat_worker_that_runs_dry_takes_the_waiting_chats() -> None:
    tasks: set[asyncio.Task[None]] = set()
    gate = asyncio.Event()
    ran: list[str] = []

    async def run(item: str) -> None:
        ran.append(item)
        if item == "a1":
            await gate.wait()

    workers: ChatWorkers[str] = ChatWorkers(run, tasks, max_workers=1, idle=30)
    workers.submit("a", "a1")
    for _ in range(3):
        await asyncio.sleep(0)
    workers.submit("b", "b1")  # at the bound: waits in line
    workers.submit("c", "c1")
    for _ in range(3):
        await asyncio.sleep(0)
    assert ran == ["a1"]
    gate.set()
    for _ in range(10):  # not the 30 s idle time: chat a's worker takes b and c over
        await asyncio.sleep(0)
    assert ran == ["a1", "b1", "c1"]
    assert workers.workers == 1
    workers.close_idle()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert workers.workers == 0
