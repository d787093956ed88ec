"""Helpers for the web page tests: the echo bot, chromium's flags, page actions."""

from __future__ import annotations

import os
from typing import Any

from playwright.async_api import Browser, Page, expect

from smartqq import Client, Content, Face, MessageEvent, Text
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.testing import make_client

CHROMIUM = os.environ.get("SMARTQQ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
expect.set_options(timeout=10_000)


def echo(client: Client) -> None:
    """The echo bot of examples/echo_bot.py (installed copies ship without examples/)."""

    @client.on()
    async def _echo(msg: MessageEvent) -> None:
        parts = [seg for seg in msg.content.segments if isinstance(seg, Text | Face)]
        if parts:
            await msg.reply(Content.of("echo: ", *parts))


def bot_client(emu: Emulator, **options: Any) -> Client:
    """The bot, logging in by QR; the emulator confirms its code as the bot account."""
    options.setdefault("on_qrcode", lambda qr: emu.confirm_qr(BOT_QQ))
    client = make_client(emu, **options)
    echo(client)
    return client


async def new_page(browser: Browser, width: int = 1100, height: int = 720) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


async def sign_in(page: Page, url: str, qq: int, password: str) -> None:
    await page.goto(url + "/")
    await page.get_by_test_id("login-qq").fill(str(qq))
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("contact").first).to_be_visible()


def contact(page: Page, kind: str, ident: int) -> Any:
    return page.locator(f'[data-testid=contact][data-kind={kind}][data-id="{ident}"]')


def messages_from(page: Page, qq: int) -> Any:
    return page.locator(f'[data-testid=message][data-from="{qq}"]')
