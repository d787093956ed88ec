"""OneBot v11 throughput and reply latency, beside smartqq's own end-to-end figure.

    python benchmarks/onebot_bench.py [--quick] [--json]

The emulator runs in its own process (``python -m smartqq emulator``) with a
small generated world. In the same run this script measures:

1. smartqq end to end: N queued buddy messages drained by the client's
   long-poll into a plain handler (events/s);
2. OneBot: the same N messages through the client, the OneBot server (event
   conversion, id mapping, JSON) and a forward WebSocket to a bare aiohttp
   client that parses every frame (events/s), so the ratio is the cost of the
   OneBot layer;
3. reply latency, one message at a time: inject -> message event at the bare
   client -> ``send_private_msg`` over the same WebSocket -> its answer
   (the emulator accepted the send), p50 and p99 in ms.

Everything is loopback, bounded and stops by itself. The OneBot server and
the bare client share this process (and its event loop); the emulator does not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from smartqq import BuddyMessage, Client
from smartqq.emulator import World
from smartqq.onebot import OneBotServer

BOT, SENDER, PASSWORD = 10001, 10002, "bench-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def emulator(tmp: Path) -> AsyncIterator[str]:
    world = World()
    world.add_account(BOT, password=PASSWORD, nick="BenchBot")
    world.add_account(SENDER, password=PASSWORD, nick="Sender")
    world.befriend(BOT, SENDER)
    path = tmp / "world.json"
    world.save(path)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smartqq",
        "emulator",
        "--port",
        str(port),
        "--world",
        str(path),
        "--hold",
        "20",
        "--max-batch",
        "50",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if b"listening on" not in line:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        await proc.wait()


async def inject(http: aiohttp.ClientSession, url: str, text: str, repeat: int = 1) -> None:
    payload = {"kind": "buddy", "from": SENDER, "to": BOT, "text": text, "repeat": repeat}
    async with http.post(f"{url}/_emu/inject", json=payload) as resp:
        resp.raise_for_status()


def pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(quick: bool) -> dict[str, Any]:
    n_events = 3_000 if quick else 20_000
    n_latency = 50 if quick else 300
    with tempfile.TemporaryDirectory() as tmp:
        async with emulator(Path(tmp)) as url, aiohttp.ClientSession() as http:
            client = Client(
                BOT,
                PASSWORD,
                base_url=url,
                send_interval=0,
                contacts_refresh=None,
                poll_timeout=60,
            )
            await client.login()

            # 1. smartqq alone: long-poll -> typed events -> a plain handler.
            seen = 0
            done = asyncio.Event()

            def count(msg: BuddyMessage) -> None:
                nonlocal seen
                seen += 1
                if seen >= n_events:
                    done.set()

            client.add_handler(BuddyMessage, count)
            await inject(http, url, "x", n_events)
            t0 = time.perf_counter()
            await client.start()
            await asyncio.wait_for(done.wait(), 300)
            smartqq_rate = n_events / (time.perf_counter() - t0)
            client.remove_handler(count)

            # 2. the same through the OneBot server to a bare WebSocket client.
            server = OneBotServer(client, ws=("127.0.0.1", 0), heartbeat_ms=0)
            await server.start()
            try:
                async with http.ws_connect(server.url("ws") + "/", max_msg_size=0) as ws:
                    json.loads((await ws.receive(timeout=10)).data)  # lifecycle
                    await inject(http, url, "warm-up")  # resolves ids once
                    await ws.receive(timeout=10)
                    await inject(http, url, "x", n_events)
                    t0 = time.perf_counter()
                    got = 0
                    while got < n_events:
                        frame = json.loads((await ws.receive(timeout=30)).data)
                        got += frame.get("post_type") == "message"
                    onebot_rate = n_events / (time.perf_counter() - t0)

                    # 3. reply latency, one at a time.
                    event_ms: list[float] = []
                    reply_ms: list[float] = []
                    for i in range(n_latency):
                        t0 = time.perf_counter()
                        await inject(http, url, f"ping {i}")
                        frame = json.loads((await ws.receive(timeout=10)).data)
                        event_ms.append((time.perf_counter() - t0) * 1000)
                        await ws.send_str(
                            json.dumps(
                                {
                                    "action": "send_private_msg",
                                    "params": {"user_id": frame["user_id"], "message": "pong"},
                                    "echo": i,
                                }
                            )
                        )
                        answer = json.loads((await ws.receive(timeout=10)).data)
                        assert answer["status"] == "ok", answer
                        reply_ms.append((time.perf_counter() - t0) * 1000)
            finally:
                await server.close()
            await client.close()
    return {
        "events": n_events,
        "smartqq_events_per_s": round(smartqq_rate),
        "onebot_events_per_s": round(onebot_rate),
        "onebot_ratio": round(onebot_rate / smartqq_rate, 3),
        "latency_samples": n_latency,
        "event_latency_p50_ms": round(pct(event_ms, 50), 2),
        "event_latency_p99_ms": round(pct(event_ms, 99), 2),
        "reply_latency_p50_ms": round(pct(reply_ms, 50), 2),
        "reply_latency_p99_ms": round(pct(reply_ms, 99), 2),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.quick))
    if args.json:
        print(json.dumps(result))
        return 0
    n = result["events"]
    print(
        f"smartqq end to end (long-poll -> handler), {n} events: "
        f"{result['smartqq_events_per_s']:,} events/s"
    )
    print(
        f"OneBot (-> server -> forward WS -> bare client), {n} events: "
        f"{result['onebot_events_per_s']:,} events/s ({result['onebot_ratio']:.2f}x)"
    )
    print(
        f"event latency (inject -> OneBot event), {result['latency_samples']} samples: "
        f"p50 {result['event_latency_p50_ms']} ms, p99 {result['event_latency_p99_ms']} ms"
    )
    print(
        f"reply latency (inject -> event -> send_private_msg answered): "
        f"p50 {result['reply_latency_p50_ms']} ms, p99 {result['reply_latency_p99_ms']} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
