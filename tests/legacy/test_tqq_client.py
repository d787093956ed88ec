"""TQQClient against the tqq emulator over loopback: login, friends, messages, status, logout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from smartqq.emulator import TQQConfig, TQQEmulator
from smartqq.errors import ClientClosedError, ConnectError, UsageError
from smartqq.legacy import NotLoggedInError, TooFastError, TQQLoginError
from smartqq.legacy.tqq import (
    AddOutcome,
    Status,
    TQQAuthAccepted,
    TQQAuthRequest,
    TQQClient,
    TQQEvent,
    TQQMessage,
    TQQStatusChange,
)
from smartqq.testing import until

ALICE, BOB, CAROL = 10002, 10003, 10004
FAST = {"poll_interval": 0.02, "send_interval": 0.06}


@pytest.fixture
async def tqq() -> AsyncIterator[TQQEmulator]:
    async with TQQEmulator(config=TQQConfig(min_interval=0.05, penalty=0.2)) as emu:
        yield emu


def client(emu: TQQEmulator, qq: int, password: str, **kw: float) -> TQQClient:
    return TQQClient(qq, password, base_url=emu.url, **{**FAST, **kw})  # type: ignore[arg-type]


async def test_login_friends_messages_and_logout(tqq: TQQEmulator) -> None:
    async with client(tqq, ALICE, "alice-pw") as alice, client(tqq, BOB, "bob-pw") as bob:
        assert alice.login_result is not None
        assert alice.login_result.idle_timeout == 300
        assert (await alice.list_friends()).uins == [10001, BOB]
        assert await alice.friend_count() == 2
        online = await alice.online_friends()
        assert {f.uin: f.status for f in online.friends} == {
            10001: Status.ONLINE,
            BOB: Status.ONLINE,
        }

        @bob.on()
        async def echo(msg: TQQMessage) -> None:
            await msg.reply("echo: " + msg.text)

        waiter = asyncio.ensure_future(
            alice.wait_for(TQQMessage, check=lambda m: m.sender == BOB, timeout=5)
        )
        assert await alice.send(BOB, "hello, bob & co") == 1
        assert (await waiter).text == "echo: hello, bob & co"
        info = await alice.get_info(BOB, level=3)
        assert (info.nick, info.face) == ("Bob", 549)
    # Both logged out on leaving: friends heard them go.
    assert tqq.service.logins == {}
    assert [t for _, _, t in tqq.service.sent] == ["hello, bob & co", "echo: hello, bob & co"]


async def test_long_text_is_split_under_400_bytes_and_paced(tqq: TQQEmulator) -> None:
    async with client(tqq, ALICE, "alice-pw") as alice, client(tqq, BOB, "bob-pw") as bob:
        got: list[str] = []
        bob.add_handler(TQQMessage, lambda m: got.append(m.text))
        text = "好" * 300  # 900 bytes: three CLTMSGs
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await alice.send(BOB, text) == 3
        assert loop.time() - start >= 2 * FAST["send_interval"] * 0.9
        await until(lambda: len(got) == 3)
        assert "".join(got) == text
        assert all(len(t.encode()) <= 399 for _, _, t in tqq.service.sent)


async def test_a_message_from_a_scripted_user_is_reassembled(tqq: TQQEmulator) -> None:
    async with client(tqq, ALICE, "alice-pw") as alice:
        tqq.user(BOB).send(ALICE, "A" * 401)  # delivered as 400 bytes + "A "
        msg = await alice.wait_for(TQQMessage, timeout=5)
        assert msg.text == "A" * 401
        assert [d.text for d in tqq.service.delivered if d.type == 9] == ["A" * 400, "A "]


async def test_status_changes_arrive_as_typed_events(tqq: TQQEmulator) -> None:
    async with client(tqq, ALICE, "alice-pw") as alice, client(tqq, BOB, "bob-pw") as bob:
        seen: list[TQQEvent] = []
        alice.add_handler(TQQStatusChange, seen.append)
        await bob.set_status(Status.BUSY)
        await bob.set_status(Status.INVISIBLE)
        await until(lambda: [e.status for e in seen][-2:] == [Status.BUSY, Status.OFFLINE])  # type: ignore[attr-defined]
        online = await alice.online_friends()
        assert BOB not in [f.uin for f in online.friends]  # invisible


async def test_friend_request_dialogue(tqq: TQQEmulator) -> None:
    tqq.service.auth_policy[CAROL] = 1
    async with client(tqq, ALICE, "alice-pw") as alice, client(tqq, CAROL, "carol-pw") as carol:

        @carol.on()
        async def approve(request: TQQAuthRequest) -> None:
            assert request.reason == "it's alice"
            await request.approve()

        result = await alice.add_friend(CAROL)
        assert result.outcome is AddOutcome.NEEDS_AUTH
        waiter = asyncio.ensure_future(alice.wait_for(TQQAuthAccepted, timeout=5))
        await alice.request_auth(CAROL, "it's alice")
        assert (await waiter).sender == CAROL
        assert CAROL in (await alice.list_friends()).uins
        await alice.remove_friend(CAROL)
        assert CAROL not in (await alice.list_friends()).uins
        hits = await alice.find(sex=1)
        assert [h.uin for h in hits] == [ALICE, CAROL]


async def test_a_dropped_login_is_renewed_by_the_poll_loop(
    tqq: TQQEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    async with client(tqq, ALICE, "alice-pw") as alice:
        tqq.service.logins.clear()  # as if idle past LI
        with caplog.at_level(logging.WARNING, "smartqq.legacy.tqq"):
            await until(lambda: any(k[1] == ALICE for k in tqq.service.logins))
        assert "logging in again" in caplog.text
        tqq.user(BOB).send(ALICE, "still here?")
        assert (await alice.wait_for(TQQMessage, timeout=5)).text == "still here?"


async def test_res_3_is_resent_once_then_raised(tqq: TQQEmulator) -> None:
    tqq.config.min_interval = 10.0  # everything after the first send is "too fast"
    async with client(tqq, ALICE, "alice-pw", too_fast_retries=1) as alice:
        await alice.send(BOB, "first")
        with pytest.raises(TooFastError):
            await alice.send(BOB, "second")
    assert [t for _, _, t in tqq.service.sent] == ["first"]


async def test_login_refused_and_calls_without_login(tqq: TQQEmulator) -> None:
    wrong = client(tqq, ALICE, "wrong")
    with pytest.raises(TQQLoginError):
        async with wrong:
            pass
    bare = client(tqq, ALICE, "alice-pw")
    with pytest.raises(NotLoggedInError):
        await bare.list_friends()
    await bare.close()
    with pytest.raises(ClientClosedError):
        await bare.login()


async def test_usage_errors_and_a_dead_server() -> None:
    with pytest.raises(UsageError):
        TQQClient(0, "x")
    with pytest.raises(UsageError):
        TQQClient(10002, "")
    with pytest.raises(UsageError):
        TQQClient(10002, "x", poll_interval=0)
    c = TQQClient(10002, "x", base_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(ConnectError):
        await c.login()
    with pytest.raises(UsageError):
        await c.send(BOB, "")
    assert "10002" in repr(c)
    assert "x" not in repr(c).replace("10002", "")
    await c.close()


async def test_events_stream_and_explicit_logout(tqq: TQQEmulator) -> None:
    alice = client(tqq, ALICE, "alice-pw")
    await alice.start()
    stream = alice.events(TQQMessage)
    tqq.user(BOB).send(ALICE, "one")
    tqq.user(BOB).send(ALICE, "two")
    got = []
    async for m in stream:
        got.append(m.text)
        if len(got) == 2:
            break
    assert got == ["one", "two"]
    await alice.logout()
    assert not alice.logged_in
    assert tqq.service.logins == {}
    await alice.close()


async def test_close_lets_running_handlers_finish_their_replies(tqq: TQQEmulator) -> None:
    async with client(tqq, ALICE, "alice-pw") as alice:
        bob = client(tqq, BOB, "bob-pw")
        started = asyncio.Event()

        @bob.on()
        async def slow(msg: TQQMessage) -> None:
            started.set()
            await asyncio.sleep(0.2)
            await msg.reply("late but sent")

        await bob.start()
        await alice.send(BOB, "are you there?")
        await asyncio.wait_for(started.wait(), 5)
        reply = asyncio.ensure_future(alice.wait_for(TQQMessage, timeout=5))
        await bob.close()  # while the handler sleeps
        assert (await reply).text == "late but sent"


async def test_the_password_and_its_md5_stay_out_of_logs_and_reprs(
    tqq: TQQEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    from smartqq.legacy.tqq import password_md5

    with caplog.at_level(logging.DEBUG):
        async with client(tqq, ALICE, "alice-pw") as alice:
            await alice.list_friends()
            text = caplog.text + repr(alice)
    assert "Login" in caplog.text  # the requests were logged...
    assert "alice-pw" not in text  # ...without the secrets
    assert password_md5("alice-pw") not in text
