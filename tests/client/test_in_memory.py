"""A client and the emulator in one process with no socket: Client(transport=emu.transport()).

The emulator is never started (it listens nowhere) and opening any socket during
these tests fails them; the client logs in, receives every message kind, replies
and recovers from 103, 116, 121 and a kick over the in-memory transport alone.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from smartqq import (
    BuddyMessage,
    Client,
    DiscuMessage,
    Event,
    GroupMessage,
    LoggedIn,
    MessageEvent,
    Reconnected,
    SessionExpired,
    SessMessage,
)
from smartqq.emulator import Emulator
from smartqq.errors import Kicked
from smartqq.testing import until

BOT = 10001


@pytest.fixture
async def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connecting or listening anywhere fails the test (the loop's own self-pipe is older)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a socket was used during an in-memory test")

    loop = asyncio.get_running_loop()
    for name in ("create_connection", "create_server", "sock_connect", "getaddrinfo"):
        monkeypatch.setattr(loop, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
async def emu(no_sockets: None) -> Emulator:
    # Not started: the service answers the in-memory transport; nothing listens.
    return Emulator(hold=0.5, qr_confirm_after=1, qr_account=BOT)


def in_memory(emu: Emulator, **options: Any) -> Client:
    options.setdefault("on_qrcode", lambda qr: None)
    return Client(
        transport=emu.transport(),
        qr_poll_interval=0.01,
        send_interval=0,
        poll_timeout=10,
        backoff_base=0.01,
        backoff_cap=0.05,
        **options,
    )


def record(client: Client, *types: type[Event]) -> list[Event]:
    seen: list[Event] = []
    for etype in types:
        client.add_handler(etype, seen.append)
    return seen


async def test_login_every_message_kind_and_replies(emu: Emulator) -> None:
    client = in_memory(emu)
    got: list[MessageEvent] = []

    @client.on(MessageEvent)
    async def answer(msg: MessageEvent) -> None:
        got.append(msg)
        await msg.reply("re: " + msg.text)

    logins = record(client, LoggedIn)
    async with client:
        assert client.state is not None
        assert client.state.qq == BOT
        emu.user(10002).send_buddy(BOT, "b")
        emu.user(10003).send_group("Python Fans", "g")
        emu.user(10002).send_discu("Weekend plans", "d")
        emu.user(10003).remove_friend(BOT)
        emu.user(10003).send_sess(BOT, "s")
        await until(lambda: len(emu.sent) == 4)
    assert {type(m) for m in got} == {BuddyMessage, GroupMessage, DiscuMessage, SessMessage}
    assert sorted((r["kind"], r["text"]) for r in emu.sent) == [
        ("buddy", "re: b"),
        ("discu", "re: d"),
        ("group", "re: g"),
        ("sess", "re: s"),
    ]
    assert len(logins) == 1
    assert client.stats.events >= 4


async def test_recovers_from_116_103_and_121(emu: Emulator) -> None:
    client = in_memory(emu)
    expired = record(client, SessionExpired)
    reconnects = record(client, Reconnected)
    texts: list[str] = []
    client.on(BuddyMessage)(lambda m: texts.append(m.text))
    async with client:
        assert client.state is not None
        old_ptwebqq = client.state.ptwebqq
        emu.config.rotate_ptwebqq_every = 0
        await until(lambda: client.state is not None and client.state.ptwebqq != old_ptwebqq)
        emu.config.rotate_ptwebqq_every = None
        emu.faults.add("poll2", "retcode", 103)
        emu.user(10002).send_buddy(BOT, "after 103")
        await until(lambda: "after 103" in texts)
        emu.expire_sessions()
        emu.user(10002).send_buddy(BOT, "after 121")
        await until(lambda: "after 121" in texts)
    assert [e.retcode for e in expired] == [121]  # type: ignore[attr-defined]
    assert [e.how for e in reconnects] == ["relink"]  # type: ignore[attr-defined]


async def test_a_kick_ends_polling_or_logs_in_again(emu: Emulator) -> None:
    async with in_memory(emu) as client:
        emu.kick(BOT)
        with pytest.raises(Kicked):
            await client.run_until_disconnected()
    again = in_memory(emu, relogin_on_kick=True)
    logins = record(again, LoggedIn)
    async with again:
        emu.kick(BOT)
        await until(lambda: len(logins) == 2)
        emu.user(10002).send_buddy(BOT, "welcome back")
        msg = await again.wait_for(
            BuddyMessage, check=lambda m: m.text == "welcome back", timeout=5
        )
    assert msg.text == "welcome back"
