"""The Client against the in-process emulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
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
    SendStatus,
    SessionExpired,
)
from smartqq.client import Backoff, QRCode
from smartqq.emulator import Emulator
from smartqq.errors import (
    ClientClosedError,
    Kicked,
    SessionFileError,
    UsageError,
    WrongPassword,
)


def make(emu: Emulator, **kw: Any) -> Client:
    kw.setdefault("on_qrcode", lambda qr: None)
    return Client(
        base_url=emu.url,
        qr_poll_interval=0.01,
        send_interval=0,
        poll_timeout=10,
        backoff_base=0.01,
        backoff_cap=0.05,
        **kw,
    )


async def until(cond: Any, timeout: float = 5.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_echo_every_kind_and_polymorphic_dispatch(emu: Emulator) -> None:
    client = make(emu)
    seen: list[Event] = []

    @client.on(MessageEvent)
    async def echo(msg: MessageEvent) -> None:
        seen.append(msg)
        await msg.reply("re: " + msg.text)

    async with client:
        emu.user(10002).send_buddy(10001, "b")
        emu.user(10003).send_group("Python Fans", "g")
        emu.user(10002).send_discu("Weekend plans", "d")
        await until(lambda: len(emu.sent) == 3)
    assert {type(e) for e in seen} == {BuddyMessage, GroupMessage, DiscuMessage}
    assert sorted((r["kind"], r["text"]) for r in emu.sent) == [
        ("buddy", "re: b"),
        ("discu", "re: d"),
        ("group", "re: g"),
    ]
    assert not client.handler_tasks


async def test_qr_expiry_refresh_and_repr(emu: Emulator) -> None:
    emu.config.qr_lifetime = 0.0
    emu.config.qr_confirm_after = None
    shown: list[QRCode] = []

    async def on_qr(qr: QRCode) -> None:
        shown.append(qr)
        if len(shown) == 2:
            emu.config.qr_lifetime = 60
            emu.config.qr_confirm_after = 1
        assert qr.terminal()
        assert qr._repr_png_().startswith(b"\x89PNG")

    async with make(emu, on_qrcode=on_qr) as client:
        assert [q.attempt for q in shown] == [0, 1]
        assert "10001" in repr(client)


async def test_password_login_wrong_password_and_captcha(emu: Emulator) -> None:
    with pytest.raises(WrongPassword):
        async with make(emu, qq=10002, password="bad"):
            pass
    async with make(
        emu, qq=10004, password="carol-pw", on_captcha=lambda img: emu.captcha_code(10004) or ""
    ) as c:
        assert c.state is not None
        assert c.state.qq == 10004
        assert "carol-pw" not in repr(c)
        assert "carol-pw" not in repr(c.state)


async def test_session_resume_relink_and_file_safety(emu: Emulator, tmp_path: Any) -> None:
    path = tmp_path / "bot.session"
    async with make(emu, session_file=path) as first:
        assert first.state is not None
        sid = first.state.psessionid
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert b"bot-password" not in path.read_bytes()
    events: list[LoggedIn] = []
    resumed = make(emu, session_file=path)
    resumed.on(LoggedIn)(lambda e: _append(events, e))
    async with resumed:
        assert resumed.state is not None
        assert resumed.state.psessionid == sid
    assert events
    assert events[0].resumed
    os.chmod(path, 0o644)
    with pytest.raises(SessionFileError):
        await make(emu, session_file=path).login()
    os.chmod(path, 0o600)
    path.write_text("{corrupt")
    with pytest.raises(SessionFileError):
        await make(emu, session_file=path).login()


async def _append(lst: list[Any], item: Any) -> None:
    lst.append(item)


async def test_116_rotation_103_probe_and_121_relink(emu: Emulator) -> None:
    client = make(emu)
    reconnects: list[Reconnected] = []
    expired: list[SessionExpired] = []
    client.on(Reconnected)(lambda e: _append(reconnects, e))
    client.on(SessionExpired)(lambda e: _append(expired, e))
    got: list[str] = []
    client.on(BuddyMessage)(lambda m: _append(got, m.text))
    async with client:
        assert client.state is not None
        old_ptwebqq = client.state.ptwebqq
        emu.config.rotate_ptwebqq_every = 0
        await until(lambda: client.state is not None and client.state.ptwebqq != old_ptwebqq)
        emu.config.rotate_ptwebqq_every = None
        emu.service.live(10001).probed = False  # type: ignore[union-attr]
        emu.user(10002).send_buddy(10001, "after 103")
        await until(lambda: "after 103" in got)
        emu.expire_sessions()
        emu.user(10002).send_buddy(10001, "after relink")
        await until(lambda: "after relink" in got)
    assert any(r.how == "relink" for r in reconnects)
    assert expired
    assert expired[0].retcode == 121


async def test_relogin_after_100000(emu: Emulator) -> None:
    client = make(emu)
    reconnects: list[Reconnected] = []
    client.on(Reconnected)(lambda e: _append(reconnects, e))
    async with client:
        emu.faults.add("poll2", "retcode", 100000)
        await until(lambda: any(r.how == "relogin" for r in reconnects))
        emu.user(10002).send_buddy(10001, "still here")
        msg = await client.wait_for(BuddyMessage, check=lambda m: m.text == "still here", timeout=5)
        assert msg.text == "still here"


async def test_kick_ends_run_until_disconnected(emu: Emulator) -> None:
    async with make(emu) as client:
        emu.kick(10001)
        with pytest.raises(Kicked):
            await asyncio.wait_for(client.run_until_disconnected(), 5)


async def test_network_errors_back_off_and_recover(emu: Emulator) -> None:
    client = make(emu)
    reconnects: list[Reconnected] = []
    client.on(Reconnected)(lambda e: _append(reconnects, e))
    async with client:
        emu.faults.add("poll2", "status", 500, mode="every", n=1)
        await asyncio.sleep(0.2)
        emu.faults.clear()
        emu.faults.add("poll2", "close")
        await until(lambda: any(r.how == "network" for r in reconnects))
        emu.user(10002).send_buddy(10001, "back")
        await client.wait_for(BuddyMessage, check=lambda m: m.text == "back", timeout=5)


async def test_two_clients_chat_group_fanout_and_split(emu: Emulator) -> None:
    async with make(emu) as bot:
        emu.config.qr_account = 10002
        async with make(emu) as alice:
            friends = await alice.get_friends()
            bot_uin = next(f.uin for f in friends if f.nick == "SmartBot")
            long_text = "word " * 400
            waiter = asyncio.ensure_future(bot.wait_for(BuddyMessage, timeout=5))
            result = await alice.send_buddy_msg(bot_uin, long_text)
            assert result.parts == 3
            assert result.status is SendStatus.SENT
            first = await waiter
            assert first.text.startswith("word")
            groups = await alice.get_groups()
            bot_got = asyncio.ensure_future(bot.wait_for(GroupMessage, timeout=5))
            await alice.send_qun_msg(groups[0].gid, "to the group")
            assert (await bot_got).text == "to the group"
            info = await alice.get_group_info(groups[0])
            assert {m.display_name for m in info.members} >= {"SmartBot", "Bobby"}


async def test_1202_is_uncertain_and_not_retried(emu: Emulator) -> None:
    async with make(emu) as client:
        friend = (await client.get_friends())[0]
        emu.faults.add("send_buddy_msg2", "retcode", 1202)
        result = await client.send_buddy_msg(friend.uin, "maybe")
        assert result.status is SendStatus.UNCERTAIN
        assert not result.ok
        assert len(emu.sent) == 0  # the fault answered before delivery and nothing was resent


async def test_handler_exceptions_go_to_hook_and_polling_continues(emu: Emulator) -> None:
    errors: list[BaseException] = []

    async def hook(exc: BaseException, event: Event, handler: Any) -> None:
        errors.append(exc)

    client = make(emu, on_error=hook)

    @client.on()
    async def boom(msg: BuddyMessage) -> None:
        raise RuntimeError("handler bug")

    async with client:
        emu.user(10002).send_buddy(10001, "1")
        await until(lambda: len(errors) == 1)
        emu.user(10002).send_buddy(10001, "2")
        await client.wait_for(BuddyMessage, check=lambda m: m.text == "2", timeout=5)
        await until(lambda: len(errors) == 2)


async def test_events_iterator_and_default_error_log(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = make(emu)

    @client.on(BuddyMessage)
    async def bad(msg: BuddyMessage) -> None:
        raise ValueError("logged")

    async with client:
        emu.user(10002).send_buddy(10001, "x1")
        emu.user(10002).send_buddy(10001, "x2")
        texts = []
        async for ev in client.events(BuddyMessage):
            texts.append(ev.text)
            if len(texts) == 2:
                break
        assert texts == ["x1", "x2"]
    assert "handler" in caplog.text
    assert "logged" in caplog.text


async def test_contacts_and_info_calls(emu: Emulator) -> None:
    async with make(emu) as c:
        await c.contacts.refresh()
        ally = c.contacts.friend_by_name("Ally")
        assert ally is not None
        assert ally.nick == "Alice"
        assert c.contacts.group_by_name("Python Fans") is not None
        assert c.contacts.discu_by_name("Weekend plans") is not None
        assert await c.get_qq_number(ally.uin) == 10002
        assert (await c.get_self_info()).account == 10001
        assert (await c.get_friend_info(ally.uin)).nick == "Alice"
        assert await c.get_long_nick(ally.uin) == "hello!"
        assert len(await c.get_recent_list()) == 5
        assert all(b.status != "offline" for b in await c.get_online_buddies())
        d = (await c.get_discus())[0]
        assert len((await c.get_discu_info(d.did)).members) == 3
        await c.change_status("busy")
        with pytest.raises(UsageError):
            await c.change_status("dancing")
        with pytest.raises(UsageError):
            await c.send_buddy_msg(123, "not a friend")
        with pytest.raises(UsageError):
            await c.send_buddy_msg(ally.uin, "")
        with pytest.raises(UsageError):
            await c.send_buddy_msg("x", "bad type")  # type: ignore[arg-type]
        await c.logout()
    with pytest.raises(ClientClosedError):
        await c.get_friends()


def test_constructor_validation_and_backoff() -> None:
    with pytest.raises(UsageError):
        Client(qq=1)
    with pytest.raises(UsageError):
        Client(qq=-1, password="x")
    with pytest.raises(UsageError):
        Client(send_interval=-1)
    b = Backoff(base=1, cap=4)
    delays = [b.next() for _ in range(5)]
    assert all(0.5 <= d <= 4 for d in delays)
    assert delays[-1] >= 2
    b.reset()
    assert b.next() <= 1
    with pytest.raises(ValueError):
        Backoff(base=0)


async def test_handler_registration_errors() -> None:
    c = Client()
    with pytest.raises(UsageError):
        c.on(BuddyMessage)("not callable")  # type: ignore[arg-type]

    async def no_annotation(m):  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(UsageError):
        c.on()(no_annotation)
    with pytest.raises(UsageError):
        await c.send_buddy_msg(1, "x")
    await c.close()


def test_secrets_stay_out_of_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def run() -> tuple[Client, list[str]]:
        async with Emulator(hold=0.2) as emu, make(emu, qq=10002, password="alice-pw") as c:
            emu.user(10003).send_buddy(10002, "hi")
            await c.wait_for(BuddyMessage, timeout=5)
            assert c.state is not None
            return c, c.state.secrets()

    client, secrets = asyncio.run(run())
    text = caplog.text + repr(client)
    for secret in [*secrets, "alice-pw"]:
        assert secret not in text
