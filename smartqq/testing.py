"""Pytest fixtures for testing your own bots against the embedded emulator.

Enable them in your ``conftest.py``::

    pytest_plugins = ["smartqq.testing"]

and write tests such as::

    async def test_my_bot_answers(emulator, client):
        register_my_handlers(client)
        emulator.user(10002).send_buddy(10001, "ping")
        await until(lambda: emulator.sent)
        assert emulator.sent[0]["text"] == "pong"

Fixtures (all function-scoped, so each test gets its own world):

``smartqq_world``
    The :class:`~smartqq.emulator.World` the emulator serves. Override it to
    bring your own accounts, groups and discussions.
``smartqq_emulator_options``
    Keyword arguments for :class:`~smartqq.emulator.Emulator` (short holds so
    tests stay quick). Override to change the idle form, batch size, faults…
``smartqq_in_memory``
    False by default. Override it to return True and the ``client`` is served by the
    emulator in process (``Client(transport=emulator.transport())``): no port is
    opened and the suite runs faster; ``emulator.url`` is then not served.
``emulator``
    A started emulator on ``127.0.0.1`` and a free port (not started in memory mode).
``client``
    A :class:`~smartqq.Client` logged in to ``emulator`` as the bot account
    (QR login, auto-confirmed) with polling running, and closed afterwards.

The fixtures need ``pytest-asyncio`` (they are declared with
``pytest_asyncio.fixture`` so they work in its strict and auto modes). In
strict mode this plugin also marks ``async def`` tests that use one of these
fixtures with ``pytest.mark.asyncio``, so the examples above run as written.

Testing a router without a server: :class:`RouterTester` (a fake client that
records replies)::

    async def test_roll() -> None:
        async with RouterTester(my_plugin.router) as bot:
            assert await bot.buddy("/roll 1") == ["1"]
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from smartqq.client import Client
from smartqq.emulator import BOT_QQ, Emulator, World, demo_world
from smartqq.runtime.harness import Reply, RouterTester

__all__ = [
    "Reply",
    "RouterTester",
    "client",
    "emulator",
    "make_client",
    "smartqq_emulator_options",
    "smartqq_in_memory",
    "smartqq_world",
    "until",
]


def make_client(emulator: Emulator, **options: Any) -> Client:
    """A client aimed at ``emulator`` with test-friendly timings (not started).

    With ``transport=`` the client uses that transport instead of ``emulator.url``.
    """
    options.setdefault("on_qrcode", lambda qr: None)
    options.setdefault("qr_poll_interval", 0.01)
    options.setdefault("send_interval", 0)
    options.setdefault("backoff_base", 0.01)
    options.setdefault("backoff_cap", 0.2)
    options.setdefault("poll_timeout", emulator.config.hold + 10)
    if "transport" not in options:
        options["base_url"] = emulator.url
    return Client(**options)


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait until ``condition()`` is truthy; ``TimeoutError`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.01)


_ASYNC_MARKS = frozenset({"asyncio", "anyio", "trio"})


@pytest.hookimpl(hookwrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    """Mark ``async def`` tests as asyncio tests, as pytest-asyncio's auto mode would.

    pytest-asyncio's strict mode (its default) only runs coroutine tests that
    carry ``@pytest.mark.asyncio``; a project that loads this plugin tests
    asyncio bots, so its unmarked coroutine tests get the mark before the test
    item is built. Tests marked for another async framework (``anyio``,
    ``trio``, on the function, its class or its module) are left alone.
    """
    if inspect.iscoroutinefunction(obj) and not _marked(collector, obj):
        pytest.mark.asyncio(obj)
    yield


def _marked(collector: pytest.Collector, obj: object) -> bool:
    holders: list[object] = [obj]
    node: Any = collector
    while node is not None:
        holders.append(getattr(node, "obj", None))
        node = node.parent if isinstance(node, pytest.Class | pytest.Module) else None
    for holder in holders:
        marks = getattr(holder, "pytestmark", [])
        if not isinstance(marks, list):
            marks = [marks]
        if any(getattr(m, "name", None) in _ASYNC_MARKS for m in marks):
            return True
    return False


@pytest.fixture
def smartqq_world() -> World:
    return demo_world()


@pytest.fixture
def smartqq_emulator_options() -> dict[str, Any]:
    return {"hold": 1.0, "qr_confirm_after": 1, "qr_account": BOT_QQ}


@pytest.fixture
def smartqq_in_memory() -> bool:
    return False


@pytest_asyncio.fixture
async def emulator(
    smartqq_world: World, smartqq_emulator_options: dict[str, Any], smartqq_in_memory: bool
) -> AsyncIterator[Emulator]:
    emu = Emulator(smartqq_world, **smartqq_emulator_options)
    if smartqq_in_memory:
        yield emu  # served in process only: nothing to start
        await emu.close()
        return
    async with emu:
        yield emu


@pytest_asyncio.fixture
async def client(emulator: Emulator, smartqq_in_memory: bool) -> AsyncIterator[Client]:
    options: dict[str, Any] = {"transport": emulator.transport()} if smartqq_in_memory else {}
    async with make_client(emulator, **options) as bot:
        yield bot
