"""Re-take the web page screenshots in docs/: ``.venv/bin/python docs/webui_screenshots.py``.

Runs the emulator with the echo bot, chats as Alice in Debian's headless chromium
and saves ``docs/webui-chat.png`` and ``docs/webui-operator.png``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import async_playwright

from smartqq import Client, Content, Face, MessageEvent, Text
from smartqq.emulator import BOT_QQ, Emulator

DOCS = Path(__file__).resolve().parent
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def main() -> None:
    async with Emulator(hold=2, qr_confirm_after=None) as emu:
        client = Client(base_url=emu.url, on_qrcode=lambda qr: emu.confirm_qr(BOT_QQ))

        @client.on()
        async def echo(msg: MessageEvent) -> None:
            parts = [seg for seg in msg.content.segments if isinstance(seg, Text | Face)]
            if parts:
                await msg.reply(Content.of("echo: ", *parts))

        async with client, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = await browser.new_page(viewport={"width": 1000, "height": 560})
            await page.goto(emu.url + "/")
            await page.get_by_test_id("login-qq").fill("10002")
            await page.get_by_test_id("login-password").fill("alice-pw")
            await page.get_by_test_id("login-submit").click()
            group = page.locator("[data-testid=contact][data-kind=group]")
            await group.click()
            emu.user(10003).send_group(200001, ["anyone tried the web page? ", ["face", 13]])
            for text in ("Hello everyone 👋", "The bot answers here too 👍"):
                await page.get_by_test_id("composer").fill(text)
                await page.keyboard.press("Enter")
                await page.wait_for_timeout(400)
            await page.locator("[data-testid=message][data-from='10001']").nth(1).wait_for()
            await page.get_by_test_id("composer").fill("and <b>this</b> stays text")
            await page.wait_for_timeout(300)
            await page.screenshot(path=str(DOCS / "webui-chat.png"))
            operator = await browser.new_page(viewport={"width": 1100, "height": 720})
            await operator.goto(emu.url + "/operator")
            await operator.get_by_test_id("fault-add").click()
            await operator.wait_for_timeout(2500)
            await operator.evaluate("document.querySelector('.operator').scrollTo(0, 0)")
            await operator.screenshot(path=str(DOCS / "webui-operator.png"))
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
