"""An unmodified OneBot v11 bot (aiocqhttp) chatting through smartqq and the emulator.

Everything runs in one process on loopback: the emulator, a smartqq client
logged in to it, the OneBot server connecting a reverse WebSocket to the bot,
and the bot itself (aiocqhttp's own Quart server). Two world users write to
the bot; the transcript shows what the bot received and what arrived back.

    pip install aiocqhttp          # (it is in smartqq's dev extra)
    python examples/onebot_aiocqhttp.py

The same bot works against ``smartqq onebot --ws-reverse ws://127.0.0.1:8080/ws/``
(see docs/onebot.md).
"""

from __future__ import annotations

import asyncio
import socket

from aiocqhttp import CQHttp, Event

from smartqq import Client
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.onebot import OneBotServer

TOKEN = "example-token"


def make_bot() -> CQHttp:
    bot = CQHttp(access_token=TOKEN)

    @bot.on_message("private")
    async def private(event: Event) -> None:
        await bot.send(event, f"you said: {event.raw_message}")

    @bot.on_message("group")
    async def group(event: Event) -> dict[str, object]:
        # A quick operation: the reply rides on the answer to the event.
        return {
            "reply": f"{event.sender['nickname']} said: {event.raw_message}",
            "at_sender": False,
        }

    return bot


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(condition: object, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        if loop.time() > end:
            raise TimeoutError("the bot did not answer")
        await asyncio.sleep(0.02)


async def main() -> list[str]:
    port = free_port()
    bot = make_bot()
    stop = asyncio.Event()
    bot_task = asyncio.ensure_future(
        bot.run_task(host="127.0.0.1", port=port, shutdown_trigger=stop.wait)
    )
    transcript: list[str] = []
    try:
        async with Emulator(qr_confirm_after=1, qr_account=BOT_QQ, hold=1.0) as emu:
            client = Client(base_url=emu.url, qr_poll_interval=0.05, on_qrcode=lambda qr: None)
            async with (
                client,
                OneBotServer(
                    client,
                    ws_reverse=[f"ws://127.0.0.1:{port}/ws/"],
                    access_token=TOKEN,
                    reconnect_interval_ms=100,
                ) as server,
            ):
                await wait_for(lambda: server.sinks)  # the bot accepted the connection
                emu.user(10002).send_buddy(BOT_QQ, "hello over OneBot")
                await wait_for(lambda: len(emu.sent) == 1)
                emu.user(10003).send_group(200001, "hi everyone")
                await wait_for(lambda: len(emu.sent) == 2)
                for record in emu.sent:
                    line = f"{record['kind']} -> {record['to']}: {record['text']}"
                    transcript.append(line)
                    print(line)
    finally:
        stop.set()
        await asyncio.wait_for(bot_task, 10)
    return transcript


if __name__ == "__main__":
    asyncio.run(main())
