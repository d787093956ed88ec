"""Start ``python -m smartqq emulator`` in its own process with a generated world."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from smartqq.emulator import World

BOT = 10001
SENDER = 10002
FIRST_CLIENT = 20000
PASSWORD = "bench-pw"
GROUP = 500001


def bench_world(clients: int) -> World:
    """The bot, a sender, and ``clients`` accounts; everyone befriends the sender and
    shares one group with them (for the broadcast)."""
    w = World()
    w.add_account(BOT, password=PASSWORD, nick="BenchBot")
    w.add_account(SENDER, password=PASSWORD, nick="Sender")
    w.befriend(BOT, SENDER)
    members = [BOT]
    for i in range(clients):
        qq = FIRST_CLIENT + i
        w.add_account(qq, password=PASSWORD, nick=f"client{i}")
        w.befriend(qq, SENDER)
        members.append(qq)
    w.add_group(GROUP, "Broadcast", SENDER, members, {})
    return w


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def emulator_process(
    tmp: Path, clients: int = 0, hold: float = 20.0, max_batch: int = 50
) -> AsyncIterator[str]:
    world_file = tmp / f"world-{clients}.json"
    bench_world(clients).save(world_file)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smartqq",
        "emulator",
        "--port",
        str(port),
        "--world",
        str(world_file),
        "--hold",
        str(hold),
        "--max-batch",
        str(max_batch),
        "--qr-confirm-after",
        "1",
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
