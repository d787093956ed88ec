"""Per-chat ordering under load: 100 chats x 100 messages, a handler awaiting 0-2 ms.

Dispatches every message (interleaved across chats, as a busy account's poll
answers would) to one coroutine handler that sleeps a random 0-2 ms and records
the message's sequence number in its chat. Reports, for ``handler_concurrency``
"chat" (per-chat workers) and "task" (a task per event): messages whose
handling finished before an earlier message of the same chat (out of order),
messages handled per second, and the peak number of tasks. No I/O: this is the
dispatcher alone, ``python benchmarks/per_chat.py [--chats N --messages N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from typing import Any

from smartqq.events import MessageEvent, parse_event
from smartqq.runtime.dispatch import Concurrency, Dispatcher


def messages(chats: int, per_chat: int) -> list[Any]:
    out = []
    for n in range(per_chat):
        for chat in range(1, chats + 1):
            value = {"msg_id": n * chats + chat, "from_uin": chat, "content": [str(n)]}
            out.append(parse_event({"poll_type": "message", "value": value}))
    return out


async def run(mode: Concurrency, chats: int, per_chat: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    delays = [rng.random() * 0.002 for _ in range(chats * per_chat)]
    last: dict[int, int] = {}
    out_of_order = 0
    peak_tasks = 0
    d = Dispatcher(owner=None, concurrency=mode, max_workers=max(chats, 1))
    index = 0

    @d.router.on(MessageEvent)
    async def handler(msg: MessageEvent) -> None:
        nonlocal out_of_order, peak_tasks, index
        delay = delays[index % len(delays)]
        index += 1
        peak_tasks = max(peak_tasks, len(d.tasks))
        await asyncio.sleep(delay)
        seq = int(msg.text)
        if seq < last.get(msg.from_uin, -1):
            out_of_order += 1
        last[msg.from_uin] = max(seq, last.get(msg.from_uin, -1))

    events = messages(chats, per_chat)
    start = time.perf_counter()
    for i, event in enumerate(events):
        d.dispatch(event)
        if i % chats == chats - 1:
            await asyncio.sleep(0)  # one poll answer per round, as the poll loop yields
    await d.drain(timeout=600)
    elapsed = time.perf_counter() - start
    return {
        "mode": mode,
        "messages": len(events),
        "out_of_order": out_of_order,
        "messages_per_s": round(len(events) / elapsed),
        "peak_tasks": peak_tasks,
    }


async def main_async(chats: int, per_chat: int) -> list[dict[str, Any]]:
    return [await run("chat", chats, per_chat), await run("task", chats, per_chat)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--messages", type=int, default=100, help="per chat")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = asyncio.run(main_async(args.chats, args.messages))
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        print(
            f"{row['mode']:>4}: {row['messages']} messages, {row['out_of_order']} out of order, "
            f"{row['messages_per_s']:,} msg/s, peak {row['peak_tasks']} tasks"
        )


if __name__ == "__main__":
    main()
