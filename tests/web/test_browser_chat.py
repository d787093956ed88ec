"""A person chats with the echo bot in a real browser (Debian's chromium via Playwright)."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect
from web_helpers import contact, messages_from, new_page, sign_in

from smartqq import Client
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.testing import until

ALICE = 10002


async def test_alice_sends_a_buddy_and_a_group_message_and_sees_both_answers(
    emu: Emulator, bot: Client, browser: Browser
) -> None:
    page = await new_page(browser)
    await sign_in(page, emu.url, ALICE, "alice-pw")
    await expect(page.get_by_test_id("whoami")).to_contain_text("Alice")
    # Friends show marknames and status; groups and discussions are listed too.
    await expect(contact(page, "buddy", BOT_QQ)).to_contain_text("online")
    await expect(contact(page, "group", 200001)).to_contain_text("Python Fans")
    await expect(contact(page, "discu", 300001)).to_contain_text("Weekend plans")

    await contact(page, "buddy", BOT_QQ).click()
    await page.get_by_test_id("composer").fill("hi bot")
    await page.get_by_test_id("send").click()
    await expect(messages_from(page, BOT_QQ)).to_have_text([re.compile("echo: hi bot")])

    await contact(page, "group", 200001).click()
    await page.get_by_test_id("composer").fill("hello group")
    await page.get_by_test_id("send").click()
    await expect(messages_from(page, BOT_QQ)).to_contain_text(["echo: hello group"])
    await expect(messages_from(page, ALICE)).to_contain_text(["hello group"])
    # The bot really got both through SmartQQ and answered in the right chats.
    assert [(r["kind"], r["to"], r["text"]) for r in emu.sent] == [
        ("buddy", ALICE, "echo: hi bot"),
        ("group", 200001, "echo: hello group"),
    ]
    # History of this run: back in the buddy chat, the first exchange is still there.
    await contact(page, "buddy", BOT_QQ).click()
    await expect(page.get_by_test_id("message")).to_have_count(2)
    assert page.js_errors == []  # type: ignore[attr-defined]


async def test_enter_sends_shift_enter_breaks_the_line_and_faces_travel(
    emu: Emulator, bot: Client, browser: Browser
) -> None:
    page = await new_page(browser)
    await sign_in(page, emu.url, ALICE, "alice-pw")
    await contact(page, "buddy", BOT_QQ).click()
    composer = page.get_by_test_id("composer")
    await composer.click()
    await page.keyboard.type("two")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("lines ")
    await page.get_by_test_id("faces").click()
    await page.locator("#face-picker button[data-face='14']").click()
    await page.keyboard.press("Enter")
    await expect(messages_from(page, BOT_QQ)).to_have_count(1)
    await expect(composer).to_have_value("")
    assert emu.sent[0]["text"] == "echo: two\nlines [face:14]"  # the face went as a face
    await expect(messages_from(page, BOT_QQ).locator("[data-face='14']")).to_have_count(1)


async def test_script_tags_show_as_text(emu: Emulator, bot: Client, browser: Browser) -> None:
    page = await new_page(browser)
    await sign_in(page, emu.url, ALICE, "alice-pw")
    await contact(page, "buddy", BOT_QQ).click()
    evil = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2><b>bold</b>"
    await page.get_by_test_id("composer").fill(evil)
    await page.keyboard.press("Enter")
    await expect(messages_from(page, BOT_QQ)).to_have_text([re.compile(re.escape("echo: " + evil))])
    bubbles = page.locator("[data-testid=message] .bubble")
    assert await bubbles.locator("script, img, b").count() == 0
    assert await page.evaluate("window.pwned") is None


async def test_two_tabs_are_two_accounts_and_see_each_other_live(
    emu: Emulator, browser: Browser
) -> None:
    tabs = await browser.new_context()  # one browser profile: cookies and storage shared
    alice, bob = await tabs.new_page(), await tabs.new_page()
    await sign_in(alice, emu.url, ALICE, "alice-pw")
    await sign_in(bob, emu.url, 10003, "bob-pw")
    await expect(bob.get_by_test_id("whoami")).to_contain_text("Bob")
    await expect(alice.get_by_test_id("whoami")).to_contain_text("Alice")  # not taken over
    await contact(alice, "buddy", 10003).click()
    await contact(bob, "buddy", ALICE).click()
    await alice.get_by_test_id("composer").fill("hi Bob, from tab one")
    await alice.keyboard.press("Enter")
    await expect(messages_from(bob, ALICE)).to_have_text([re.compile("hi Bob, from tab one")])


async def test_a_captcha_account_signs_in_after_reading_the_picture(
    emu: Emulator, browser: Browser
) -> None:
    page = await new_page(browser)
    await page.goto(emu.url + "/")
    await page.get_by_test_id("login-qq").fill("10004")
    await page.get_by_test_id("login-password").fill("carol-pw")
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("login-error")).to_contain_text("letters in the picture")
    await expect(page.get_by_test_id("login-captcha-image")).to_be_visible()
    await until(lambda: emu.captcha_code(10004) is not None)
    await page.get_by_test_id("login-captcha").fill(str(emu.captcha_code(10004)).lower())
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("whoami")).to_contain_text("Carol & Co")
