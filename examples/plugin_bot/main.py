"""Run the plugin bot: ``python examples/plugin_bot/main.py`` (the embedded emulator by
default; ``--base-url`` for another server).

The bot is the plugins in ``mybot/plugins/``, loaded by package name;
``client.run()`` handles SIGINT/SIGTERM (Ctrl-C) by stopping cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # so "mybot" imports from here

from smartqq import Client, LoggedIn
from smartqq.emulator import Emulator

log = logging.getLogger("mybot")


def build(base_url: str | None = None, **options: object) -> Client:
    client = Client(base_url=base_url, **options)  # type: ignore[arg-type]
    loaded = client.load_plugins("mybot.plugins")
    log.info("plugins: %s", ", ".join(loaded))

    @client.on_startup
    def ready() -> None:
        log.info("bot started; try /help")

    @client.on_shutdown
    def goodbye() -> None:
        log.info("bot stopped")

    @client.on(LoggedIn)
    def logged_in(event: LoggedIn) -> None:
        log.info("logged in as %s (%d)", event.nick, event.qq)

    return client


async def demo() -> list[str]:
    """A scripted session against the embedded emulator; returns the bot's replies."""
    async with Emulator(hold=1.0, qr_confirm_after=1) as emu:
        client = build(emu.url, on_qrcode=lambda qr: None, qr_poll_interval=0.01, send_interval=0)
        async with client:
            alice = emu.user(10002)
            for text in ["/roll 1", "/register", "Alice", "33", "/whoami", "/help", "/quit"]:
                before = len(emu.sent)
                alice.send_buddy(10001, text)
                while len(emu.sent) == before:
                    await asyncio.sleep(0.01)
            await client.run_until_disconnected()
        return [r["text"] for r in emu.sent]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", help="a SmartQQ-compatible server (default: emulator demo)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.base_url:
        build(args.base_url).run()
    else:
        for line in asyncio.run(demo()):
            print("bot:", line)


if __name__ == "__main__":
    main()
