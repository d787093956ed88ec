"""``/quit`` stops the bot from inside a handler (other handlers finish first)."""

from __future__ import annotations

from smartqq import Client, MessageEvent, Router
from smartqq import filters as f

router = Router(name="admin")
OWNER = 10002  # Alice's QQ number in the emulator's demo world


@router.command("quit", f.from_qq(OWNER), description="stop the bot (owner only)")
async def quit_(msg: MessageEvent, client: Client) -> None:
    await msg.reply("bye")
    await client.stop()  # safe here: returns at once, the client stops after this handler
