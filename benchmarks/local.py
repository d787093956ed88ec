"""Row 1: ``parse_poll`` + dispatch to a no-op handler, with no I/O, beside ``json.loads``."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from smartqq.events import BuddyMessage, parse_poll
from smartqq.runtime.dispatch import Dispatcher


def poll_bodies(batches: int, size: int = 50) -> list[bytes]:
    """Late-2015 style buddy-message batches, newest first, as the emulator sends them."""
    bodies = []
    msg_id = 1000
    for _ in range(batches):
        events = []
        for _ in range(size):
            msg_id += 1
            events.append(
                {
                    "poll_type": "message",
                    "value": {
                        "content": [
                            [
                                "font",
                                {"size": 10, "color": "000000", "style": [0, 0, 0], "name": "宋体"},
                            ],
                            f"message number {msg_id} ",
                            ["face", 14],
                        ],
                        "from_uin": 3_000_000_000 + msg_id % 7,
                        "msg_id": msg_id,
                        "msg_type": 0,
                        "time": 1_700_000_000 + msg_id,
                        "to_uin": 10001,
                    },
                }
            )
        events.reverse()
        bodies.append(json.dumps({"retcode": 0, "result": events}).encode())
    return bodies


def best_rate(fn: Any, events: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return events / best


def parse_dispatch_rows(quick: bool) -> dict[str, Any]:
    batches = 100 if quick else 400
    bodies = poll_bodies(batches)
    events = batches * 50
    repeats = 3 if quick else 5

    def baseline() -> None:
        for body in bodies:
            json.loads(body)

    async def ours_async() -> None:
        seen = 0

        async def noop(event: BuddyMessage) -> None:
            nonlocal seen
            seen += 1

        dispatcher = Dispatcher(owner=None)
        dispatcher.register(BuddyMessage, noop)
        for body in bodies:
            result = parse_poll(body)
            for event in result.events:
                dispatcher.dispatch(event)
            await asyncio.sleep(0)  # let the handler tasks run, as the poll loop does
        await asyncio.gather(*dispatcher.tasks)
        assert seen == events, (seen, events)

    def ours() -> None:
        asyncio.run(ours_async())

    base = best_rate(baseline, events, repeats)
    mine = best_rate(ours, events, repeats)
    return {
        "figure": "parse_poll + dispatch (no-op handler), events/s, 50-event batches",
        "value": mine,
        "baseline": base,
        "baseline_name": "json.loads of the same bodies",
        "ratio": mine / base,
        "target": ">= 0.5",
        "ok": mine / base >= 0.5,
        "unit": "events/s",
    }
