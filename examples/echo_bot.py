"""An echo bot: answers every buddy, group and discussion message in its own chat,
repeating its text and faces.

Run it against the embedded emulator:  python examples/echo_bot.py
"""

from __future__ import annotations

import asyncio

from smartqq import Client, Content, Face, MessageEvent, Text
from smartqq.emulator import Emulator


def register(client: Client) -> None:
    """Install the echo handler on ``client`` (the demo uses this too)."""

    @client.on()
    async def echo(msg: MessageEvent) -> None:
        # Only text and faces can be sent back; received pictures stay behind.
        parts = [seg for seg in msg.content.segments if isinstance(seg, Text | Face)]
        if parts:
            await msg.reply(Content.of("echo: ", *parts))


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
