"""Fixtures for the emulator's web page: an emulator with the echo bot, and Debian's chromium.

The browser is the system's ``/usr/bin/chromium`` driven by Playwright (no browser
is ever downloaded; ``.ci/run`` installs chromium with apt-get). When chromium is
missing the browser tests FAIL with that message: they never skip.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright
from web_helpers import CHROMIUM, CHROMIUM_ARGS, bot_client

from smartqq import Client
from smartqq.emulator import Emulator


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    # Auto-confirm off: a QR login waits for the phone page (or the test) to confirm it.
    async with Emulator(hold=1.0, qr_confirm_after=None) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Client]:
    client = bot_client(emu)
    async with client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
            ".ci/run does this"
        )
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()
