"""The dispatcher on its own: polymorphism, streams, filters, error hooks, draining."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import pytest

from smartqq.errors import UsageError
from smartqq.events import BuddyMessage, Event, GroupMessage, MessageEvent, parse_event
from smartqq.runtime.dispatch import Dispatcher


def buddy(text: str, msg_id: int = 1) -> BuddyMessage:
    event = parse_event(
        {"poll_type": "message", "value": {"msg_id": msg_id, "from_uin": 5, "content": [text]}}
    )
    assert isinstance(event, BuddyMessage)
    return event


async def test_stream_drops_the_oldest_when_full_and_ends(caplog: pytest.LogCaptureFixture) -> None:
    d = Dispatcher(owner=None)
    async with d.stream(BuddyMessage, buffer=2) as stream:
        for i in range(3):
            d.dispatch(buddy(f"m{i}", i + 1))
        assert stream.dropped == 1
        assert "dropped the oldest event" in caplog.text
        d.end_streams()
        assert [e.text async for e in stream] == ["m1", "m2"]
    assert not d._streams
    other = d.stream(Event, buffer=1)
    await other.aclose()
    assert not d._streams


async def test_filters_that_raise_are_logged_and_skip_the_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    d = Dispatcher(owner=None)
    calls: list[str] = []

    def bad_filter(event: Any) -> bool:
        raise RuntimeError("filter bug")

    d.register(MessageEvent, lambda e: calls.append("all"))
    d.register(BuddyMessage, lambda e: calls.append("filtered"), bad_filter)
    d.register(GroupMessage, lambda e: calls.append("group"))
    assert d.dispatch(buddy("x")) == 1
    await asyncio.gather(*d.tasks)
    assert calls == ["all"]
    assert "filter failed on BuddyMessage" in caplog.text


async def test_a_failing_error_hook_is_logged_too(caplog: pytest.LogCaptureFixture) -> None:
    def hook(exc: BaseException, event: Event, handler: Any) -> None:
        raise ValueError("hook bug")

    d = Dispatcher(owner=None, error_hook=hook, concurrency="task")

    async def handler(event: BuddyMessage) -> None:
        raise KeyError("handler bug")

    d.register(None, handler)
    d.dispatch(buddy("x"))
    with caplog.at_level(logging.ERROR, logger="smartqq.dispatch"):
        await asyncio.gather(*d.tasks)
    assert "the error hook itself failed" in caplog.text


async def test_drain_cancels_handlers_that_outlive_the_timeout() -> None:
    d = Dispatcher(owner=None)
    finished: list[bool] = []

    async def slow(event: BuddyMessage) -> None:
        await asyncio.sleep(30)
        finished.append(True)

    d.register(BuddyMessage, slow)
    d.dispatch(buddy("x"))
    while any(t.get_name() == "smartqq-chats" for t in d.tasks):
        await asyncio.sleep(0)  # the runner started it; it waits on a task of its chat's own
    tasks = set(d.tasks)
    assert [t.get_name() for t in tasks] == ["smartqq-chat:('message', 5)"]
    await d.drain(timeout=0.05)
    assert all(t.cancelled() for t in tasks)
    assert finished == []
    await d.drain(timeout=0.05)  # nothing left: returns at once


def test_registration_errors_are_usage_errors() -> None:
    d = Dispatcher(owner=None)
    with pytest.raises(UsageError, match="not callable"):
        d.register(BuddyMessage, "not a function")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="not an Event class"):
        d.register(int, lambda e: None)  # type: ignore[arg-type]

    def wrong(event: int) -> None: ...

    with pytest.raises(UsageError, match="annotated"):
        d.register(None, wrong)

    def unresolvable(event: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        ...

    with pytest.raises(UsageError, match="cannot read the annotations"):
        d.register(None, unresolvable)


async def test_wait_for_times_out_and_forgets_the_waiter() -> None:
    d = Dispatcher(owner=None)
    with pytest.raises(TimeoutError):
        await d.wait_for(BuddyMessage, timeout=0.01)
    assert d._waiters == []


async def test_plain_functions_run_inline_and_coroutines_run_on_the_chat_worker() -> None:
    # Changed with per-chat workers: a class whose handlers are all plain functions
    # still runs them inline; once a coroutine handler shares the class, the event
    # goes to its chat's worker and every handler runs there, in registration order.
    d = Dispatcher(owner=None)
    seen: list[str] = []
    failures: list[str] = []

    async def later(event: BuddyMessage) -> None:
        seen.append("async " + event.text)

    def broken(event: BuddyMessage) -> None:
        raise RuntimeError("sync bug")

    async def hook(exc: BaseException, event: Event, handler: Any) -> None:
        failures.append(str(exc))

    d.error_hook = hook
    d.register(BuddyMessage, lambda e: seen.append("sync " + e.text))
    d.register(BuddyMessage, broken)
    assert d.dispatch(buddy("x")) == 2
    assert seen == ["sync x"]  # already ran, before dispatch returned
    # The error report runs in a task (already finished on 3.12+, where tasks start eagerly).
    assert len(d.tasks) == (0 if sys.version_info >= (3, 12) else 1)
    await asyncio.gather(*d.tasks)
    assert failures == ["sync bug"]

    d.register(BuddyMessage, later)
    d.dispatch(buddy("y", 2))
    if sys.version_info < (3, 12):  # 3.12+ starts the new worker eagerly: it has run already
        assert seen == ["sync x"]  # queued for the worker now
    await d.drain(timeout=5)
    assert seen == ["sync x", "sync y", "async y"]
    assert failures == ["sync bug", "sync bug"]
    assert not d.tasks
