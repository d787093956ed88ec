"""Dice and cheering: commands with typed arguments, a cooldown, and a filter."""

from __future__ import annotations

import random

from smartqq import GroupMessage, MessageEvent, Router
from smartqq import filters as f

router = Router(name="fun")


@router.command("roll", description="roll a die", aliases=["dice"], cooldown=3.0)
async def roll(msg: MessageEvent, sides: int = 6) -> None:
    if sides < 1:
        await msg.reply("a die needs at least one side")
        return
    await msg.reply(f"🎲 {random.randint(1, sides)}")


@router.command("echo", description="say it back: /echo text")
async def echo(msg: MessageEvent, args: str) -> None:
    await msg.reply(args or "(nothing to echo)")


@router.on(GroupMessage, f.text_contains("python", ignore_case=True) & ~f.from_self())
async def cheer(msg: GroupMessage) -> None:
    await msg.reply("Python! 🐍")
