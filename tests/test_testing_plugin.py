"""``smartqq.testing``: the fixtures users import for their own bot tests."""

from __future__ import annotations

import pytest

from smartqq import Client, MessageEvent
from smartqq.emulator import Emulator
from smartqq.testing import until


async def test_client_fixture_is_logged_in_and_polling(emulator: Emulator, client: Client) -> None:
    assert client.logged_in
    assert client.state is not None
    assert client.state.qq == 10001
    got: list[str] = []

    @client.on()
    async def pong(msg: MessageEvent) -> None:
        got.append(msg.text)
        await msg.reply("pong")

    emulator.user(10002).send_buddy(10001, "ping")
    await until(lambda: emulator.sent)
    assert got == ["ping"]
    assert [(r["to"], r["text"]) for r in emulator.sent] == [(10002, "pong")]


async def test_until_times_out_with_a_clear_error() -> None:
    with pytest.raises(TimeoutError, match=r"within 0\.05 s"):
        await until(lambda: False, timeout=0.05)


def test_a_users_conftest_in_strict_mode(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["smartqq.testing"]\n')
    pytester.makepyfile(
        test_bot="""
import pytest
from smartqq import BuddyMessage

@pytest.fixture
def smartqq_emulator_options():
    return {"hold": 0.5, "qr_confirm_after": 1, "qr_account": 10002}

@pytest.mark.asyncio
async def test_bot(emulator, client):
    assert client.state.qq == 10002
    waiter = client.wait_for(BuddyMessage, timeout=5)
    emulator.user(10003).send_buddy(10002, "hello alice")
    msg = await waiter
    assert msg.text == "hello alice"
"""
    )
    result = pytester.runpytest_subprocess("-p", "asyncio", "--asyncio-mode=strict", "-q")
    result.assert_outcomes(passed=1)


def test_the_in_memory_fixture_option(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["smartqq.testing"]\n')
    pytester.makepyfile(
        test_bot="""
import asyncio
import pytest
from smartqq import BuddyMessage

@pytest.fixture
def smartqq_in_memory():
    return True

@pytest.mark.asyncio
async def test_bot(emulator, client, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened")
    monkeypatch.setattr(asyncio.BaseEventLoop, "create_connection", refuse)
    assert emulator.port == 0  # never started
    assert client.state.qq == 10001
    waiter = client.wait_for(BuddyMessage, timeout=5)
    emulator.user(10002).send_buddy(10001, "in memory")
    msg = await waiter
    assert msg.text == "in memory"
    await msg.reply("pong")
    assert emulator.sent[-1]["text"] == "pong"
"""
    )
    result = pytester.runpytest_subprocess("-p", "asyncio", "--asyncio-mode=strict", "-q")
    result.assert_outcomes(passed=1)


def test_fixtures_are_documented() -> None:
    import smartqq.testing as testing

    assert testing.__doc__ is not None
    for name in (
        "smartqq_world",
        "smartqq_emulator_options",
        "smartqq_in_memory",
        "emulator",
        "client",
    ):
        assert f"``{name}``" in testing.__doc__
