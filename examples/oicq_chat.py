"""Two OICQ users (the 2004 binary protocol) chat through a loopback OICQ server.

Frames are built and parsed by ``smartqq.legacy.oicq``; the server keeps the demo
world's accounts and friendships. Run it:  python examples/oicq_chat.py
"""

from __future__ import annotations

import asyncio

from smartqq.emulator import OICQServer
from smartqq.legacy.oicq import OICQClient
from smartqq.legacy.oicq import messages as m


async def main() -> list[m.Message]:
    """Alice signs on, Bob signs on, Alice says hello; returns what Alice and Bob received."""
    async with OICQServer() as server:
        alice = OICQClient(server.host, server.port)
        bob = OICQClient(server.host, server.port)
        async with alice, bob:
            login = await alice.login(10002, "alice-pw")
            print("Alice's friends:", [f.nick for g in login.groups for f in g.friends])
            await bob.login(10003, "bob-pw")
            came_online = await alice.receive(timeout=5)  # FriendStatus(10003, 1)
            await alice.send_message(10003, "你好, Bob")
            message = await bob.receive(timeout=5)  # Incoming(flag=2, sender=10002, ...)
            print("Bob got:", message)
            return [came_online, message]


if __name__ == "__main__":
    asyncio.run(main())
