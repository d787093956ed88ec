"""Polling ahead: the next poll goes out before a batch is read, and is dropped when
that batch turns out to lead elsewhere; and backpressure, which holds the next poll while
handlers are too far behind (a scripted service over MockTransport)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from smartqq import BuddyMessage, Client
from smartqq.errors import Kicked
from smartqq.protocol import poll
from smartqq.protocol.http import HttpRequest, HttpResponse
from smartqq.testing import until

from .scripted import Scripted, message, scripted_client


class Watching(Scripted):
    """Records how many messages had been handled when each poll2 arrived, and how
    many polls were cancelled while the service held them."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.handled_at_poll: list[int] = []
        self.cancelled = 0

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if request.endpoint != "poll2":
            return await super().handle(request)
        self.handled_at_poll.append(len(self.texts))
        try:
            return await super().handle(request)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


@pytest.fixture(autouse=True)
def _patient(monkeypatch: pytest.MonkeyPatch) -> None:
    # Answers from a queue come back in microseconds here; a loaded test machine must
    # not make one look held (only the test of held polls sets a short bound).
    monkeypatch.setattr(poll, "HELD_AFTER", 5.0)


def client_for(service: Watching, tmp_path: Path, **options: Any) -> Client:
    client = scripted_client(service, tmp_path, **options)

    def record(msg: BuddyMessage) -> None:  # a plain function: handled inline, at dispatch
        service.texts.append(msg.text)

    client.add_handler(BuddyMessage, record)
    return client


async def test_the_next_poll_goes_out_before_the_batch_is_dispatched(tmp_path: Path) -> None:
    service = Watching()
    service.batch(message(1, "a"), message(2, "b"), message(3, "c"))
    service.batch(message(4, "d"), message(5, "e"))
    async with client_for(service, tmp_path) as client:
        await until(lambda: len(service.texts) == 5 and len(service.handled_at_poll) == 3)
        # The second poll arrived while none of the first batch was handled yet.
        assert service.handled_at_poll == [0, 0, 3]
        assert service.texts == ["a", "b", "c", "d", "e"]  # still in order
        assert client.stats.polls == 3


async def test_without_poll_ahead_the_next_poll_waits_for_dispatch(tmp_path: Path) -> None:
    service = Watching()
    service.batch(message(1, "a"), message(2, "b"), message(3, "c"))
    service.batch(message(4, "d"), message(5, "e"))
    async with client_for(service, tmp_path, poll_ahead=False):
        await until(lambda: len(service.handled_at_poll) == 3)
        assert service.handled_at_poll == [0, 3, 5]
        assert service.texts == ["a", "b", "c", "d", "e"]


async def test_a_held_poll_is_not_followed_by_one_sent_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poll, "HELD_AFTER", 0.05)
    service = Watching()
    async with client_for(service, tmp_path) as client:
        await until(lambda: len(service.handled_at_poll) == 1)
        await asyncio.sleep(0.5)  # the service holds the poll: nothing to answer yet
        service.batch(message(1, "a"), message(2, "b"))
        service.batch(message(3, "c"))
        await until(lambda: len(service.texts) == 3 and len(service.handled_at_poll) == 3)
        # The held poll's batch was read before the next poll went out; that one came
        # back at once, so the third went out ahead of its batch again.
        assert service.handled_at_poll == [0, 2, 2]
        await asyncio.sleep(0.5)  # the third is held in turn
        service.batch(message(4, "d"))
        await until(lambda: len(service.handled_at_poll) == 4)
        assert service.handled_at_poll == [0, 2, 2, 4]
        assert service.texts == ["a", "b", "c", "d"]
        assert client.stats.polls == 4


async def test_an_unreadable_ok_answer_drops_the_early_poll_and_backs_off(
    tmp_path: Path,
) -> None:
    service = Watching()
    # Starts like a success (so the next poll goes out), then cannot be read.
    service.polls.put_nowait(HttpResponse(200, b'{"retcode":0,"result":[{"poll_type":'))
    async with client_for(service, tmp_path) as client:
        await until(lambda: service.cancelled == 1)
        assert client.stats.failures == 1
        service.batch(message(7, "after"))
        await until(lambda: service.texts == ["after"])
        # The early poll was cancelled before it got an answer; the one after the
        # back-off took the batch.
        assert service.cancelled == 1


async def test_a_kick_in_the_batch_drops_the_early_poll(tmp_path: Path) -> None:
    service = Watching()
    service.batch(
        message(1, "last words"),
        {
            "poll_type": "kick_message",
            "value": {"reason": "elsewhere", "show_reason": 1, "time": 1_600_000_000},
        },
    )
    client = client_for(service, tmp_path)
    try:
        await client.start()
        with pytest.raises(Kicked):
            await asyncio.wait_for(client.run_until_disconnected(), 5)
        assert service.texts == ["last words"]
        assert service.handled_at_poll == [0, 0]  # the early poll had gone out...
        assert service.cancelled == 1  # ...and was cancelled, never answered
    finally:
        await client.close()


async def test_close_cancels_the_early_poll_and_leaves_no_task(tmp_path: Path) -> None:
    service = Watching()
    service.batch(message(1, "a"))
    client = client_for(service, tmp_path)
    await client.start()
    await until(lambda: service.texts == ["a"] and len(service.handled_at_poll) == 2)
    await client.close()
    assert service.cancelled == 1
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current and not t.done()] == []


async def test_the_reused_poll_request_follows_a_rotated_ptwebqq(tmp_path: Path) -> None:
    service = Watching()
    service.batch(message(1, "a"))
    service.polls.put_nowait(HttpResponse(200, b'{"retcode":116,"p":"rotated-token"}'))
    service.batch(message(2, "b"))
    async with client_for(service, tmp_path):
        await until(lambda: service.texts == ["a", "b"] and len(service.handled_at_poll) == 4)
    forms = [
        json.loads(dict(r.form or ())["r"])
        for r in service.transport.requests
        if r.endpoint == "poll2"
    ]
    tokens = [form["ptwebqq"] for form in forms]
    assert tokens[0] == tokens[1] != "rotated-token"  # the saved session's, reused
    assert tokens[2:] == ["rotated-token"] * (len(tokens) - 2)


@pytest.mark.parametrize("mode", ["chat", "task"])
async def test_polling_pauses_while_handlers_are_behind_and_loses_nothing(
    tmp_path: Path, mode: str
) -> None:
    service = Watching()
    for start in range(0, 300, 50):  # six batches of 50 from one chat
        service.batch(*(message(i, f"m{i}") for i in range(start + 1, start + 51)))
    gate = asyncio.Event()
    handled: list[str] = []
    client = scripted_client(service, tmp_path, max_pending=60, handler_concurrency=mode)

    @client.on(BuddyMessage)
    async def slow(msg: BuddyMessage) -> None:
        await gate.wait()
        handled.append(msg.text)

    async with client:
        await until(lambda: client.stats.paused == 1)
        await asyncio.sleep(0.2)  # paused: no poll goes out however long this lasts
        taken = 6 - service.polls.qsize()
        # Over the limit after the second batch; the early poll sent with it took a
        # third, which waits (read, not dispatched) until the handlers catch up.
        assert taken <= 3
        assert client.stats.polls == 2
        await asyncio.sleep(0.2)
        assert 6 - service.polls.qsize() == taken  # still paused
        assert handled == []
        gate.set()
        await until(lambda: len(handled) == 300, timeout=10)
    expected = [f"m{i}" for i in range(1, 301)]
    if mode == "chat":
        assert handled == expected  # in order, none lost
    else:
        assert sorted(handled) == sorted(expected)  # none lost (a task each: any order)
