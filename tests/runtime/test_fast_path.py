"""The dispatcher's fast path gives what the router tree gives: same handlers, same
order, same isolation, and it steps aside when the tree is needed."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from smartqq.events import BuddyMessage, Event, MessageEvent, parse_event
from smartqq.runtime.dispatch import Dispatcher
from smartqq.runtime.handlers import Handler
from smartqq.runtime.router import Router


def message(chat: int, n: int) -> Event:
    value: dict[str, Any] = {"msg_id": n + 1, "from_uin": chat, "content": [f"{chat}:{n}"]}
    return parse_event({"poll_type": "message", "value": value})


def route(d: Dispatcher, cls: type[Event]) -> Any:
    plan = d.router.plan(cls)
    assert plan is not None
    return plan.fast if plan.fast is not False else d._fast_regs(plan, cls)


async def test_a_lone_coroutine_handler_is_a_direct_job_and_sees_every_message_in_order() -> None:
    d = Dispatcher(owner=None)
    seen: list[str] = []

    @d.router.on(BuddyMessage)
    async def handler(msg: BuddyMessage) -> None:
        seen.append(msg.text)

    for n in range(30):
        for chat in (1, 2):
            d.dispatch(message(chat, n))
    _, direct, callback, kind, count = route(d, BuddyMessage)
    assert direct is not None
    assert callback is handler
    assert (kind, count) == ("message", 1)
    await d.drain(timeout=10)
    for chat in (1, 2):
        assert [t for t in seen if t.startswith(f"{chat}:")] == [f"{chat}:{n}" for n in range(30)]
    assert seen[0] == "1:0"
    assert not d.tasks


async def test_predicates_block_and_failures_behave_as_in_the_tree(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors: list[tuple[str, Handler]] = []

    def hook(exc: BaseException, event: Event, handler: Handler) -> None:
        errors.append((str(exc), handler))

    d = Dispatcher(owner="owner", error_hook=hook)
    order: list[str] = []

    def odd(msg: MessageEvent) -> bool:
        return int(msg.text.split(":")[1]) % 2 == 1

    def broken(msg: MessageEvent) -> bool:
        raise RuntimeError("predicate bug")

    @d.router.on(MessageEvent, broken)
    async def never(msg: MessageEvent) -> None:
        order.append("never")

    @d.router.on(MessageEvent)
    async def boom(msg: MessageEvent) -> None:
        raise ValueError("handler bug")

    @d.router.on(MessageEvent, odd, block=True)
    async def first(msg: MessageEvent) -> None:
        order.append(f"first {msg.text}")

    @d.router.on(MessageEvent)
    def after(msg: MessageEvent) -> None:
        assert msg.client == "owner"
        order.append(f"after {msg.text}")

    with caplog.at_level(logging.ERROR):
        d.dispatch(message(1, 0))
        d.dispatch(message(1, 1))
        fast, direct, *_ = route(d, BuddyMessage)
        assert fast is not None
        assert direct is None  # several handlers: the worker walks the fast list
        await d.drain(timeout=10)
    # The odd message blocked at "first"; the even one went past it to "after".
    assert order == ["after 1:0", "first 1:1"]
    assert [e[0] for e in errors] == ["handler bug", "handler bug"]
    assert all(e[1] is boom for e in errors)
    assert "predicate bug" in caplog.text


async def test_the_tree_runs_when_handlers_need_it() -> None:
    d = Dispatcher(owner=None)
    got: list[Any] = []

    @d.router.on(BuddyMessage)
    async def wants_client(msg: BuddyMessage, client: Any) -> None:
        got.append(("param", client))

    assert route(d, BuddyMessage)[0] is None  # a parameter besides the event: the tree
    d.dispatch(message(1, 0))
    await d.drain(timeout=10)
    assert got == [("param", None)]

    shared_filter_router = Router(name="shared")
    calls: list[int] = []

    def counted(msg: MessageEvent) -> bool:
        calls.append(1)
        return True

    from smartqq.filters import as_filter

    flt = as_filter(counted)

    @shared_filter_router.on(BuddyMessage, flt)
    async def one(msg: BuddyMessage) -> None:
        got.append("one")

    @shared_filter_router.on(BuddyMessage, flt)
    async def two(msg: BuddyMessage) -> None:
        got.append("two")

    d2 = Dispatcher(owner=None, router=shared_filter_router)
    assert route(d2, BuddyMessage)[0] is None  # a shared filter is asked once: the tree
    d2.dispatch(message(1, 0))
    await d2.drain(timeout=10)
    assert got[-2:] == ["one", "two"]
    assert len(calls) == 1

    inner: list[str] = []
    d3 = Dispatcher(owner=None)

    @d3.router.middleware
    async def mw(handler: Any, event: Event, data: dict[str, Any]) -> Any:
        inner.append("mw")
        return await handler(event, data)

    @d3.router.on(BuddyMessage)
    async def plain(msg: BuddyMessage) -> None:
        inner.append("handler")

    d3.dispatch(message(1, 0))
    await d3.drain(timeout=10)
    assert inner == ["mw", "handler"]
    assert route(d3, BuddyMessage)[0] is None


async def test_a_registration_after_dispatch_is_seen_by_the_next_event() -> None:
    d = Dispatcher(owner=None)
    seen: list[str] = []

    @d.router.on(BuddyMessage)
    async def first(msg: BuddyMessage) -> None:
        seen.append("first")

    d.dispatch(message(1, 0))
    await d.drain(timeout=10)

    @d.router.on(BuddyMessage)
    async def second(msg: BuddyMessage) -> None:
        seen.append("second")

    d.dispatch(message(1, 1))
    await d.drain(timeout=10)
    assert seen == ["first", "first", "second"]


async def test_task_mode_takes_the_fast_path_too() -> None:
    d = Dispatcher(owner=None, concurrency="task")
    seen: list[str] = []

    @d.router.on(BuddyMessage)
    async def handler(msg: BuddyMessage) -> None:
        seen.append(msg.text)

    for n in range(5):
        d.dispatch(message(3, n))
    await d.drain(timeout=10)
    assert sorted(seen) == [f"3:{n}" for n in range(5)]
    assert d.concurrency == "task"
