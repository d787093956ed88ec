"""The phone page, the operator view, narrow screens and bad input, in a real browser."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Browser, expect
from web_helpers import bot_client, contact, messages_from, new_page, sign_in

from smartqq import Client, LoggedIn, Reconnected
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.testing import until

ALICE = 10002


async def test_the_phone_confirms_a_pending_qr_login_and_the_client_logs_in(
    emu: Emulator, browser: Browser
) -> None:
    shown: list[int] = []
    client = bot_client(emu, on_qrcode=lambda qr: shown.append(qr.attempt))
    logged_in: list[LoggedIn] = []
    client.on(LoggedIn)(logged_in.append)
    start = asyncio.ensure_future(client.start())
    try:
        page = await new_page(browser)
        await page.goto(emu.url + "/phone")
        pending = page.get_by_test_id("qr-pending")
        await expect(pending).to_have_count(1)
        # The QR code is a real image the browser decoded.
        width = await pending.locator("img").evaluate("img => img.naturalWidth")
        assert width > 50
        assert not start.done()  # nobody scanned it yet: the client is still waiting

        await page.get_by_test_id("login-qq").fill(str(BOT_QQ))
        await page.get_by_test_id("login-password").fill("wrong")
        await page.get_by_test_id("qr-confirm").click()
        await expect(page.get_by_test_id("error")).to_contain_text("wrong QQ number or password")
        assert not start.done()

        await page.get_by_test_id("login-password").fill("bot-password")
        await page.get_by_test_id("qr-confirm").click()
        await expect(page.get_by_test_id("notice")).to_contain_text("logs in as 10001")
        await asyncio.wait_for(start, 10)
        await until(lambda: bool(logged_in))
        assert logged_in[0].uin == BOT_QQ
        await expect(pending).to_have_count(0)  # confirmed codes leave the phone
        assert len(shown) == 1  # one code, scanned before it expired
    finally:
        await client.close()


async def test_a_tab_signed_in_as_alice_confirms_as_alice(emu: Emulator, browser: Browser) -> None:
    client = bot_client(emu, on_qrcode=lambda qr: None)
    start = asyncio.ensure_future(client.start())
    try:
        page = await new_page(browser)
        await sign_in(page, emu.url, ALICE, "alice-pw")
        await page.goto(emu.url + "/phone")
        pending = page.get_by_test_id("qr-pending")
        await expect(pending).to_have_count(1)
        await expect(pending.get_by_test_id("login-qq")).to_have_value(str(ALICE))
        await pending.get_by_test_id("login-password").press("Enter")  # empty: as this tab
        await asyncio.wait_for(start, 10)
        assert client.state is not None
        assert client.state.qq == ALICE
    finally:
        await client.close()


async def test_a_fault_rule_from_the_operator_view_makes_the_client_reconnect(
    emu: Emulator, bot: Client, browser: Browser
) -> None:
    reconnects: list[Reconnected] = []
    bot.on(Reconnected)(reconnects.append)
    page = await new_page(browser)
    await page.goto(emu.url + "/operator")
    await expect(page.get_by_test_id("connection")).to_have_text("live")
    await expect(page.locator("[data-testid=session][data-qq='10001']")).to_have_count(1)

    await page.get_by_test_id("fault-endpoint").fill("poll2")
    await page.get_by_test_id("fault-action").select_option("retcode")
    await page.get_by_test_id("fault-value").fill("121")
    await page.get_by_test_id("fault-mode").select_option("once")
    await page.get_by_test_id("fault-add").click()
    await expect(page.get_by_test_id("fault-rule")).to_contain_text(["poll2 → retcode 121"])

    journal = page.get_by_test_id("journal")
    faulted = journal.locator(
        "[data-endpoint=poll2][data-fault=true][data-retcode='121'][data-qq='10001']"
    )
    await expect(faulted).to_have_count(1)
    # The client relinks (login2 with its session) and polls again.
    await expect(journal.locator("[data-endpoint=login2][data-retcode='0']")).not_to_have_count(0)
    await until(lambda: bool(reconnects), timeout=10)
    assert reconnects[0].how == "relink"
    assert len(emu.faults.rules) == 1
    assert emu.faults.rules[0].fired == 1
    await expect(page.get_by_test_id("fault-rule")).to_contain_text(["fired 1"])

    await page.get_by_test_id("fault-clear").click()
    await expect(page.get_by_test_id("fault-rule")).to_have_count(0)
    assert emu.faults.rules == []
    # Still answering after the reconnect.
    emu.user(ALICE).send_buddy(BOT_QQ, "still there?")
    await until(lambda: any(r["text"] == "echo: still there?" for r in emu.sent), timeout=10)


async def test_operator_kick_and_restart(emu: Emulator, bot: Client, browser: Browser) -> None:
    page = await new_page(browser)
    await page.goto(emu.url + "/operator")
    await page.get_by_test_id("restart").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("Restarting")
    # The page's WebSocket drops with the restart and comes back by itself.
    await expect(page.get_by_test_id("journal")).to_contain_text("restart (keep_logins=True)")
    await expect(page.get_by_test_id("connection")).to_have_text("live")
    await page.locator("[data-testid=session][data-qq='10001'] [data-testid=kick]").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("Kicked")
    await expect(page.get_by_test_id("journal").locator("tr", has_text="kicked")).to_have_count(1)


async def test_the_chat_page_is_usable_400_px_wide(
    emu: Emulator, bot: Client, browser: Browser
) -> None:
    page = await new_page(browser, width=400, height=740)
    await sign_in(page, emu.url, ALICE, "alice-pw")
    for kind, ident in (("buddy", BOT_QQ), ("group", 200001), ("discu", 300001)):
        await expect(contact(page, kind, ident)).to_be_in_viewport()
    await contact(page, "discu", 300001).click()
    for testid in ("composer", "send"):
        box = await page.get_by_test_id(testid).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 400
    await page.get_by_test_id("composer").fill("narrow " * 30)
    await page.get_by_test_id("send").click()
    await expect(messages_from(page, BOT_QQ)).to_have_count(1)
    # Nothing sticks out sideways: no horizontal scrolling.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 400
    bubble = await messages_from(page, BOT_QQ).locator(".bubble").bounding_box()
    assert bubble is not None
    assert bubble["x"] + bubble["width"] <= 400


async def test_bad_input_gets_a_clear_error_and_sends_nothing(
    emu: Emulator, bot: Client, browser: Browser
) -> None:
    page = await new_page(browser)
    await sign_in(page, emu.url, ALICE, "alice-pw")
    await contact(page, "buddy", BOT_QQ).click()
    error = page.get_by_test_id("error")

    await page.get_by_test_id("composer").fill("x" * 2500)
    await page.keyboard.press("Enter")
    await expect(error).to_contain_text(re.compile(r"too long: 2500 characters \(limit 2000\)"))

    # A lone surrogate cannot be UTF-8: the server says so (the page has no check of its own).
    await page.get_by_test_id("composer").evaluate("(box) => { box.value = 'bad \\ud800 text'; }")
    await page.get_by_test_id("send").click()
    await expect(error).to_contain_text("not valid Unicode")

    # Over the API's size limit straight from the page's own script: a 413, not a 500.
    status = await page.evaluate(
        """async () => {
            const s = JSON.parse(sessionStorage.getItem('smartqq.session'));
            const r = await fetch('/_web/api/send', {method: 'POST', headers: {
                'Content-Type': 'application/json', 'X-Web-Session': s.session},
                body: JSON.stringify({kind: 'buddy', to: 10001, content: ['y'.repeat(200000)]})});
            return [r.status, (await r.json()).error];
        }"""
    )
    assert status == [413, "request too large (limit 65536 bytes)"]
    await expect(page.get_by_test_id("message")).to_have_count(0)
    assert emu.sent == []
