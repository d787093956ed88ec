"""``smartqq legacy-demo``: a short scripted session on the older protocols, printed live.

Part 1, tqq (``tqq.tencent.com:8000`` as the 2004-2006 seeds describe it): Alice and Bob
log in to the embedded :class:`~smartqq.emulator.TQQEmulator`, list friends, look each
other up, chat (one message long enough to be split under 400 bytes), watch a status
change, run the friend-request dialogue with Carol, and log out. Part 2, OICQ: two
users sign on to a loopback :class:`~smartqq.emulator.OICQServer`, exchange a
message and see each other's status frames.
"""

from __future__ import annotations

import asyncio
import time

from smartqq.emulator import OICQServer, TQQConfig, TQQEmulator, demo_world
from smartqq.legacy.oicq import OICQClient
from smartqq.legacy.oicq import messages as oicq
from smartqq.legacy.tqq import (
    Status,
    TQQAuthAccepted,
    TQQAuthRequest,
    TQQClient,
    TQQMessage,
    TQQStatusChange,
)

ALICE, BOB, CAROL = 10002, 10003, 10004
LONG = "从前有座山，山里有座庙。" * 20  # 720 bytes: two CLTMSGs


class _Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def say(self, who: str, text: str) -> None:
        short = text if len(text) <= 72 else text[:69] + "..."
        print(f"{time.monotonic() - self.start:6.2f}s {who:>8}  {short}", flush=True)


async def run_legacy_demo() -> int:
    out = _Clock()
    world = demo_world()
    # Rate limits shortened from the real 1 s / 20 s so the demo takes seconds.
    config = TQQConfig(min_interval=0.1, penalty=1.0)
    async with TQQEmulator(world, config=config) as tqq:
        tqq.service.auth_policy[CAROL] = 1  # Carol approves friend requests herself
        print(f"Embedded tqq emulator on {tqq.url}", flush=True)

        def account(qq: int, password: str) -> TQQClient:
            return TQQClient(qq, password, base_url=tqq.url, poll_interval=0.05, send_interval=0.15)

        async with (
            account(ALICE, "alice-pw") as alice,
            account(BOB, "bob-pw") as bob,
            account(CAROL, "carol-pw") as carol,
        ):
            out.say("Alice", "logged in (Login, M5=1, md5 password)")
            friends = await alice.list_friends()
            out.say("Alice", f"List: {friends.count} friends {friends.uins}")
            online = await alice.online_friends()
            shown = ", ".join(f"{f.nick} ({f.status.label})" for f in online.friends)
            out.say("Alice", f"Query_Stat: {shown}")
            info = await alice.get_info(BOB, level=3)
            gender = info.gender.label if info.gender is not None else "?"
            out.say("Alice", f"GetInfo LV=3 on {info.uin}: {info.nick}, {gender}")

            @bob.on()
            async def echo(msg: TQQMessage) -> None:
                out.say("Bob", f"got {len(msg.text.encode())} bytes from {msg.sender}: {msg.text}")
                await msg.reply(f"echo ({len(msg.text)} chars)")

            echoes_due = 3  # one per CLTMSG: the greeting, then the long text's two pieces
            all_echoed = asyncio.Event()

            @alice.on()
            async def show(msg: TQQMessage) -> None:
                nonlocal echoes_due
                out.say("Alice", f"got from {msg.sender}: {msg.text}")
                echoes_due -= 1
                if echoes_due == 0:
                    all_echoed.set()

            @alice.on()
            async def status(change: TQQStatusChange) -> None:
                out.say("Alice", f"status of {change.sender}: {change.status.label}")

            @carol.on()
            async def approve(request: TQQAuthRequest) -> None:
                out.say("Carol", f"friend request from {request.sender}: {request.reason}")
                await request.approve()

            await alice.send(BOB, "hello Bob, it is 2005 again")
            pieces = await alice.send(BOB, LONG)
            out.say(
                "Alice", f"sent {len(LONG.encode())} bytes as {pieces} CLTMSGs (< 400 bytes each)"
            )
            await asyncio.wait_for(all_echoed.wait(), 10)
            busy = asyncio.ensure_future(
                alice.wait_for(TQQStatusChange, check=lambda c: c.status is Status.BUSY, timeout=5)
            )
            await bob.set_status(Status.BUSY)
            await busy
            added = await alice.add_friend(CAROL)
            out.say("Alice", f"AddToList {CAROL}: {added.outcome.label}")
            approved = asyncio.ensure_future(alice.wait_for(TQQAuthAccepted, timeout=5))
            await alice.request_auth(CAROL, "Alice here, from the Python group")
            accepted = await approved
            out.say(
                "Alice",
                f"{accepted.sender} approved: friends now {(await alice.list_friends()).uins}",
            )
        out.say("tqq", f"everyone logged out; {len(tqq.service.sent)} messages were sent")

    async with OICQServer(world) as server:
        print(f"Loopback OICQ server on {server.host}:{server.port}", flush=True)
        a, b = OICQClient(server.host, server.port), OICQClient(server.host, server.port)
        async with a, b:
            result = await a.login(ALICE, "alice-pw")
            names = [f.nick for g in result.groups for f in g.friends]
            out.say(
                "Alice", f"0x02 login: groups {[g.name for g in result.groups]}, friends {names}"
            )
            await b.login(BOB, "bob-pw")
            seen = await a.receive(timeout=5)
            out.say("Alice", f"0x15 friend status: {seen}")
            await a.send_message(BOB, "你好 over OICQ")
            got = await b.receive(timeout=5)
            assert isinstance(got, oicq.Incoming)
            out.say("Bob", f"0x03 message from {got.sender}: {got.text}")
            mode = await b.set_mode(3)
            out.say("Bob", f"0x10 mode now {mode.mode} (do not disturb)")
            out.say("Alice", f"0x15 friend status: {await a.receive(timeout=5)}")
    print("legacy demo finished OK", flush=True)
    return 0
