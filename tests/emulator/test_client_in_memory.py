"""A real ``Client`` over ``Emulator.transport()``: login, echo and the self-echo era,
all in process with no socket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from smartqq import BuddyMessage, Client, GroupMessage
from smartqq.emulator import Emulator
from smartqq.testing import until

TIMEOUT = 10.0


def make(emu: Emulator, **options: Any) -> Client:
    return Client(
        10001,
        "bot-password",
        transport=emu.transport(),
        send_interval=0,
        backoff_base=0.01,
        backoff_cap=0.2,
        poll_timeout=emu.config.hold + 10,
        **options,
    )


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a socket was opened")

    for name in ("create_connection", "create_server", "sock_connect"):
        monkeypatch.setattr(asyncio.BaseEventLoop, name, refuse)


async def test_a_client_logs_in_and_echoes_in_memory(no_sockets: None) -> None:
    emu = Emulator(hold=2)  # never started: there is no port
    async with make(emu) as client:

        @client.on(BuddyMessage)
        async def echo(event: BuddyMessage) -> None:
            await event.reply("echo: " + event.text)

        assert emu.user(10002).send_buddy(10001, "hello") == 1
        await until(lambda: emu.sent, timeout=TIMEOUT)
    assert emu.sent[0]["text"] == "echo: hello"
    assert emu.sent[0]["to"] == 10002


async def test_the_self_echo_era_is_dropped_by_the_client() -> None:
    emu = Emulator(hold=1, self_echo=True)
    seen: list[str] = []
    async with make(emu) as client:

        @client.on(GroupMessage)
        async def collect(event: GroupMessage) -> None:
            seen.append(event.text)

        session = emu.service.live(10001)
        assert session is not None
        await client.send_qun_msg(session.handle("group", 200001), "said by the bot")
        emu.user(10002).send_group("Python Fans", "said by Alice")
        await until(lambda: "said by Alice" in seen, timeout=TIMEOUT)
        # The echo was queued before Alice's message, so it has been polled by now.
        assert "said by the bot" not in seen
        assert client.stats.echoes_dropped == 1
