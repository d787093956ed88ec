"""Several accounts in one process: Alice and Bob log in and talk to each other.

Each :class:`~smartqq.Client` has its own session, cookies, contact cache and
poll task; they share nothing mutable, so one process can run many accounts.
Run it against the embedded emulator:  python examples/multi_account.py
"""

from __future__ import annotations

import asyncio

from smartqq import BuddyMessage, Client
from smartqq.emulator import Emulator

ACCOUNTS = {10002: "alice-pw", 10003: "bob-pw"}


async def main(rounds: int = 3) -> list[str]:
    """Alice pings Bob ``rounds`` times; Bob's handler answers each. Returns the transcript."""
    transcript: list[str] = []
    async with Emulator() as emu:
        alice, bob = (
            Client(qq, password, base_url=emu.url, send_interval=0)
            for qq, password in ACCOUNTS.items()
        )

        @bob.on()
        async def answer(msg: BuddyMessage) -> None:
            transcript.append(f"Bob got   {msg.text!r} from {await msg.get_sender()}")
            await msg.reply(msg.text.replace("ping", "pong"))

        async with alice, bob:  # both log in and poll concurrently
            await alice.contacts.refresh()
            bob_friend = alice.contacts.friend_by_name("Bob")
            assert bob_friend is not None, "Bob is in Alice's friend list in the demo world"
            for i in range(1, rounds + 1):
                waiter = asyncio.ensure_future(
                    alice.wait_for(
                        BuddyMessage, check=lambda m: m.from_uin == bob_friend.uin, timeout=10
                    )
                )
                await asyncio.sleep(0)  # let the waiter register before the ping can be answered
                await alice.send_buddy_msg(bob_friend.uin, f"ping {i}")
                reply = await waiter
                transcript.append(f"Alice got {reply.text!r} from {await reply.get_sender()}")
    for line in transcript:
        print(line)
    return transcript


if __name__ == "__main__":
    asyncio.run(main())
