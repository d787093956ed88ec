"""Where the memory of N clients holding a long-poll goes: ``tracemalloc`` by module.

    python benchmarks/memory_profile.py            # 200 clients
    python benchmarks/memory_profile.py -n 1000    # as the full benchmark run
    python benchmarks/run.py --memory-profile      # the same, from the runner

Both sides of the memory row are measured the same way: ``N`` smartqq clients
logged in to the emulator (its own process) and each holding a poll, and ``N``
bare aiohttp sessions each holding one request on the raw server. Each side
reports RSS per client and the traced Python allocations per client grouped
two ways: by the package of the allocating line ("allocated in"), and by the
first frame inside smartqq on the stack ("on behalf of", so an aiohttp object
a smartqq module asked for is charged to that module).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from emulator_proc import FIRST_CLIENT, emulator_process, free_port
from wire import bench_client, rss_bytes

FRAMES = 30


def package_of(filename: str) -> str:
    """``smartqq/client/client.py`` -> ``smartqq.client``; site-packages -> top package;
    the standard library -> ``stdlib:<module>``."""
    path = Path(filename)
    parts = path.parts
    if "smartqq" in parts:
        i = len(parts) - 1 - parts[::-1].index("smartqq")
        inner = parts[i + 1 : -1]
        return "smartqq" + ("." + inner[0] if inner else "." + path.stem)
    if "site-packages" in parts:
        i = parts.index("site-packages")
        top = parts[i + 1] if len(parts) > i + 1 else "?"
        return top.removesuffix(".py").split(".")[0]
    for i, part in enumerate(parts[:-1]):
        if part.startswith("python3"):  # .../lib/python3.11/asyncio/events.py -> stdlib:asyncio
            rest = parts[i + 1 :]
            return "stdlib:" + (rest[0] if len(rest) > 1 else path.stem)
    return path.stem


def on_behalf_of(traceback: tracemalloc.Traceback) -> str:
    # Frames run oldest to most recent: walk back from the allocation to the nearest
    # smartqq frame.
    for frame in reversed(traceback):
        if "smartqq" in Path(frame.filename).parts:
            return package_of(frame.filename) + ":" + Path(frame.filename).stem
    return "(no smartqq frame)"


def line_of(traceback: tracemalloc.Traceback) -> str:
    """``allocating line <- nearest smartqq line``: what to look at first."""
    inner = traceback[-1]
    where = f"{package_of(inner.filename)}:{Path(inner.filename).stem}:{inner.lineno}"
    for frame in reversed(traceback):
        if "smartqq" in Path(frame.filename).parts:
            mine = f"{Path(frame.filename).stem}:{frame.lineno}"
            return where if frame is inner else f"{where} <- {mine}"
    return where


def breakdown(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int) -> dict[str, Any]:
    seen: dict[Any, int] = defaultdict(int)
    for stat in before.statistics("traceback"):
        seen[stat.traceback] += stat.size
    by_pkg: dict[str, int] = defaultdict(int)
    by_owner: dict[str, int] = defaultdict(int)
    by_line: dict[str, int] = defaultdict(int)
    total = 0
    for stat in after.statistics("traceback"):
        grown = stat.size - seen.get(stat.traceback, 0)
        if grown <= 0:
            continue
        total += grown
        by_pkg[package_of(stat.traceback[-1].filename)] += grown
        by_owner[on_behalf_of(stat.traceback)] += grown
        by_line[line_of(stat.traceback)] += grown

    def per_client(d: dict[str, int]) -> list[tuple[str, float]]:
        return sorted(((k, v / n / 1024) for k, v in d.items()), key=lambda kv: -kv[1])

    return {
        "traced_kib_per_client": total / n / 1024,
        "allocated_in": per_client(by_pkg),
        "on_behalf_of": per_client(by_owner),
        "lines": per_client(by_line),
    }


async def clients_side(url: str, n: int) -> dict[str, Any]:
    gc.collect()
    rss0 = rss_bytes()
    before = tracemalloc.take_snapshot()
    clients = [bench_client(url, FIRST_CLIENT + i, poll_timeout=120) for i in range(n)]
    gate = asyncio.Semaphore(25)

    async def start(c: Any) -> None:
        async with gate:
            await c.start()

    await asyncio.gather(*(start(c) for c in clients))
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            stats = await (await http.get(f"{url}/_emu/stats")).json()
            if stats["waiters"] >= n:
                break
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    gc.collect()
    after = tracemalloc.take_snapshot()
    rss1 = rss_bytes()
    result = breakdown(before, after, n)
    result["rss_kib_per_client"] = (rss1 - rss0) / n / 1024
    await asyncio.gather(*(c.close() for c in clients))
    return result


async def bare_side(url: str, n: int) -> dict[str, Any]:
    gc.collect()
    rss0 = rss_bytes()
    before = tracemalloc.take_snapshot()
    sessions = [aiohttp.ClientSession() for _ in range(n)]

    async def hold(s: aiohttp.ClientSession) -> None:
        async with s.post(f"{url}/hold") as resp:
            await resp.read()

    tasks = [asyncio.create_task(hold(s)) for s in sessions]
    await asyncio.sleep(min(10, 1 + n / 200))
    gc.collect()
    after = tracemalloc.take_snapshot()
    rss1 = rss_bytes()
    result = breakdown(before, after, n)
    result["rss_kib_per_client"] = (rss1 - rss0) / n / 1024
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(s.close() for s in sessions))
    return result


async def run_side(kind: str, n: int) -> dict[str, Any]:
    tracemalloc.start(FRAMES)
    if kind == "clients":
        with tempfile.TemporaryDirectory() as tmp:
            async with emulator_process(Path(tmp), clients=n, hold=60) as url:
                return await clients_side(url, n)
    port = free_port()
    raw = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("raw_server.py")),
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert raw.stdout is not None
        await asyncio.wait_for(raw.stdout.readline(), 30)
        return await bare_side(f"http://127.0.0.1:{port}", n)
    finally:
        raw.terminate()
        await raw.wait()


def show(title: str, side: dict[str, Any], top: int) -> None:
    print(f"\n== {title}")
    print(
        f"RSS {side['rss_kib_per_client']:.1f} KiB per client (tracemalloc's bookkeeping "
        "included; see the benchmark row for the clean figure); "
        f"traced Python allocations {side['traced_kib_per_client']:.1f} KiB per client"
    )
    for key in ("allocated_in", "on_behalf_of", "lines"):
        print(f"  {key.replace('_', ' ')}:")
        for name, kib in side[key][:top]:
            print(f"    {kib:7.2f} KiB  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="clients per side (default 200)")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--side", choices=("clients", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:  # one side per process, so the two never share allocator state
        print(json.dumps(asyncio.run(run_side(args.side, args.n))))
        return 0
    import subprocess

    sides = {}
    for kind in ("clients", "bare"):
        out = subprocess.run(
            [sys.executable, __file__, "--side", kind, "-n", str(args.n)],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        ).stdout
        sides[kind] = json.loads(out.strip().splitlines()[-1])
    show(f"{args.n} smartqq clients, each holding a poll", sides["clients"], args.top)
    show(f"{args.n} bare aiohttp sessions, each holding one request", sides["bare"], args.top)
    ratio = sides["clients"]["rss_kib_per_client"] / max(sides["bare"]["rss_kib_per_client"], 1e-9)
    print(f"\nRSS ratio (target <= 1.5): {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(sides, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
