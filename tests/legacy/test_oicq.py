"""OICQ frames: every message type of seed 002 round-trips in every dialect; a loopback
server and client exchange login, message, friend-list and status frames."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartqq.emulator import OICQServer, demo_world
from smartqq.errors import ClientClosedError
from smartqq.legacy import FrameError, LegacyError
from smartqq.legacy.oicq import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    Dialect,
    Frame,
    FrameReader,
    OICQClient,
    Party,
    decode_message,
)
from smartqq.legacy.oicq import messages as msg
from smartqq.legacy.oicq.codec import Reader, Writer

# The seed's tables: every type number of each direction.
SEED_CLIENT_TYPES = [*range(0x01, 0x0F), *range(0x10, 0x18)]
SEED_SERVER_TYPES = [*range(0x01, 0x0D), 0x0E, *range(0x10, 0x17)]

DIALECTS = [
    Dialect(order, strings, width, enc)  # type: ignore[arg-type]
    for order, strings, width, enc in itertools.product(
        ("big", "little"), ("nul", "u8", "u16"), (1, 2, 4), ("gbk", "utf-8")
    )
]


def sample(cls: type[msg.Record], dialect: Dialect, salt: int = 0) -> Any:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        kind = f.metadata["oicq"]
        if isinstance(kind, type):
            values[f.name] = [sample(kind, dialect, salt + i) for i in range(2)]
        else:
            values[f.name] = {
                "t": 7 + salt,
                "l": 123456789 + salt,
                "s": f"昵称 nick {salt}",
                "m": 200 if dialect.m_width == 1 else 270,
                "b": bytes(range(salt, salt + 40)),
            }[kind]
    return cls(**values)


def test_the_tables_cover_the_seed() -> None:
    assert sorted(CLIENT_MESSAGES) == SEED_CLIENT_TYPES
    assert sorted(SERVER_MESSAGES) == SEED_SERVER_TYPES


@pytest.mark.parametrize("dialect", DIALECTS, ids=str)
def test_every_message_type_round_trips(dialect: Dialect) -> None:
    for table, sender in ((CLIENT_MESSAGES, Party.USER), (SERVER_MESSAGES, Party.OICQ_SERVER)):
        for type_, cls in table.items():
            original = sample(cls, dialect)
            data = original.encode(dialect)
            # 引导符: 0x81, then the parties of the direction, then the type.
            assert data[0] == 0x81
            assert data[1] == sender
            assert data[3] == type_
            (frame,) = FrameReader(dialect).feed(data)
            assert decode_message(frame, dialect) == original


def test_byte_exact_login_frame_in_the_default_dialect() -> None:
    data = msg.Login(uin=10002, password="pw", mode=1).encode()
    assert data.hex(" ") == "81 0a 01 02 00 00 00 08 00 00 27 12 70 77 00 01"
    result = msg.LoginResult(1, [msg.GroupEntry("好友", 0, [msg.FriendEntry(10003, 3, 1, "Bob")])])
    assert result.encode().hex(" ") == (
        "81 01 0a 02 00 00 00 13 01 01 ba c3 d3 d1 00 00 01 00 00 27 13 03 01 42 6f 62 00"
    )
    little = Dialect(byte_order="little", strings="u8", m_width=1)
    assert msg.Ping(1).encode(little).hex(" ") == "81 0a 01 16 04 00 00 00 01 00 00 00"


def test_secrets_stay_out_of_reprs() -> None:
    for m in (msg.Login(1, "hunter2", 0), msg.Register(nick="n", password="hunter2"),
              msg.UpdateProfile(uin=1, password="hunter2")):  # fmt: skip
        assert "hunter2" not in repr(m)


@given(st.text(max_size=60), st.integers(0, 2**32 - 1), st.binary(max_size=300))
def test_strings_numbers_and_binary_round_trip(text: str, number: int, blob: bytes) -> None:
    dialect = Dialect(encoding="utf-8", strings="u16")
    for m in (msg.SendMessage(number, number, text), msg.FileData(number, 1, blob)):
        (frame,) = FrameReader(dialect).feed(m.encode(dialect))
        assert decode_message(frame, dialect) == m


def test_frames_arrive_in_any_pieces() -> None:
    stream = b"".join(sample(cls, Dialect()).encode() for cls in CLIENT_MESSAGES.values())
    reader = FrameReader()
    frames: list[Frame] = []
    for i in range(len(stream)):
        frames += reader.feed(stream[i : i + 1])
    assert [f.type for f in frames] == list(CLIENT_MESSAGES)
    assert reader.pending == 0


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x82\x0a\x01\x16\x00\x00\x00\x04\x00\x00\x00\x01", "header"),
        (b"\x81\x0a\x01\x16\xff\xff\xff\xff", "limit"),
    ],
)
def test_bad_frames_are_rejected(data: bytes, error: str) -> None:
    with pytest.raises(FrameError, match=error):
        FrameReader().feed(data)


def test_bodies_that_do_not_match_their_type() -> None:
    short = Frame(Party.USER, Party.OICQ_SERVER, 0x16, b"\x00\x01")
    with pytest.raises(FrameError, match="early"):
        decode_message(short)
    long = Frame(Party.USER, Party.OICQ_SERVER, 0x16, b"\x00\x00\x00\x01\x99")
    with pytest.raises(FrameError, match="unexpected"):
        decode_message(long)
    with pytest.raises(FrameError, match="unknown user message type 0x0f"):
        decode_message(Frame(Party.USER, Party.OICQ_SERVER, 0x0F, b""))
    with pytest.raises(FrameError, match="unknown server message type 0x0d"):
        decode_message(Frame(Party.OICQ_SERVER, Party.USER, 0x0D, b""))
    unterminated = Frame(Party.USER, Party.OICQ_SERVER, 0x06, b"\x00\x00\x00\x01abc")
    with pytest.raises(FrameError, match="NUL"):
        decode_message(unterminated)
    bad_text = Frame(Party.USER, Party.OICQ_SERVER, 0x06, b"\x00\x00\x00\x01\xff\xff\xff\x00")
    with pytest.raises(FrameError, match="gbk"):
        decode_message(bad_text)
    with pytest.raises(FrameError, match="limit"):
        Frame(1, 10, 1, b"x" * (1 << 20 | 1)).encode()


def test_values_that_do_not_fit_their_field() -> None:
    with pytest.raises(FrameError):
        msg.SetMode(1, 300).encode()
    with pytest.raises(FrameError):
        msg.Ping(2**32).encode()
    with pytest.raises(FrameError):
        msg.FriendAdded(1, "x", 300, 1).encode(Dialect(m_width=1))
    with pytest.raises(FrameError):
        msg.AddGroup(1, "a\0b").encode()
    with pytest.raises(FrameError):
        msg.AddGroup(1, "\U0001f600").encode()  # not in GBK
    w = Writer(Dialect(strings="u8"))
    with pytest.raises(FrameError):
        w.string("x" * 256)
    assert Reader(b"\x02hi", Dialect(strings="u8")).string() == "hi"


# -- loopback server and client ----------------------------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[OICQServer]:
    async with OICQServer(demo_world()) as srv:
        yield srv


async def connect(srv: OICQServer) -> OICQClient:
    c = OICQClient(srv.host, srv.port)
    await c.connect()
    return c


async def test_login_friend_list_messages_and_status(server: OICQServer) -> None:
    alice, bob = await connect(server), await connect(server)
    try:
        result = await alice.login(10002, "alice-pw")
        (group,) = result.groups
        assert group.name == "我的好友"
        assert {f.uin: (f.nick, f.status) for f in group.friends} == {
            10001: ("SmartBot", 4),
            10003: ("Bob", 4),
        }
        await bob.login(10003, "bob-pw")
        assert await alice.receive(timeout=5) == msg.FriendStatus(10003, 1)
        await alice.send_message(10003, "hi bob")
        assert await bob.receive(timeout=5) == msg.Incoming(2, 10002, "hi bob", 0)
        assert await bob.set_mode(3) == msg.ModeResult(10003, 3)
        assert await alice.receive(timeout=5) == msg.FriendStatus(10003, 3)
        info = await alice.friend_info(10003)
        assert (info.ok, info.nick, info.face) == (1, "Bob", 549)
        online = await alice.who_is_online()
        assert [u.uin for u in online.users] == [10002, 10003]
        assert await alice.ping() == msg.Pong(10002)
        await bob.set_mode(2)  # hidden: shown to others as offline
        assert await alice.receive(timeout=5) == msg.FriendStatus(10003, 4)
        assert [u.uin for u in (await alice.who_is_online()).users] == [10002]
    finally:
        await bob.close()
        await alice.close()


async def test_offline_messages_wait_for_the_next_login(server: OICQServer) -> None:
    alice = await connect(server)
    await alice.login(10002, "alice-pw")
    await alice.send_message(10003, "while you were out")
    await alice.close()
    bob = await connect(server)
    await bob.login(10003, "bob-pw")
    assert await bob.receive(timeout=5) == msg.Incoming(2, 10002, "while you were out", 0)
    await bob.close()


async def test_friend_requests_groups_and_registration(server: OICQServer) -> None:
    newbie = await connect(server)
    reg = await newbie.request(
        msg.Register(nick="Dave", password="dave-pw", auth=1), msg.RegisterResult
    )
    assert reg.ok == 1
    assert reg.uin == 10005
    await newbie.login(10005, "dave-pw")
    alice = await connect(server)
    await alice.login(10002, "alice-pw")
    assert (await alice.add_friend(10005)).flag == 2  # needs approval; Dave is online
    await alice.send(msg.RequestFriend(10002, 10005, "hello dave"))
    assert await newbie.receive(timeout=5) == msg.Incoming(1, 10002, "hello dave", 2)
    await newbie.send(msg.AnswerFriendRequest(10005, 10002, 1))
    assert await alice.receive(timeout=5) == msg.FriendAdded(10005, "Dave", 0, 1)
    assert await alice.receive(timeout=5) == msg.Incoming(1, 10005, "", 3)
    added = await alice.request(msg.AddGroup(10002, "Work"), msg.AddGroupResult)
    assert (added.ok, added.group) == (1, 1)
    moved = await alice.request(
        msg.MoveFriends(10002, [msg.MoveEntry(10005, 1)]), msg.MoveFriendsResult
    )
    assert moved.ok == 1
    await alice.send(msg.Broadcast(10002, 1, "work news"))
    assert await newbie.receive(timeout=5) == msg.Incoming(2, 10002, "work news", 0)
    renamed = await alice.request(msg.RenameGroup(10002, 1, "Job"), msg.RenameGroupResult)
    assert renamed.ok == 1
    gone = await alice.request(msg.DeleteGroup(10002, 1), msg.DeleteGroupResult)
    assert gone.ok == 1
    assert (await alice.request(msg.DeleteGroup(10002, 0), msg.DeleteGroupResult)).ok == 0
    deleted = await alice.request(msg.DeleteFriend(10002, 10005), msg.DeleteFriendResult)
    assert deleted == msg.DeleteFriendResult(1, 10005)
    found = await alice.request(msg.CustomSearch(10002, "Dav"), msg.SearchResult)
    assert [u.nick for u in found.users] == ["Dave"]
    nothing = await alice.request(msg.CustomSearch(10002, "' OR 1=1 --"), msg.SearchResult)
    assert nothing.users == []
    updated = await newbie.request(
        msg.UpdateProfile(uin=10005, nick="David", auth=0), msg.UpdateProfileResult
    )
    assert updated.ok == 1
    assert server.world.accounts[10005].nick == "David"
    assert (await alice.add_friend(10005)).flag == 1  # now anyone may add David
    assert (await alice.receive(timeout=5)).nick == "David"  # type: ignore[attr-defined]
    await alice.send(msg.FileOffer(10002, 10005, "a.txt", 3))
    await newbie.send(msg.FileAnswer(10005, 10002, 1))
    await alice.send(msg.FileData(10002, 10005, b"abc"))
    notices = [await newbie.receive(timeout=5) for _ in range(3)]
    assert notices[1:] == [
        msg.FileOfferNotice(10002, "a.txt", 3),
        msg.FileDataNotice(10002, b"abc"),
    ]
    assert await alice.receive(timeout=5) == msg.FileAnswerNotice(10005, 1)
    await newbie.close()
    await alice.close()


async def test_requests_before_login_or_for_another_uin_close_the_connection(
    server: OICQServer,
) -> None:
    c = await connect(server)
    await c.send(msg.SendMessage(10002, 10003, "spoof"))
    with pytest.raises(ClientClosedError):
        await c.receive(timeout=5)
    c2 = await connect(server)
    await c2.login(10002, "alice-pw")
    await c2.send(msg.SendMessage(10003, 10002, "spoof"))
    with pytest.raises(ClientClosedError):
        await c2.receive(timeout=5)
    await c.close()
    await c2.close()
    c3 = await connect(server)
    with pytest.raises(LegacyError):
        await c3.login(10002, "wrong")
    await c3.close()
