"""Row: the in-memory path, ``Client(transport=Emulator.transport())`` with no sockets.

The emulator's I/O-free service answers the client's requests in process
(issue 14 item 2); the figure is events/s from queued messages to a handler,
beside the same client over loopback in the same run. Feature-detected: on a
tree without ``Emulator.transport()`` or ``Client(transport=...)`` the row
says "n/a (not available)" instead of failing.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any

from emulator_proc import BOT, PASSWORD, SENDER, bench_world

from smartqq import BuddyMessage, Client
from smartqq.emulator import Emulator

FIGURE = "in memory: client + emulator, no sockets, events/s"


def available() -> bool:
    return callable(getattr(Emulator, "transport", None)) and (
        "transport" in inspect.signature(Client).parameters
    )


async def _rate(n_events: int) -> float:
    emu = Emulator(bench_world(0), hold=20, max_batch=50)
    transport = emu.transport()
    bot = Client(
        BOT,
        PASSWORD,
        transport=transport,
        send_interval=0,
        contacts_refresh=None,
        poll_timeout=60,
    )
    seen = 0
    done = asyncio.Event()

    async def handler(msg: BuddyMessage) -> None:
        nonlocal seen
        seen += 1
        if seen >= n_events:
            done.set()

    bot.add_handler(BuddyMessage, handler)
    try:
        await bot.login()
        for _ in range(n_events):
            emu.inject("buddy", SENDER, BOT, "x")
        t0 = time.perf_counter()
        await bot.start()
        await asyncio.wait_for(done.wait(), 120)
        return n_events / (time.perf_counter() - t0)
    finally:
        await bot.close()
        closer = getattr(transport, "aclose", None)
        if closer is not None:
            await closer()


def inmemory_row(quick: bool, loopback_rate: float | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "figure": FIGURE,
        "value": None,
        "baseline": loopback_rate,
        "baseline_name": "the same client over loopback (end-to-end row)",
        "ratio": None,
        "target": "report",
        "ok": True,
        "unit": "events/s",
    }
    if not available():
        row.update(baseline=None, baseline_name="n/a (not available)", target="n/a (not available)")
        return row
    rate = asyncio.run(_rate(5_000 if quick else 20_000))
    row["value"] = rate
    row["ratio"] = rate / loopback_rate if loopback_rate else None
    return row
