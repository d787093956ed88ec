"""The legacy tqq client shares the dispatch layer: routers, filters, middleware, order."""

from __future__ import annotations

import asyncio
from typing import Any

from smartqq import Event, Router
from smartqq.emulator import TQQConfig, TQQEmulator
from smartqq.legacy.tqq import TQQClient, TQQMessage


async def test_a_tqq_bot_built_from_a_router() -> None:
    router = Router(name="tqq")
    seen: list[str] = []

    @router.outer_middleware
    async def tag(handler: Any, event: Event, data: dict[str, Any]) -> Any:
        data["tag"] = "mw"
        return await handler(event, data)

    @router.on(TQQMessage, lambda m: m.text.startswith("echo "))
    async def echo(msg: TQQMessage, tag: str) -> None:
        seen.append(msg.text)
        await msg.reply(f"{tag}: {msg.text[5:]}")

    async with TQQEmulator(config=TQQConfig(min_interval=0.01, penalty=0.1)) as tqq:
        bot = TQQClient(10003, "bob-pw", base_url=tqq.url, poll_interval=0.02)
        alice = TQQClient(10002, "alice-pw", base_url=tqq.url, poll_interval=0.02)
        bot.include_router(router)
        got: list[str] = []
        alice.add_handler(TQQMessage, lambda m: got.append(m.text))
        async with bot, alice:
            for n in range(3):
                await alice.send(10003, f"echo {n}")
            await alice.send(10003, "not for the router")
            while len(got) < 3:
                await asyncio.sleep(0.02)
    assert seen == ["echo 0", "echo 1", "echo 2"]  # one chat: arrival order
    assert got == ["mw: 0", "mw: 1", "mw: 2"]
