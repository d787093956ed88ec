"""A tqq (2005) echo bot: the same handler style as the SmartQQ bots, on the old HTTP API.

Bob runs the bot; Alice (another TQQClient) talks to it through the embedded tqq
emulator. Against a real server you would pass ``base_url="http://tqq.tencent.com:8000"``.
Run it:  python examples/tqq_bot.py
"""

from __future__ import annotations

import asyncio

from smartqq.emulator import TQQConfig, TQQEmulator
from smartqq.legacy.tqq import Status, TQQClient, TQQMessage, TQQStatusChange


def register(bot: TQQClient) -> None:
    @bot.on()
    async def echo(msg: TQQMessage) -> None:
        size = len(msg.text.encode())
        await msg.reply(f"echo: {msg.text}" if size < 100 else f"got {size} bytes")


async def main() -> list[str]:
    """Alice says two things and goes busy; returns what Alice saw."""
    seen: list[str] = []
    # The real server wants a second between sends; the emulator is told to want less.
    async with TQQEmulator(config=TQQConfig(min_interval=0.05, penalty=1.0)) as tqq:
        bot = TQQClient(10003, "bob-pw", base_url=tqq.url, poll_interval=0.05)
        alice = TQQClient(10002, "alice-pw", base_url=tqq.url, poll_interval=0.05)
        register(bot)
        alice.add_handler(TQQMessage, lambda m: seen.append(m.text))
        async with bot, alice:
            await alice.send(10003, "hello, 2005")
            await alice.send(10003, "long " * 100)  # 500 bytes: sent as two messages
            busy = asyncio.ensure_future(bot.wait_for(TQQStatusChange, timeout=10))
            await alice.set_status(Status.BUSY)
            await busy
            while len(seen) < 3:
                await asyncio.sleep(0.05)
    for line in seen:
        print("alice saw:", line[:60])
    return seen


if __name__ == "__main__":
    asyncio.run(main())
