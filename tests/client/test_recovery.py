"""Session recovery, kicks, sess messages and the periodic contact refresh, over loopback."""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from smartqq import (
    BuddyMessage,
    Client,
    Disconnected,
    Event,
    LoggedIn,
    Reconnected,
    SessionExpired,
    SessMessage,
)
from smartqq.emulator import Emulator
from smartqq.errors import ConnectError, Kicked, SessionExpiredError
from smartqq.protocol.http import HttpRequest, HttpResponse
from smartqq.testing import make_client, until
from smartqq.transport import AiohttpTransport

redact_module = importlib.import_module("smartqq.protocol.redact")


def record(client: Client, *types: type[Event]) -> list[Event]:
    seen: list[Event] = []
    for etype in types:
        client.add_handler(etype, seen.append)
    return seen


def of(seen: list[Event], etype: type[Event]) -> list[Any]:
    return [e for e in seen if isinstance(e, etype)]


async def test_four_unknown_retcodes_in_a_row_then_relink(emu: Emulator) -> None:
    client = make_client(emu)
    seen = record(client, SessionExpired, Reconnected)
    async with client:
        for _ in range(4):
            emu.faults.add("poll2", "retcode", 999)
        await until(lambda: of(seen, Reconnected))
        emu.user(10002).send_buddy(10001, "after unknowns")
        await client.wait_for(BuddyMessage, check=lambda m: m.text == "after unknowns", timeout=5)
    assert [e.retcode for e in of(seen, SessionExpired)] == [999]
    assert [e.how for e in of(seen, Reconnected)] == ["relink"]


async def test_a_second_103_in_a_row_escalates_to_relink(emu: Emulator) -> None:
    client = make_client(emu)
    seen = record(client, SessionExpired, Reconnected)
    async with client:
        emu.faults.add("poll2", "retcode", 103)
        emu.faults.add("poll2", "retcode", 103)
        await until(lambda: of(seen, Reconnected))
    assert [e.retcode for e in of(seen, SessionExpired)] == [103]
    assert of(seen, Reconnected)[0].how == "relink"


async def test_relogin_code_without_auto_relogin_ends_polling(emu: Emulator) -> None:
    client = make_client(emu, auto_relogin=False)
    seen = record(client, SessionExpired, Disconnected)
    async with client:
        stream = client.events()
        emu.faults.add("poll2", "retcode", 100)
        with pytest.raises(SessionExpiredError, match="auto_relogin is off"):
            await asyncio.wait_for(client.run_until_disconnected(), 5)
        drained = [event async for event in stream]  # the stream ends with polling
    assert of(seen, SessionExpired)[0].will_relogin is False
    assert of(seen, Disconnected)
    assert any(isinstance(e, SessionExpired) for e in drained)


async def test_relogin_that_fails_ends_polling_with_a_typed_error(emu: Emulator) -> None:
    client = make_client(emu, qq=10002, password="alice-pw")
    async with client:
        emu.world.account(10002).password = "changed-elsewhere"
        emu.faults.add("poll2", "retcode", 108)
        with pytest.raises(SessionExpiredError, match="re-login failed"):
            await asyncio.wait_for(client.run_until_disconnected(), 5)


async def test_malformed_bodies_and_404_back_off_then_reconnect(emu: Emulator) -> None:
    client = make_client(emu)
    seen = record(client, Disconnected, Reconnected)
    async with client:
        emu.faults.add("poll2", "malformed")
        await until(lambda: of(seen, Reconnected))
        emu.faults.add("poll2", "status", 404)
        await until(lambda: len(of(seen, Reconnected)) == 2)
        emu.user(10002).send_buddy(10001, "still fine")
        await client.wait_for(BuddyMessage, check=lambda m: m.text == "still fine", timeout=5)
    assert [e.reason for e in of(seen, Disconnected)] == ["unreadable answer", "HTTP 404"]
    assert {e.how for e in of(seen, Reconnected)} == {"network"}


