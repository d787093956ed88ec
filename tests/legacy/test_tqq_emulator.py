"""The tqq emulator: the seeds' recorded behaviours, sans-IO and over loopback sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from smartqq.emulator import TQQConfig, TQQEmulator, TQQService, demo_world
from smartqq.legacy.tqq import commands as cmd
from smartqq.legacy.tqq.codec import LC, decode_answer, parse_pairs, split_list, unescape
from smartqq.legacy.tqq.commands import password_md5

ALICE, BOB, CAROL = 10002, 10003, 10004
PEER = "127.0.0.1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def service(**config: float) -> tuple[TQQService, Clock]:
    clock = Clock()
    return TQQService(demo_world(), TQQConfig(**config), clock), clock  # type: ignore[arg-type]


def ask(svc: TQQService, body: str, peer: str = PEER) -> list[str]:
    return svc.handle(body.encode(), peer).bodies


def login(svc: TQQService, uin: int, password: str, peer: str = PEER) -> None:
    (answer,) = ask(
        svc, f"VER=1.1&CMD=Login&SEQ=1&UIN={uin}&PS={password_md5(password)}&M5=1&LC={LC}", peer
    )
    assert "&RS=0&HI=60&LI=300" in answer, answer


def fields(body: str) -> dict[str, str]:
    return parse_pairs(body)


# -- NULL, RES=20, RES=5, Login --------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "VER=1.1&CMD=List&SEQ=1&UIN=abc&TN=160&UN=0",  # non-numeric UIN
        "VER=9.9&CMD=List&SEQ=1&UIN=10002",  # unknown VER
        "VER=1.1&CMD=Nope&SEQ=1&UIN=10002",  # unknown CMD
        "VER=1.1&CMD=List&SEQ=1&UIN=10002&TN=x&UN=0",
        "VER=1.1&CMD=Query_Stat&SEQ=1&UIN=10002&TN=50&UN=y",
        "VER=1.1&CMD=GetInfo&SEQ=1&UIN=10002&LV=a&UN=10003",
        "VER=1.1&CMD=GetInfo&SEQ=1&UIN=10002&LV=2",  # no UN
        "VER=1.1&CMD=AddToList&SEQ=1&UIN=10002&UN=bob",
        "VER=1.1&CMD=Ack_AddToList&SEQ=1&UIN=10002&UN=10003&CD=x&RS=",
        "VER=1.1&CMD=DelFromList&SEQ=1&UIN=10002&UN=z",
        "VER=1.1&CMD=Change_Stat&SEQ=1&UIN=10002&ST=15",  # illegal status
        "VER=1.1&CMD=CLTMSG&SEQ=1&UIN=10002&UN=q&MG=hi",
        f"VER=1.1&CMD=Login&SEQ=1&UIN=10002&PS=&M5=1&LC={LC}",  # empty PS
        "VER=1.1&CMD=Login&SEQ=1&UIN=10002&PS=abc&M5=1&LC=1223423545756679",  # wrong LC
        "VER=1.1&CMD=Logout&SEQ=1&UIN=x",
        "not a tqq body at all",
    ],
)
def test_malformed_requests_get_null(body: str) -> None:
    svc, _ = service()
    login(svc, ALICE, "alice-pw")
    assert ask(svc, body) == ["NULL"]


def test_bytes_that_are_not_utf8_get_null() -> None:
    svc, _ = service()
    login(svc, ALICE, "alice-pw")
    raw = b"VER=1.1&CMD=CLTMSG&SEQ=1&UIN=10002&UN=10003&MG=\xff\xfe"
    assert svc.handle(raw, PEER).bodies == ["NULL"]


@pytest.mark.parametrize("command", [c for c in cmd.COMMANDS if c not in ("Login", "Logout")])
def test_every_command_but_login_and_logout_needs_a_login(command: str) -> None:
    svc, _ = service()
    extra = {"GetInfo": "&LV=0&UN=10003", "AddToList": "&UN=10003", "DelFromList": "&UN=10003",
             "Ack_AddToList": "&UN=10003&CD=0&RS=", "Change_Stat": "&ST=10",
             "CLTMSG": "&UN=10003&MG=hi"}.get(command, "")  # fmt: skip
    (answer,) = ask(svc, f"VER=1.1&CMD={command}&SEQ=5&UIN=10002{extra}")
    assert fields(answer)["RES"] == "20"
    # The server knows a login by address and UIN: Alice logged in elsewhere is not enough.
    login(svc, ALICE, "alice-pw", peer="10.0.0.9")
    (answer,) = ask(svc, f"VER=1.1&CMD={command}&SEQ=5&UIN=10002{extra}")
    assert fields(answer)["RES"] == "20"


def test_logout_always_succeeds() -> None:
    svc, _ = service()
    assert ask(svc, "VER=1.1&CMD=Logout&SEQ=15803&UIN=10002") == [
        "VER=1.1&CMD=LOGOUT&SEQ=15803&UIN=10002&RES=0"
    ]


def test_login_outcomes() -> None:
    svc, _ = service()
    (bad_uin,) = ask(svc, f"VER=1.1&CMD=Login&SEQ=1&UIN=100&PS=x&M5=1&LC={LC}")
    assert bad_uin == "VER=1.1&CMD=LOGIN&SEQ=1&UIN=100&RES=5"
    (wrong,) = ask(svc, f"VER=1.1&CMD=Login&SEQ=2&UIN=10002&PS={password_md5('nope')}&M5=1&LC={LC}")
    assert wrong == "VER=1.1&CMD=LOGIN&SEQ=2&UIN=10002&RES=0&RS=1&RA=密码错误"
    login(svc, ALICE, "alice-pw")
    # Version 1.0 (the first seed's templates) is understood too.
    (ok,) = ask(svc, f"VER=1.0&CMD=Login&SEQ=3&UIN=10003&PS={password_md5('bob-pw')}&M5=1&LC={LC}")
    assert ok.startswith("VER=1.0&CMD=LOGIN&SEQ=3&UIN=10003&RES=0&RS=0")


def test_an_idle_login_is_dropped_after_li_seconds() -> None:
    svc, clock = service(idle_timeout=300)
    login(svc, ALICE, "alice-pw")
    clock.now += 299
    assert fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10002")[0])["RES"] == "0"
    clock.now += 301
    assert fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10002")[0])["RES"] == "20"


# -- lists, info, friends ---------------------------------------------------------------


def test_list_and_query_stat() -> None:
    svc, _ = service()
    login(svc, ALICE, "alice-pw")
    (full,) = ask(svc, "VER=1.1&CMD=List&SEQ=9&UIN=10002&TN=160&UN=0")
    assert full == "VER=1.1&CMD=LIST&SEQ=9&UIN=10002&RES=0&FN=1&SN=2&UN=10001,10003,"
    (count,) = ask(svc, "VER=1.1&CMD=List&SEQ=9&UIN=10002")
    assert count == "VER=1.1&CMD=LIST&SEQ=9&UIN=10002&RES=0&FN=2"
    (online,) = ask(svc, "VER=1.1&CMD=Query_Stat&SEQ=9&UIN=10002&TN=50&UN=0")
    # The bot is "online" in the world, Bob "away" (busy here).
    assert online == (
        "VER=1.1&CMD=QUERY_STAT&SEQ=9&UIN=10002&RES=0&FC=522,549,&FN=1&SN=2&ST=10,30,"
        "&UN=10001,10003,&NK=SmartBot,Bob,"
    )
    first, second = ask(svc, "VER=1.1&CMD=Query_Stat&SEQ=9&UIN=10002&TN=0")
    assert first.endswith("&RES=0&FN=2")
    assert second.endswith("&RES=0&FC=&FN=1&SN=0&ST=&UN=&NK=")


def test_get_info_levels_and_the_profile_fields() -> None:
    svc, _ = service()
    svc.profiles[BOB] = {"BT": "4", "CO": "11", "SH": "12", "AG": "31", "PR": "a, b & c\r\n"}
    login(svc, ALICE, "alice-pw")
    (lv0,) = ask(svc, "VER=1.1&CMD=GetInfo&SEQ=1&UIN=10002&LV=0&UN=10003")
    assert lv0 == "VER=1.1&CMD=GETINFO&SEQ=1&UIN=10002&RES=0&LV=0&UN=10003&NK=Bob"
    info = cmd.parse_info(
        decode_answer(ask(svc, "VER=1.1&CMD=GetInfo&SEQ=1&UIN=10002&LV=3&UN=10003")[0])
    )
    assert (info.blood_type.label, info.constellation.label, info.zodiac.label) == (
        "AB型",
        "射手座",
        "猪",
    )  # type: ignore[union-attr]
    assert info.intro == "a, b & c\r\n"
    assert info.age == 31
    assert info.face == 549
    lv2 = fields(ask(svc, "VER=1.1&CMD=GetInfo&SEQ=1&UIN=10002&LV=2&UN=10004")[0])
    assert "BT" not in lv2
    assert lv2["SX"] == "1"
    assert unescape(lv2["NK"]) == "Carol & Co"
    (missing,) = ask(svc, "VER=1.1&CMD=GetInfo&SEQ=1&UIN=10002&LV=2&UN=99999")
    assert fields(missing)["RES"] == "5"


def test_add_to_list_outcomes_and_the_auth_dialogue() -> None:
    svc, clock = service()
    svc.auth_policy[CAROL] = 1
    svc.auth_policy[BOB] = 2
    login(svc, ALICE, "alice-pw")
    login(svc, CAROL, "carol-pw")
    (refused,) = ask(svc, "VER=1.1&CMD=AddToList&SEQ=1&UIN=10002&UN=10003")
    assert refused.endswith("&RES=0&CD=2&UN=10003")
    (needs,) = ask(svc, "VER=1.1&CMD=AddToList&SEQ=1&UIN=10002&UN=10004")
    assert needs.endswith("&RES=0&CD=1&UN=10004")
    assert CAROL not in svc.world.accounts[ALICE].friends
    (asked,) = ask(svc, "VER=1.1&CMD=Ack_AddToList&SEQ=1&UIN=10002&UN=10004&CD=2&RS=hi carol")
    assert asked == "VER=1.1&CMD=Ack_AddToList&SEQ=1&UIN=10002&RES=0"
    carol_box = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10004")[0])
    assert (carol_box["MT"], carol_box["UN"], unescape(carol_box["MG"])) == (
        "2,",
        "10002,",
        "hi carol,",
    )
    ask(svc, "VER=1.1&CMD=Ack_AddToList&SEQ=1&UIN=10004&UN=10002&CD=0&RS=")
    assert CAROL in svc.world.accounts[ALICE].friends
    alice_box = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10002")[0])
    assert (alice_box["MT"], alice_box["UN"]) == ("3,", "10004,")
    # A rejection carries the reason (MT 4); anyone may add the bot (CD=0: at once).
    clock.now += 5
    ask(svc, "VER=1.1&CMD=Ack_AddToList&SEQ=1&UIN=10002&UN=10004&CD=2&RS=again")
    ask(svc, "VER=1.1&CMD=Ack_AddToList&SEQ=1&UIN=10004&UN=10002&CD=1&RS=enough")
    box = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10002")[0])
    assert (box["MT"], split_list(box["MG"])) == ("4,", ["enough"])
    (added,) = ask(svc, "VER=1.1&CMD=AddToList&SEQ=1&UIN=10004&UN=10001")
    assert added.endswith("&CD=0&UN=10001")
    assert 10001 in svc.world.accounts[CAROL].friends
    (missing,) = ask(svc, "VER=1.1&CMD=AddToList&SEQ=1&UIN=10004&UN=99999")
    assert fields(missing)["RES"] == "5"


def test_del_from_list_and_the_repeat_penalty() -> None:
    svc, _ = service(min_interval=1.0, penalty=20.0)
    login(svc, ALICE, "alice-pw")
    assert ask(svc, "VER=1.1&CMD=DelFromList&SEQ=2&UIN=10002&UN=10003") == [
        "VER=1.1&CMD=DelFromList&SEQ=2&UIN=10002&RES=0&"
    ]
    assert BOB not in svc.world.accounts[ALICE].friends
    again = svc.handle(b"VER=1.1&CMD=DelFromList&SEQ=3&UIN=10002&UN=10003", PEER)
    assert fields(again.bodies[0])["RES"] == "3"
    assert again.delay == 30.0


def test_ack_add_to_list_with_cd_3_or_more_is_res_3_after_a_delay() -> None:
    svc, _ = service(penalty=20.0)
    login(svc, ALICE, "alice-pw")
    reply = svc.handle(b"VER=1.1&CMD=Ack_AddToList&SEQ=1&UIN=10002&UN=10003&CD=3&RS=x", PEER)
    assert fields(reply.bodies[0])["RES"] == "3"
    assert reply.delay == 20.0
    assert BOB not in svc.mailboxes


# -- status and messages ---------------------------------------------------------------


def test_status_changes_reach_logged_in_friends() -> None:
    svc, clock = service()
    login(svc, ALICE, "alice-pw")
    login(svc, BOB, "bob-pw")  # Alice hears Bob come online (10)
    for status in ("30", "40", "10"):
        clock.now += 2
        assert ask(svc, f"VER=1.1&CMD=Change_Stat&SEQ=1&UIN=10003&ST={status}") == [
            "VER=1.1&CMD=Change_Stat&SEQ=1&UIN=10003&RES=0&"
        ]
    box = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10002")[0])
    assert box["MN"] == "4"
    assert (split_list(box["MT"]), split_list(box["UN"])) == (["99"] * 4, ["10003"] * 4)
    assert split_list(box["MG"]) == ["10", "30", "20", "10"]  # invisible is sent as 20
    ask(svc, "VER=1.1&CMD=Logout&SEQ=1&UIN=10003")
    box = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10002")[0])
    assert split_list(box["MG"]) == ["20"]
    # Too-frequent changes: RES=3, nothing changes, nobody hears of it.
    login(svc, BOB, "bob-pw")
    ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10002")
    clock.now += 2
    ask(svc, "VER=1.1&CMD=Change_Stat&SEQ=1&UIN=10003&ST=30")
    fast = svc.handle(b"VER=1.1&CMD=Change_Stat&SEQ=1&UIN=10003&ST=10", PEER)
    assert fields(fast.bodies[0])["RES"] == "3"
    assert fast.delay == 20.0
    assert split_list(fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10002")[0])["MG"]) == ["30"]


@pytest.mark.parametrize(("size", "accepted"), [(399, True), (400, True), (401, False)])
def test_cltmsg_over_400_bytes_is_res_3_and_not_delivered(size: int, accepted: bool) -> None:
    svc, _ = service()
    login(svc, ALICE, "alice-pw")
    login(svc, BOB, "bob-pw")
    ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10003")
    reply = svc.handle(
        f"VER=1.1&CMD=CLTMSG&SEQ=1&UIN=10002&UN=10003&MG={'A' * size}".encode(), PEER
    )
    assert fields(reply.bodies[0])["RES"] == ("0" if accepted else "3")
    assert reply.delay == (0.0 if accepted else 20.0)
    box = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10003")[0])
    if accepted:
        segments = split_list(box["MG"])
        assert "".join(segments) == "A" * size + " "
        assert all(len(s.encode()) <= 400 for s in segments)
    else:
        assert box["MN"] == "0"


def test_cltmsg_too_fast_is_res_3_and_not_delivered() -> None:
    svc, clock = service(min_interval=1.0)
    login(svc, ALICE, "alice-pw")
    assert fields(ask(svc, "VER=1.1&CMD=CLTMSG&SEQ=1&UIN=10002&UN=10003&MG=one")[0])["RES"] == "0"
    clock.now += 0.5
    assert fields(ask(svc, "VER=1.1&CMD=CLTMSG&SEQ=2&UIN=10002&UN=10003&MG=two")[0])["RES"] == "3"
    clock.now += 1.0
    assert fields(ask(svc, "VER=1.1&CMD=CLTMSG&SEQ=3&UIN=10002&UN=10003&MG=three")[0])["RES"] == "0"
    assert [t for _, _, t in svc.sent] == ["one", "three"]
    box = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10003", peer="10.1.1.1")[0])
    assert box["RES"] == "20"  # Bob is not logged in: the messages wait
    login(svc, BOB, "bob-pw")
    box = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10003")[0])
    assert split_list(box["MG"]) == ["one ", "three "]


def test_messages_keep_their_commas_and_ampersands() -> None:
    svc, _ = service()
    login(svc, BOB, "bob-pw")
    svc.deliver(BOB, 9, ALICE, "a,b&c%d\r\ne")
    (body,) = ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10003")
    assert body.endswith("&MG=a%2cb%26c%25d%0d%0ae ,")
    assert split_list(fields(body)["MG"]) == ["a,b&c%d\r\ne "]


def test_get_msg_ex_hands_out_at_most_max_messages() -> None:
    svc, _ = service(max_messages=3)
    login(svc, BOB, "bob-pw")
    for i in range(5):
        svc.deliver(BOB, 9, ALICE, f"m{i}")
    first = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10003")[0])
    second = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10003")[0])
    assert (first["MN"], second["MN"]) == ("3", "2")
    assert [d.text for d in svc.delivered] == [f"m{i} " for i in range(5)]


def test_finger_filters_by_age_sex_and_province() -> None:
    svc, _ = service()
    svc.profiles[BOB] = {"AG": "30", "PV": "江苏"}
    login(svc, ALICE, "alice-pw")
    everyone = cmd.parse_finger(
        decode_answer(ask(svc, "VER=1.1&CMD=Finger&SEQ=1&UIN=10002&AG=&SX=&PV=")[0])
    )
    assert [e.uin for e in everyone] == [10001, 10002, 10003, 10004]
    women = cmd.parse_finger(
        decode_answer(ask(svc, "VER=1.1&CMD=Finger&SEQ=1&UIN=10002&AG=&SX=1&PV=")[0])
    )
    assert [e.uin for e in women] == [10002, 10004]
    (bob,) = cmd.parse_finger(
        decode_answer(ask(svc, "VER=1.1&CMD=Finger&SEQ=1&UIN=10002&AG=30&SX=0&PV=江苏")[0])
    )
    assert (bob.uin, bob.age, bob.province, bob.nick) == (10003, 30, "江苏", "Bob")


# -- over loopback: raw HTTP as the seeds' probe sent it --------------------------------


@pytest.fixture
async def tqq() -> AsyncIterator[TQQEmulator]:
    async with TQQEmulator(config=TQQConfig(penalty=0.3)) as emu:
        yield emu


async def raw(emu: TQQEmulator, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(emu.host, emu.port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    return data


async def test_the_seed_probe_request_line_without_a_target(tqq: TQQEmulator) -> None:
    body = b"VER=1.1&CMD=Logout&SEQ=4321&UIN=10002"
    # Exactly what the PHP probe wrote, body followed by an extra blank line.
    request = b"POST HTTP/1.1\r\nContent-length: %d\r\nConnection: close\r\n\r\n" % len(body)
    data = await raw(tqq, request + body + b"\r\n\r\n")
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Server: tencent imserver/1.0.0" in head
    assert b"Content-Type: text/plain; charset=UTF-8" in head
    assert payload == b"VER=1.1&CMD=LOGOUT&SEQ=4321&UIN=10002&RES=0"


async def test_query_stat_tn_0_writes_two_responses(tqq: TQQEmulator) -> None:
    login_body = (
        f"VER=1.1&CMD=Login&SEQ=1&UIN=10002&PS={password_md5('alice-pw')}&M5=1&LC={LC}".encode()
    )
    post = b"POST / HTTP/1.1\r\nHost: tqq.tencent.com:8000\r\nContent-Length: %d\r\n\r\n"
    assert b"RS=0" in await raw(tqq, post % len(login_body) + login_body)
    body = b"VER=1.1&CMD=Query_Stat&SEQ=7&UIN=10002&TN=0"
    data = await raw(tqq, post % len(body) + body)
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert b"RES=0&FN=2HTTP/1.1 200 OK" in data


async def test_only_post_is_served(tqq: TQQEmulator) -> None:
    data = await raw(tqq, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 405")
    too_big = await raw(tqq, b"POST / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n")
    assert too_big.startswith(b"HTTP/1.1 413")
    bad_length = await raw(tqq, b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
    assert bad_length.startswith(b"HTTP/1.1 400")


async def test_res_3_answers_only_after_the_penalty(tqq: TQQEmulator) -> None:
    login_body = (
        f"VER=1.1&CMD=Login&SEQ=1&UIN=10002&PS={password_md5('alice-pw')}&M5=1&LC={LC}".encode()
    )
    post = b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n"
    await raw(tqq, post % len(login_body) + login_body)
    body = ("VER=1.1&CMD=CLTMSG&SEQ=2&UIN=10002&UN=10003&MG=" + "好" * 134).encode()  # 402 bytes
    start = time.monotonic()
    data = await raw(tqq, post % len(body) + body)
    assert data.endswith(b"&RES=3")
    assert time.monotonic() - start >= 0.3
    assert tqq.service.sent == []


async def test_a_half_sent_request_does_not_stop_the_server(tqq: TQQEmulator) -> None:
    _, writer = await asyncio.open_connection(tqq.host, tqq.port)
    writer.write(b"POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\nVER=1.1")
    await writer.drain()
    writer.close()  # gone mid-body
    await writer.wait_closed()
    body = b"VER=1.1&CMD=Logout&SEQ=1&UIN=10002"
    assert (
        await raw(tqq, b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    ).endswith(b"RES=0")


def test_user_scripting_helpers() -> None:
    emu = TQQEmulator()
    svc = emu.service
    login(svc, ALICE, "alice-pw")
    emu.user(BOB).send(ALICE, "hello")
    emu.user(BOB).set_status(30)
    emu.user(CAROL).request_auth(ALICE, "add me")
    emu.user(BOB).system(ALICE, "notice")
    box = fields(ask(svc, "VER=1.1&CMD=GetMsgEx&SEQ=1&UIN=10002")[0])
    assert split_list(box["MT"]) == ["9", "99", "2", "99"]
    assert split_list(box["MG"]) == ["hello ", "30", "add me", "notice"]
    assert svc.status_of(BOB) == 30
    assert emu.url.startswith("http://127.0.0.1:")
