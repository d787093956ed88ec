"""An unmodified NoneBot2 bot (nonebot-adapter-onebot, from PyPI) over the forward WebSocket.

NoneBot runs in a child process, as its users run it; it connects to the
OneBot server's WebSocket, receives private and group messages from the
emulator, and its replies must arrive in the right chat exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from smartqq.client import Client
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.onebot import OneBotServer
from smartqq.testing import until

BOT_SCRIPT = Path(__file__).with_name("nonebot_echo.py")
TOKEN = "nb-token"


def sent_to(emulator: Emulator, kind: str, to: int) -> list[str]:
    return [r["text"] for r in emulator.sent if r["kind"] == kind and r["to"] == to]


async def test_nonebot_forward_ws_private_and_group(
    client: Client, emulator: Emulator, tmp_path: Path
) -> None:
    async with OneBotServer(
        client, ws="127.0.0.1:0", access_token=TOKEN, heartbeat_ms=100
    ) as server:
        env = {
            **os.environ,
            "DRIVER": "~aiohttp",
            "ONEBOT_WS_URLS": json.dumps([server.url("ws") + "/"]),
            "ONEBOT_ACCESS_TOKEN": TOKEN,
            "LOG_LEVEL": "DEBUG",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BOT_SCRIPT),
            cwd=tmp_path,  # no stray .env file is read
            env=env,
            stdout=asyncio.subprocess.PIPE,  # NoneBot logs to stdout
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await until(lambda: server.sinks, timeout=30)  # NoneBot connected
            await asyncio.sleep(0.3)  # it registers the bot on the lifecycle event
            emulator.user(10002).send_buddy(BOT_QQ, "hello nonebot")
            await until(lambda: sent_to(emulator, "buddy", 10002), timeout=10)
            emulator.user(10003).send_group(200001, "hi group")
            await until(lambda: sent_to(emulator, "group", 200001), timeout=10)
            emulator.user(10003).set_status("busy")  # a notice (our friend_status extension)
            await asyncio.sleep(0.5)  # heartbeats and the notice reach NoneBot's models too
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    assert proc.stdout is not None
    log = (await proc.stdout.read()).decode(errors="replace")
    print(log)
    assert "Failed to parse event" not in log  # every event passed NoneBot's models
    assert "[notice.friend_status]" in log
    assert "ERROR" not in log, log
    assert sent_to(emulator, "buddy", 10002) == ["nb private hello nonebot"]
    assert sent_to(emulator, "group", 200001) == ["nb group hi group"]
