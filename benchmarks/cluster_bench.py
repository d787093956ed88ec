"""Cluster benchmark: events/s emulator -> gateway -> NATS -> worker -> reply.

    python benchmarks/cluster_bench.py                 # 1, 2, 4 workers + baseline
    python benchmarks/cluster_bench.py --accounts 1000 # also 1,000 accounts over two gateways
    python benchmarks/cluster_bench.py --json out.json

Each row answers ``--messages`` buddy messages (from ``--chats`` different
friends, so they spread over the ordering partitions) with one reply each and
reports replies per second, beside the single-process client doing the same
in the same run. ``--work-ms`` adds simulated handler I/O (an ``asyncio.sleep``),
which is what more workers are for. The emulator runs in this process; the
gateway and the workers are ``python -m smartqq gateway|worker`` subprocesses
against a fresh ``nats-server -js`` (file storage) per row.

The accounts scenario logs ``--accounts`` bots in, imports their sessions,
starts two gateways, waits until every account is held, reports the gateways'
resident memory per account, SIGKILLs one gateway and reports how long until
every account is held again. Loopback only; everything stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from smartqq import BuddyMessage, Client
from smartqq.cluster import ClusterConfig, Handlers, import_session
from smartqq.cluster.natsserver import NatsServer
from smartqq.emulator import Emulator, World

HERE = Path(__file__).resolve().parent
BOT = 10001
PASSWORD = "bench-pw"
FIRST_FRIEND = 30000
FIRST_BOT = 40000
HOLD = 5.0
"""The emulator's poll hold in the accounts scenario (a new holder waits out one poll)."""

handlers = Handlers()
"""The workers' app (``--app cluster_bench:handlers``)."""
WORK = float(os.environ.get("BENCH_WORK_MS", "0")) / 1000


@handlers.on(BuddyMessage)
async def echo(msg: BuddyMessage) -> None:
    if WORK:
        await asyncio.sleep(WORK)
    await msg.reply(f"re: {msg.text}")


def world(chats: int, bots: int = 0) -> World:
    w = World()
    w.add_account(BOT, password=PASSWORD, nick="BenchBot")
    for i in range(chats):
        w.add_account(FIRST_FRIEND + i, password=PASSWORD, nick=f"friend{i}")
        w.befriend(BOT, FIRST_FRIEND + i)
    for i in range(bots):
        w.add_account(FIRST_BOT + i, password=PASSWORD, nick=f"bot{i}")
    return w


def spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, "PYTHONPATH": str(HERE), **(env or {})}
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "smartqq", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
        )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def until(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        await asyncio.sleep(0.02)


def inject(emu: Emulator, n: int, chats: int) -> None:
    for i in range(n):
        emu.user(FIRST_FRIEND + i % chats).send_buddy(BOT, f"m{i}")


async def baseline(n: int, chats: int) -> float:
    """Replies per second of one single-process Client with the same handler."""
    async with Emulator(world=world(chats), hold=1.0, max_batch=50) as emu:
        client = Client(qq=BOT, password=PASSWORD, base_url=emu.url, send_interval=0.0)

        @client.on(BuddyMessage)
        async def reply(msg: BuddyMessage) -> None:
            if WORK:
                await asyncio.sleep(WORK)
            await msg.reply(f"re: {msg.text}")

        async with client:
            await asyncio.sleep(0.5)
            start = time.monotonic()
            inject(emu, n, chats)
            await until(lambda: len(emu.sent) >= n, 300)
            return n / (time.monotonic() - start)


async def cluster_row(tmp: Path, n: int, chats: int, workers: int, partitions: int) -> float:
    cfg = ClusterConfig(partitions=partitions)
    async with Emulator(world=world(chats), hold=1.0, max_batch=50) as emu:
        session = tmp / "bot.session"
        client = Client(qq=BOT, password=PASSWORD, base_url=emu.url)
        await client.login()
        client.save_session(session)
        await client.close()
        with NatsServer(tmp / f"nats-{workers}") as nats:
            await import_session(session, nats.url, cfg)
            env = {"BENCH_WORK_MS": str(WORK * 1000)}
            procs = [
                spawn(
                    ["gateway", "--nats", nats.url, "--base-url", emu.url, "--send-interval", "0"],
                    tmp / "gw.log",
                )
            ]
            procs += [
                spawn(
                    [
                        "worker",
                        "--nats",
                        nats.url,
                        "--app",
                        "cluster_bench:handlers",
                        "--concurrency",
                        "16",
                    ],
                    tmp / f"w{i}.log",
                    env,
                )
                for i in range(workers)
            ]
            try:
                # Warm up: one message through the whole path.
                emu.user(FIRST_FRIEND).send_buddy(BOT, "warm-up")
                await until(lambda: len(emu.sent) >= 1, 60)
                start = time.monotonic()
                inject(emu, n, chats)
                await until(lambda: len(emu.sent) >= n + 1, 600)
                return n / (time.monotonic() - start)
            finally:
                stop(procs)


async def holders(url: str) -> dict[str, int]:
    """How many accounts each gateway holds (from the leases bucket)."""
    import nats
    from nats.js.errors import KeyNotFoundError

    from smartqq.cluster.config import LEASES_BUCKET, list_keys

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        kv = await js.key_value(LEASES_BUCKET)
        keys = [k for k in await list_keys(js, LEASES_BUCKET) if k.isdigit()]
        counts: dict[str, int] = {}
        for key in keys:
            try:
                entry = await kv.get(key)
            except KeyNotFoundError:
                continue
            name = (entry.value or b"").decode()
            counts[name] = counts.get(name, 0) + 1
        return counts
    finally:
        await nc.close()


async def until_async(check: Any, timeout: float, every: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        await asyncio.sleep(every)


async def accounts_row(tmp: Path, count: int) -> dict[str, Any]:
    """``count`` accounts over two gateways: memory per account, takeover time."""
    cfg = ClusterConfig()
    async with Emulator(world=world(1, bots=count), hold=HOLD) as emu:
        with NatsServer(tmp / "nats-accounts") as nats:
            for i in range(count):
                c = Client(
                    qq=FIRST_BOT + i, password=PASSWORD, base_url=emu.url, contacts_refresh=None
                )
                await c.login()
                c.save_session(tmp / "s.session")
                await c.close()
                await import_session(tmp / "s.session", nats.url, cfg)
            # A gateway serving nothing (an account that does not exist): the baseline RSS.
            empty = spawn(
                ["gateway", "--nats", nats.url, "--accounts", "1", "--name", "empty"], tmp / "e.log"
            )
            await asyncio.sleep(5)
            idle = rss_kib(empty.pid)
            stop([empty])
            gws = [
                spawn(
                    ["gateway", "--nats", nats.url, "--base-url", emu.url, "--name", f"g{i}"],
                    tmp / f"g{i}.log",
                )
                for i in range(2)
            ]
            try:
                start = time.monotonic()

                async def all_held() -> bool:
                    return sum((await holders(nats.url)).values()) >= count

                await until_async(all_held, 900)
                spread = await holders(nats.url)
                serve_all = time.monotonic() - start
                # Let every account finish a few idle polls (each learns the service's hold).
                await asyncio.sleep(3 * HOLD)
                rss = [rss_kib(p.pid) for p in gws]
                gws[0].send_signal(signal.SIGKILL)
                gws[0].wait()
                killed = time.monotonic()

                async def survivor_holds_all() -> bool:
                    return (await holders(nats.url)).get("g1", 0) >= count

                await until_async(survivor_holds_all, 900)
                takeover = time.monotonic() - killed
                # Polling again: the dead gateway's held polls are gone, then every account
                # has one held poll (after waiting out the dead holder's last poll).
                await until(lambda: emu.stats()["waiters"] < count, 60)
                await until(lambda: emu.stats()["waiters"] >= count, 900)
                polling = time.monotonic() - killed
                return {
                    "accounts": count,
                    "held_by": spread,
                    "all_held_after_s": round(serve_all, 1),
                    "gateway_rss_mib": [round(r / 1024, 1) for r in rss],
                    "empty_gateway_rss_mib": round(idle / 1024, 1),
                    "kib_per_account": round((sum(rss) - 2 * idle) / count, 1),
                    "leases_taken_s": round(takeover, 2),
                    "polling_again_s": round(polling, 2),
                    "service_hold_s": HOLD,
                    "lease_ttl_s": cfg.lease_ttl,
                }
            finally:
                stop(gws)


async def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--chats", type=int, default=64)
    ap.add_argument("--work-ms", type=float, default=0.0)
    ap.add_argument(
        "--partitions", type=int, default=16, help="ordering partitions (chats in flight)"
    )
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--accounts", type=int, default=0, help="also run N accounts over two gateways")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    global WORK
    WORK = args.work_ms / 1000
    results: dict[str, Any] = {
        "messages": args.messages,
        "chats": args.chats,
        "work_ms": args.work_ms,
    }
    results["single_process"] = round(await baseline(args.messages, args.chats), 1)
    print(f"single-process client        {results['single_process']:8.1f} replies/s", flush=True)
    for w in (int(x) for x in args.workers.split(",") if x.strip() not in ("", "0")):
        with tempfile.TemporaryDirectory() as d:
            rate = await cluster_row(Path(d), args.messages, args.chats, w, args.partitions)
        results[f"cluster_{w}_workers"] = round(rate, 1)
        ratio = rate / results["single_process"]
        print(f"cluster, {w} worker(s)          {rate:8.1f} replies/s  ({ratio:.2f}x)", flush=True)
    if args.accounts:
        with tempfile.TemporaryDirectory() as d:
            row = await accounts_row(Path(d), args.accounts)
        results["accounts"] = row
        print(f"{args.accounts} accounts over two gateways: {row}", flush=True)
    print(json.dumps(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
