"""A bot whose /quit handler calls client.stop() while another handler is busy.

Run as a script by tests/toolkit/test_scripts.py: exit status 0, nothing on
stderr, and no task left when run_until_disconnected() returns.
"""

from __future__ import annotations

import asyncio

from smartqq import GroupMessage, MessageEvent
from smartqq.emulator import Emulator
from smartqq.testing import make_client


async def main() -> None:
    async with Emulator(hold=1.0, qr_confirm_after=1) as emu:
        client = make_client(emu)
        busy = asyncio.Event()

        @client.on(GroupMessage)
        async def slow(msg: GroupMessage) -> None:
            busy.set()
            await asyncio.sleep(0.2)
            await msg.reply("slow done")

        @client.command("quit")
        async def quit_(msg: MessageEvent) -> None:
            await busy.wait()
            await client.stop()
            await msg.reply("bye")

        @client.on_shutdown
        def shutdown() -> None:
            print("shutdown hook ran")

        async with client:
            emu.user(10002).send_group("Python Fans", "work")
            emu.user(10002).send_buddy(10001, "/quit")
            await client.run_until_disconnected()
        print("sent:", sorted(r["text"] for r in emu.sent))
        mine = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        print("tasks left:", [t.get_name() for t in mine if t.get_name().startswith("smartqq")])


if __name__ == "__main__":
    asyncio.run(main())
