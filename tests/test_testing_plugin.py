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


def readme_blocks(after: str) -> list[str]:
    """The python code blocks of the README's section titled ``after``."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split(after, 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_the_readme_example_runs_as_written(pytester: pytest.Pytester, mode: str) -> None:
    conftest, test_bot = readme_blocks("### In your own tests (pytest fixtures)")
    assert conftest.startswith("# conftest.py")
    assert test_bot.startswith("# test_bot.py")
    pytester.makeconftest(conftest)
    pytester.makepyfile(test_bot=test_bot)
    # -W error: no warning at all (the loop-scope option only silences pytest-asyncio's
    # own notice that a fresh project has not chosen one).
    result = pytester.runpytest_subprocess(
        "-p", "asyncio", f"--asyncio-mode={mode}", "-o", "asyncio_default_fixture_loop_scope=function",
        "-W", "error", "-q",
    )  # fmt: skip
    result.assert_outcomes(passed=2)


def test_strict_mode_leaves_other_async_frameworks_alone(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["smartqq.testing"]\n')
    pytester.makepyfile(
        test_other="""
import pytest

pytestmark = pytest.mark.trio

async def test_not_ours():
    pass
""",
        test_ours="""
import asyncio

async def test_gets_a_loop():
    await asyncio.sleep(0)
    assert asyncio.get_running_loop().is_running()

class TestGrouped:
    async def test_in_a_class(self):
        await asyncio.sleep(0)
""",
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "asyncio",
        "--asyncio-mode=strict",
        "-q",
        "-W",
        "ignore::pytest.PytestUnknownMarkWarning",
    )
    # Nobody runs trio here, so pytest itself fails test_not_ours ("async def functions
    # are not natively supported"): the point is that we did not claim it.
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*_ test_not_ours _*", "async def functions are not natively supported."]
    )
