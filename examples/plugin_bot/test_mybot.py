"""Tests for the plugin bot: routers alone (RouterTester) and against the emulator."""

from __future__ import annotations

from mybot.plugins import admin, fun, profile

from smartqq import Client
from smartqq.emulator import Emulator
from smartqq.testing import RouterTester, until


async def test_roll_with_one_side_and_bad_sides() -> None:
    async with RouterTester(fun.router) as bot:
        assert await bot.buddy("/roll 1", sender=1) == ["🎲 1"]
        assert await bot.buddy("/roll 1", sender=1) == []  # a 3 s cooldown per chat
        assert await bot.buddy("/dice 0", sender=2) == ["a die needs at least one side"]
        assert await bot.buddy("/roll lots", sender=3) == [
            "sides must be an integer, not 'lots'. Usage: /roll [sides] - roll a die"
        ]


async def test_registration_conversation() -> None:
    async with RouterTester(profile.router) as bot:
        assert await bot.buddy("/register", sender=7) == ["What's your name?"]
        assert await bot.buddy("Zed", sender=7) == ["Nice to meet you, Zed. How old are you?"]
        assert await bot.buddy("41", sender=7) == ["Registered Zed, 41."]
        assert await bot.buddy("/whoami", sender=7) == ["Zed, 41"]


async def test_the_whole_bot_against_the_emulator(emulator: Emulator, client: Client) -> None:
    assert client.load_plugins("mybot.plugins") == [
        "mybot.plugins.admin",
        "mybot.plugins.fun",
        "mybot.plugins.profile",
    ]
    emulator.user(10003).send_group("Python Fans", "who likes PYTHON?")
    await until(lambda: len(emulator.sent) == 1)
    emulator.user(10003).send_buddy(10001, "/quit")  # not the owner: ignored
    emulator.user(10003).send_buddy(10001, "/echo still here")
    await until(lambda: len(emulator.sent) == 2)
    emulator.user(admin.OWNER).send_buddy(10001, "/quit")
    await client.run_until_disconnected()
    assert [r["text"] for r in emulator.sent] == ["Python! 🐍", "still here", "bye"]
