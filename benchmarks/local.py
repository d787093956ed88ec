"""Rows with no I/O: ``parse_poll`` + dispatch beside ``json.loads``, and per-chat ordering.

CPU-bound rows are timed in CPU seconds of this process (``time.process_time``):
the machines these run on are shared, and wall time there mostly measures the
neighbours. The parse + dispatch row times ours and its baseline body by body,
side by side, and reports the round of median ratio (see
:func:`_parse_dispatch_rounds`).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import time
from typing import Any

from smartqq.events import BuddyMessage, parse_poll
from smartqq.runtime.dispatch import Dispatcher

try:  # the shared runtime package (issue 14 item 5); older trees keep it under client/
    from smartqq.runtime.dispatch import Dispatcher
except ImportError:  # pragma: no cover - depends on the tree
    from smartqq.client.dispatch import Dispatcher  # type: ignore[no-redef]


def poll_bodies(batches: int, size: int = 50, chats: int = 7) -> list[bytes]:
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
                        "from_uin": 3_000_000_000 + msg_id % chats,
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


def concurrency_modes() -> tuple[str, ...]:
    """The ``handler_concurrency`` modes this tree's dispatcher offers (none: task per call)."""
    if "concurrency" in inspect.signature(Dispatcher).parameters:
        return ("chat", "task")
    return ()


def make_dispatcher(mode: str | None) -> Any:
    """A dispatcher as ``Client`` builds one (``mode=None``: the default)."""
    return Dispatcher(None) if mode is None else Dispatcher(None, concurrency=mode)


async def _until(counter: list[int], target: int, done: asyncio.Event, timeout: float) -> None:
    if counter[0] < target:
        await asyncio.wait_for(done.wait(), timeout)


async def _parse_dispatch_rounds(bodies: list[bytes], rounds: int) -> list[tuple[float, float]]:
    """Per round, CPU seconds of ``json.loads`` and of ours over every body.

    Ours is ``parse_poll`` + ``dispatch`` of each event to a no-op coroutine handler,
    up to the moment every handler of the body has run. The two are timed body by
    body, back to back, which one first alternating: the machine's speed drifts
    over tenths of a second (other tenants), and timing the two sides in long
    separate stretches let that drift into the ratio (0.41-0.54 over five runs of
    one build); side by side, both see the same machine.
    """
    seen = [0]

    async def noop(event: BuddyMessage) -> None:
        seen[0] += 1

    dispatcher = make_dispatcher(None)
    dispatcher.register(BuddyMessage, noop)
    clock = time.process_time
    loads = json.loads
    handled = 0
    out = []
    for _ in range(rounds):
        base = ours = 0.0
        for i, body in enumerate(bodies):
            if i & 1:
                t0 = clock()
                loads(body)
                base += clock() - t0
            t0 = clock()
            for event in parse_poll(body).events:
                dispatcher.dispatch(event)
                handled += 1
            await asyncio.sleep(0)  # the handlers run, as the poll loop lets them
            for _ in range(100):  # (they all have by now; this only makes sure)
                if seen[0] == handled:
                    break
                await asyncio.sleep(0)
            else:
                raise RuntimeError(f"{handled - seen[0]} handlers did not run")
            ours += clock() - t0
            if not i & 1:
                t0 = clock()
                loads(body)
                base += clock() - t0
        out.append((base, ours))
    await dispatcher.drain(1.0)
    return out