async def test_relogin_on_kick_logs_in_again_and_keeps_polling(emu: Emulator) -> None:
    client = make_client(emu, qq=10002, password="alice-pw", relogin_on_kick=True)
    seen = record(client, LoggedIn, Reconnected)
    async with client:
        first_session = emu.service.live(10002)
        assert client.state is not None
        old_secrets = set(client.state.secrets())
        emu.kick(10002)
        await until(lambda: len(of(seen, LoggedIn)) == 2)
        assert emu.service.live(10002) is not first_session
        emu.user(10003).send_buddy(10002, "welcome back")
        await client.wait_for(BuddyMessage, check=lambda m: m.text == "welcome back", timeout=5)
        # The dead session's values leave the redaction registry; the live ones stay.
        assert client.state is not None
        live = set(client.state.secrets())
        assert live
        assert live <= set(redact_module._registered)
        assert not (old_secrets - live) & set(redact_module._registered)
    assert not live & set(redact_module._registered)  # closed: nothing left registered
    assert [e.how for e in of(seen, Reconnected)] == ["relogin"]


async def test_send_after_a_dead_session_recovers_and_sends_once(emu: Emulator) -> None:
    async with make_client(emu) as client:
        await client.contacts.refresh()
        alice = client.contacts.friend_by_name("Ally")
        assert alice is not None
        emu.faults.add("send_buddy_msg2", "retcode", 103)
        result = await client.send_buddy_msg(alice.uin, "sent once")
        assert result.status.value == "sent"
        assert [r["text"] for r in emu.sent] == ["sent once"]
        # A session that cannot come back is reported, not retried forever.
        emu.faults.add("send_buddy_msg2", "retcode", 100012, mode="every", n=1)
        with pytest.raises(SessionExpiredError):
            await client.send_buddy_msg(alice.uin, "refused")


class FailingSends:
    """A transport that refuses to connect for send_buddy_msg2 while ``failures`` lasts."""

    def __init__(self, inner: AiohttpTransport) -> None:
        self.inner = inner
        self.failures: Iterator[bool] = iter(())

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        if request.endpoint == "send_buddy_msg2" and next(self.failures, False):
            raise ConnectError("cannot connect for send_buddy_msg2: refused")
        return await self.inner.send(request, timeout=timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_send_retries_only_connections_that_never_started(emu: Emulator) -> None:
    transport = FailingSends(AiohttpTransport(emu.url))
    async with make_client(emu, transport=transport) as client:
        await client.contacts.refresh()
        alice = client.contacts.friend_by_name("Ally")
        assert alice is not None
        transport.failures = iter([True, True])
        result = await client.send_buddy_msg(alice.uin, "third time lucky")
        assert result.msg_ids
        assert [r["text"] for r in emu.sent] == ["third time lucky"]
        transport.failures = iter([True] * 10)
        with pytest.raises(ConnectError):
            await client.send_buddy_msg(alice.uin, "never")
        assert len(emu.sent) == 1


async def test_sess_message_from_a_stranger_resolves_the_group_card_and_replies(
    emu: Emulator,
) -> None:
    emu.user(10003).remove_friend(10001)  # Bob is now only a fellow group member
    client = make_client(emu)

    @client.on()
    async def answer(msg: SessMessage) -> None:
        await msg.reply(f"hello {await msg.get_sender()}")

    async with client:
        await client.contacts.refresh()
        emu.user(10003).send_sess(10001, "psst, bot")
        msg = await client.wait_for(SessMessage, timeout=5)
        await until(lambda: emu.sent)
    assert msg.text == "psst, bot"
    assert msg.service_type == 0
    assert msg.ruin == 10003
    assert [(r["kind"], r["to"], r["text"]) for r in emu.sent] == [("sess", 10003, "hello Bobby")]


async def test_contacts_refresh_on_an_interval(emu: Emulator) -> None:
    async with make_client(emu, contacts_refresh=0.1) as client:
        await client.contacts.refresh()
        before = {f.nick for f in client.contacts.friends.values()}
        emu.user(10004).remove_friend(10001)
        await until(lambda: {f.nick for f in client.contacts.friends.values()} != before)
    assert before - {f.nick for f in client.contacts.friends.values()} == {"Carol & Co"}


def test_run_is_a_blocking_script_entry_point_that_raises_kicked() -> None:
    """``Client.run()`` owns its loop; the emulator runs in a thread with its own."""
    ready = threading.Event()
    stop = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        async with Emulator(hold=1.0, qr_confirm_after=1) as emu:
            box["emu"] = emu
            ready.set()
            while emu.service.live(10001) is None or not emu.stats()["waiters"]:
                await asyncio.sleep(0.02)
            emu.kick(10001)
            while not stop.is_set():
                await asyncio.sleep(0.02)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    client = Client(base_url=box["emu"].url, on_qrcode=lambda qr: None, qr_poll_interval=0.01)
    try:
        with pytest.raises(Kicked):
            client.run()
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
