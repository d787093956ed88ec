"""The handlers the cluster tests run in workers: answer every buddy message once."""

from __future__ import annotations

import asyncio
import json
import os

from smartqq import BuddyMessage
from smartqq.cluster import Handlers

handlers = Handlers()
DELAY = float(os.environ.get("ECHO_DELAY", "0"))
"""Seconds each handler sleeps before replying (chaos tests kill workers meanwhile)."""
LOG = os.environ.get("ECHO_LOG")
"""A file each handler run appends ``{"pid", "text"}`` to (redelivery shows up there)."""


@handlers.on(BuddyMessage)
async def echo(msg: BuddyMessage) -> None:
    if LOG:
        with open(LOG, "a") as f:  # noqa: ASYNC230 (a test log line; O_APPEND is atomic)
            f.write(json.dumps({"pid": os.getpid(), "text": msg.text}) + "\n")
    if DELAY:
        await asyncio.sleep(DELAY)
    await msg.reply(f"echo: {msg.text}")
