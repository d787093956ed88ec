"""Where parse + dispatch time goes, per event: parsing, ``dispatch()``, the workers.

    python benchmarks/dispatch_cost.py            # 200 batches of 50 buddy messages
    python benchmarks/dispatch_cost.py --profile  # and a cProfile of the whole path

Wall time of each part, best of 5 rounds, beside ``json.loads`` of the same
bodies: parsing (``parse_poll``), ``Dispatcher.dispatch`` of the parsed events to
one no-op coroutine handler, and the chat workers running them (one loop turn
per batch, as the poll loop gives them). A tool for finding costs, not a
benchmark row: the row is ``run.py``'s parse + dispatch.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local import make_dispatcher, parse_poll, poll_bodies

from smartqq import BuddyMessage


async def measure(batches: int, rounds: int = 5) -> dict[str, float]:
    bodies = poll_bodies(batches)
    parsed = [parse_poll(b).events for b in bodies]
    dispatcher = make_dispatcher(None)

    async def noop(event: BuddyMessage) -> None:
        return None

    dispatcher.register(BuddyMessage, noop)
    best = {"json.loads": 9e9, "parse_poll": 9e9, "dispatch": 9e9, "workers": 9e9}
    for _ in range(rounds):
        t0 = time.perf_counter()
        for body in bodies:
            json.loads(body)
        t1 = time.perf_counter()
        for body in bodies:
            parse_poll(body)
        t2 = time.perf_counter()
        best["json.loads"] = min(best["json.loads"], t1 - t0)
        best["parse_poll"] = min(best["parse_poll"], t2 - t1)
        spent_dispatch = spent_workers = 0.0
        for events in parsed:
            t0 = time.perf_counter()
            for event in events:
                dispatcher.dispatch(event)
            t1 = time.perf_counter()
            await asyncio.sleep(0)  # the workers run their batch
            spent_dispatch += t1 - t0
            spent_workers += time.perf_counter() - t1
        best["dispatch"] = min(best["dispatch"], spent_dispatch)
        best["workers"] = min(best["workers"], spent_workers)
    await dispatcher.drain(1.0)
    events = batches * 50
    return {name: seconds / events * 1e6 for name, seconds in best.items()}


async def profiled(batches: int) -> None:
    bodies = poll_bodies(batches)
    dispatcher = make_dispatcher(None)

    async def noop(event: BuddyMessage) -> None:
        return None

    dispatcher.register(BuddyMessage, noop)
    profile = cProfile.Profile()
    profile.enable()
    for body in bodies:
        for event in parse_poll(body).events:
            dispatcher.dispatch(event)
        await asyncio.sleep(0)
    profile.disable()
    await dispatcher.drain(1.0)
    pstats.Stats(profile).sort_stats("tottime").print_stats(20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile")
    args = parser.parse_args(argv)
    costs = asyncio.run(measure(args.batches))
    total = costs["parse_poll"] + costs["dispatch"] + costs["workers"]
    for name, us in costs.items():
        print(f"{name:>11}: {us:.3f} µs/event")
    print(f"{'total':>11}: {total:.3f} µs/event = {costs['json.loads'] / total:.2f}x json.loads")
    if args.profile:
        asyncio.run(profiled(args.batches))
    return 0


if __name__ == "__main__":
    sys.exit(main())
