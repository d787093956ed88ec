"""An echo bot: answers every buddy, group and discussion message in its own chat.

Run it against the embedded emulator:  python examples/echo_bot.py
"""

from __future__ import annotations

import asyncio

from smartqq import Client, MessageEvent
from smartqq.emulator import Emulator


def register(client: Client) -> None:
    """Install the echo handler on ``client`` (the demo uses this too)."""

    @client.on()
    async def echo(msg: MessageEvent) -> None:
        if msg.text.strip():
            await msg.reply(f"echo: {msg.text}")


async def main() -> None:
    async with Emulator(qr_confirm_after=2) as emu:
        client = Client(base_url=emu.url, qr_poll_interval=0.2)
        register(client)
        async with client:
            emu.user(10002).send_buddy(10001, "hello, echo bot")
            reply = await asyncio.wait_for(_first_reply(emu), 10)
            print("bot replied:", reply)


async def _first_reply(emu: Emulator) -> str:
    while not emu.sent:
        await asyncio.sleep(0.05)
    return str(emu.sent[0]["text"])


if __name__ == "__main__":
    asyncio.run(main())
