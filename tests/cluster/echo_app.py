"""The handlers the cluster tests run in workers: answer every buddy message once."""

from __future__ import annotations

import asyncio
import os

from smartqq import BuddyMessage
from smartqq.cluster import Handlers

handlers = Handlers()
DELAY = float(os.environ.get("ECHO_DELAY", "0"))
"""Seconds each handler sleeps before replying (chaos tests kill workers meanwhile)."""


@handlers.on(BuddyMessage)
async def echo(msg: BuddyMessage) -> None:
    if DELAY:
        await asyncio.sleep(DELAY)
    await msg.reply(f"echo: {msg.text}")
