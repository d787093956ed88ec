"""A toolkit Router for workers: a command, a filter and middleware."""

from __future__ import annotations

from typing import Any

from smartqq import BuddyMessage, Router
from smartqq import filters as f

router = Router("cluster-test")
seen: list[str] = []


@router.outer_middleware
async def count(handler: Any, event: Any, data: dict[str, Any]) -> Any:
    seen.append(getattr(event, "text", ""))
    return await handler(event, data)


@router.command("ping")
async def ping(msg: BuddyMessage) -> None:
    await msg.reply("pong")


@router.on(BuddyMessage, f.text_contains("hello"))
async def hello(msg: BuddyMessage) -> None:
    await msg.reply("hello to you")