def parse_dispatch_rows(quick: bool) -> dict[str, Any]:
    batches = 100 if quick else 400
    bodies = poll_bodies(batches)
    events = batches * 50
    rounds = 5 if quick else 9
    timed = asyncio.run(_parse_dispatch_rounds(bodies, rounds))
    # The round of median ratio gives the row: its figures divide to its ratio.
    ratios = sorted((base / ours, base, ours) for base, ours in timed)
    ratio, base_s, ours_s = ratios[len(ratios) // 2]
    return {
        "figure": "parse_poll + dispatch (no-op coroutine handler), events/s, 50-event batches",
        "value": events / ours_s,
        "baseline": events / base_s,
        "baseline_name": "json.loads of the same bodies",
        "ratio": ratio,
        "rounds": [round(r, 3) for r, _, _ in ratios],
        "target": ">= 0.5",
        "ok": ratio >= 0.5,
        "unit": "events/s",
    }


# -- per-chat ordering under load ----------------------------------------------------------


def ordering_bodies(chats: int, per_chat: int, seed: int = 17) -> list[bytes]:
    """``chats`` x ``per_chat`` buddy messages interleaved at random, in 50-event batches;
    each text is the message's index within its chat."""
    rng = random.Random(seed)
    order = [c for c in range(chats) for _ in range(per_chat)]
    rng.shuffle(order)
    counters = [0] * chats
    elements = []
    for msg_id, chat in enumerate(order, start=1):
        elements.append(
            {
                "poll_type": "message",
                "value": {
                    "msg_id": msg_id,
                    "from_uin": 5_000_000 + chat,
                    "time": 1_700_000_000 + msg_id,
                    "content": [str(counters[chat])],
                },
            }
        )
        counters[chat] += 1
    bodies = []
    for i in range(0, len(elements), 50):
        batch = elements[i : i + 50]
        batch.reverse()  # newest first on the wire
        bodies.append(json.dumps({"retcode": 0, "result": batch}).encode())
    return bodies


async def _ordering(mode: str, bodies: list[bytes], total: int) -> tuple[int, float]:
    """(out-of-order count, events/s) with a handler awaiting a random 0-2 ms."""
    rng = random.Random(5)
    last: dict[int, int] = {}
    out_of_order = [0]
    handled = [0]
    done = asyncio.Event()

    async def handler(event: BuddyMessage) -> None:
        index = int(event.text)
        await asyncio.sleep(rng.uniform(0, 0.002))
        if index < last.get(event.from_uin, -1):
            out_of_order[0] += 1
        last[event.from_uin] = index
        handled[0] += 1
        if handled[0] == total:
            done.set()

    dispatcher = make_dispatcher(mode)
    dispatcher.register(BuddyMessage, handler)
    t0 = time.perf_counter()
    for body in bodies:
        for event in parse_poll(body).events:
            dispatcher.dispatch(event)
        await asyncio.sleep(0)
    await _until(handled, total, done, 120)
    rate = total / (time.perf_counter() - t0)
    await dispatcher.drain(1.0)
    return out_of_order[0], rate


def ordering_rows(quick: bool) -> list[dict[str, Any]]:
    chats, per_chat = (100, 100)
    figure = f"per-chat order under load ({chats} chats x {per_chat} msgs, handler awaits 0-2 ms)"
    modes = concurrency_modes()
    if not modes:
        return [_na(figure + ": out-of-order in a chat"), _na(figure + ": events/s")]
    bodies = ordering_bodies(chats, per_chat)
    total = chats * per_chat
    results: dict[str, tuple[int, float]] = {}
    for mode in modes:
        results[mode] = asyncio.run(_ordering(mode, bodies, total))
    chat_bad, chat_rate = results["chat"]
    task_bad, task_rate = results["task"]
    return [
        {
            "figure": figure + ": out-of-order in a chat",
            "value": chat_bad,
            "baseline": task_bad,
            "baseline_name": 'handler_concurrency="task"',
            "ratio": None,
            "target": "0",
            "ok": chat_bad == 0,
            "unit": "events",
        },
        {
            "figure": figure + ": events/s",
            "value": chat_rate,
            "baseline": task_rate,
            "baseline_name": 'handler_concurrency="task"',
            "ratio": chat_rate / task_rate,
            "target": "report",
            "ok": True,
            "unit": "events/s",
        },
    ]


def _na(figure: str) -> dict[str, Any]:
    return {
        "figure": figure,
        "value": None,
        "baseline": None,
        "baseline_name": "n/a (not available)",
        "ratio": None,
        "target": "n/a (not available)",
        "ok": True,
        "unit": "",
    }
