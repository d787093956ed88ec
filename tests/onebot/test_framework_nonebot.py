"""An unmodified NoneBot2 bot (nonebot-adapter-onebot, from PyPI) over all three transports.

NoneBot runs in a child process, configured through environment variables as
its users configure it: forward WebSocket (aiohttp driver), reverse WebSocket
(its default setup: a Quart server on /onebot/v11/ws) and HTTP (POST reports to
/onebot/v11/http, signed, API calls to our HTTP API). It receives private and
group messages from the emulator; its replies must arrive in the right chat
exactly once, and every event must pass NoneBot's models.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from smartqq.client import Client
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.onebot import OneBotServer
from smartqq.testing import until

BOT_SCRIPT = Path(__file__).with_name("nonebot_echo.py")
TOKEN = "nb-token"
SECRET = "nb-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sent_to(emulator: Emulator, kind: str, to: int) -> list[str]:
    return [r["text"] for r in emulator.sent if r["kind"] == kind and r["to"] == to]


async def port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


@pytest.mark.parametrize("mode", ["ws", "ws-reverse", "http"])
async def test_nonebot_private_and_group(
    client: Client, emulator: Emulator, tmp_path: Path, mode: str
) -> None:
    nb_port, api_port = free_port(), free_port()
    env: dict[str, str] = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(nb_port),
        "ONEBOT_ACCESS_TOKEN": TOKEN,
        "LOG_LEVEL": "DEBUG",
    }
    options: dict[str, Any] = {"access_token": TOKEN, "heartbeat_ms": 100}
    if mode == "ws":
        env["DRIVER"] = "~aiohttp"
        options["ws"] = ("127.0.0.1", api_port)
        env["ONEBOT_WS_URLS"] = json.dumps([f"ws://127.0.0.1:{api_port}/"])
    elif mode == "ws-reverse":
        env["DRIVER"] = "~quart"
        options["ws_reverse"] = [f"ws://127.0.0.1:{nb_port}/onebot/v11/ws"]
        options["reconnect_interval_ms"] = 100
    else:
        env["DRIVER"] = "~quart+~aiohttp"
        env["ONEBOT_SECRET"] = SECRET
        env["ONEBOT_API_ROOTS"] = json.dumps({str(BOT_QQ): f"http://127.0.0.1:{api_port}/"})
        options.update(
            http=("127.0.0.1", api_port),
            post_urls=[f"http://127.0.0.1:{nb_port}/onebot/v11/http"],
            secret=SECRET,
            heartbeat_ms=0,
        )
    async with OneBotServer(client, **options) as server:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BOT_SCRIPT),
            cwd=tmp_path,  # no stray .env file is read
            env=env,
            stdout=asyncio.subprocess.PIPE,  # NoneBot logs to stdout
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            if mode == "http":
                loop = asyncio.get_running_loop()
                end = loop.time() + 30
                while not await port_open(nb_port):
                    assert loop.time() < end, "NoneBot did not start"
                    await asyncio.sleep(0.05)
            else:
                await until(lambda: server.sinks, timeout=30)  # NoneBot connected
                await asyncio.sleep(0.3)  # it registers the bot on connecting
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
