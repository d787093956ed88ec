"""Edges of the toolkit: conversions, name lookups, plugin forms, ordering end to end."""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from smartqq import Client, DiscuMessage, GroupMessage, LoggedIn, MessageEvent, Router
from smartqq import filters as f
from smartqq.emulator import Emulator
from smartqq.errors import UsageError
from smartqq.runtime import PluginError, RateLimit
from smartqq.runtime.commands import CommandSpec, parse_command
from smartqq.testing import RouterTester, make_client, until

ALICE, BOB, BOT = 10002, 10003, 10001


def test_parse_command_edges() -> None:
    assert parse_command("/roll\n20 more", ("/",), None) == parse_command(
        "/roll 20 more", ("/",), None
    )
    assert parse_command("/", ("/",), None) is None
    assert parse_command("/ roll", ("/",), None) is None
    assert parse_command("/r@ll", ("/",), None) is None
    call = parse_command("@Bot   !Go-Now x", ("/", "!"), "Bot")
    assert call is not None
    assert (call.prefix, call.name, call.args) == ("!", "go-now", "x")
    with pytest.raises(UsageError):
        CommandSpec("x", cooldown=-1)


async def test_typed_arguments_bool_float_and_a_trailing_string() -> None:
    router = Router()

    @router.command("set")
    async def set_(msg: MessageEvent, flag: bool, ratio: float, note: str = "") -> None:
        await msg.reply(f"{flag} {ratio} {note!r}")

    async with RouterTester(router) as bot:
        assert await bot.buddy("/set yes 0.5 a long note") == ["True 0.5 'a long note'"]
        assert await bot.buddy("/set off 2") == ["False 2.0 ''"]
        assert await bot.buddy("/set maybe 2") == [
            "flag must be yes or no, not 'maybe'. Usage: /set <flag> <ratio> [note]"
        ]
        assert await bot.buddy("/set yes half") == [
            "ratio must be a number, not 'half'. Usage: /set <flag> <ratio> [note]"
        ]


async def test_unbound_commands_and_a_handler_with_kwargs() -> None:
    router = Router()
    got: list[dict[str, Any]] = []

    @router.on(MessageEvent, f.text_matches(r"(?P<n>\d+)"))
    async def everything(msg: MessageEvent, **data: Any) -> None:
        got.append(data)

    async with RouterTester(router) as bot:
        await bot.buddy("number 12")
    assert set(got[0]) == {"client", "match"}
    assert got[0]["match"].group("n") == "12"


async def test_non_message_events_pass_middleware_and_reach_handlers() -> None:
    router = Router()
    router.outer_middleware(RateLimit(1, per=60))
    seen: list[str] = []

    @router.on(LoggedIn)
    async def logged_in(event: LoggedIn) -> None:
        seen.append(event.nick)

    async with RouterTester(router) as bot:
        await bot.feed(LoggedIn(uin=1, qq=2, nick="a"))
        await bot.feed(LoggedIn(uin=1, qq=2, nick="b"))
        assert await bot.buddy("text only") == []
    assert seen == ["a", "b"]


async def test_names_and_numbers_through_the_client(emulator: Emulator, client: Client) -> None:
    seen: list[str] = []

    @client.on(MessageEvent, f.from_qq(ALICE))
    async def alice(msg: MessageEvent) -> None:
        seen.append("alice:" + msg.kind)

    @client.on(DiscuMessage, f.in_discu("Weekend plans"))
    async def weekend(msg: DiscuMessage) -> None:
        seen.append("weekend")

    @client.on(GroupMessage, f.in_group("No such group", 999))
    async def never(msg: GroupMessage) -> None:
        seen.append("never")

    @client.on(GroupMessage, f.in_group(200001))  # the group's number
    async def by_number(msg: GroupMessage) -> None:
        seen.append("by number")

    emulator.user(ALICE).send_buddy(BOT, "hi")
    emulator.user(BOB).send_buddy(BOT, "hi")
    emulator.user(BOB).send_discu("Weekend plans", "saturday?")
    emulator.user(BOB).send_group("Python Fans", "hello")
    await until(lambda: len(seen) == 3)
    await asyncio.sleep(0.1)
    assert sorted(seen) == ["alice:message", "by number", "weekend"]
    assert await client.qq_of(10**9) is None  # unknown uin: the server will not say
    assert await client.chat_name(await _buddy_event(client)) is None


async def _buddy_event(client: Client) -> MessageEvent:
    from smartqq.events import parse_event

    event = parse_event(
        {"poll_type": "message", "value": {"msg_id": 1, "from_uin": 5, "content": ["x"]}}
    )
    assert isinstance(event, MessageEvent)
    event.bind(client)
    return event


async def test_order_within_each_chat_end_to_end(emulator: Emulator) -> None:
    client = make_client(emulator)
    rng = random.Random(3)
    seen: dict[tuple[str, int], list[int]] = {}

    @client.on(MessageEvent)
    async def handler(msg: MessageEvent) -> None:
        await asyncio.sleep(rng.random() * 0.002)
        seen.setdefault(msg.chat_key, []).append(int(msg.text))

    async with client:
        for n in range(30):
            emulator.user(ALICE).send_buddy(BOT, str(n))
            emulator.user(BOB).send_buddy(BOT, str(n))
            emulator.user(BOB).send_group("Python Fans", str(n))
            emulator.user(ALICE).send_discu("Weekend plans", str(n))
        await until(lambda: sum(map(len, seen.values())) == 120, timeout=20)
    assert len(seen) == 4
    assert all(ns == list(range(30)) for ns in seen.values())


def test_a_plain_module_and_entry_point_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"single_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "from smartqq import Router\nrouter = Router(name='single')\n", encoding="utf-8"
    )
    (tmp_path / f"{name}_none.py").write_text("VALUE = 1\n", encoding="utf-8")
    dist = tmp_path / f"{name}_dist-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-dist\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[smartqq.plugins]\nbroken = {name}_missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    root = Router()
    from smartqq.runtime.plugins import load_plugins

    assert load_plugins(root, [name]) == [name]
    assert load_plugins(root, [name]) == []  # already there: not included twice
    assert load_plugins(root, [name + "_none"]) == []
    with pytest.raises(PluginError, match=f"'{name}_missing'"):
        load_plugins(root, [], entry_points=True)
    (dist / "entry_points.txt").write_text(f"[smartqq.plugins]\nnone = {name}_none\n")
    with pytest.raises(PluginError, match="neither a Router"):
        load_plugins(root, [], entry_points=True)
    for module in [m for m in sys.modules if m.startswith(name)]:
        monkeypatch.delitem(sys.modules, module)


def test_filter_objects_need_a_check_and_repr_says_what_they_test() -> None:
    class Nothing(f.Filter):
        pass

    with pytest.raises(TypeError):
        Nothing().check(LoggedIn())
    assert repr(f.text_startswith("a")) == "text_startswith('a',)"
    combined = f.text_contains("x") & (lambda e: True)
    assert isinstance(combined, f.Filter)
    assert isinstance((lambda e: True) | f.from_self(), f.Filter)
    assert isinstance(f.from_self() & f.text_matches("a"), f.Filter)


async def test_and_merges_mappings_and_not_inverts() -> None:
    async with RouterTester() as bot:
        event = bot._message("message", "ab", from_uin=1)
        event.bind(bot)
        both = f.text_matches("a") & f.text_matches("(?P<b>b)")
        verdict = await both.evaluate(event)
        assert isinstance(verdict, dict)
        assert verdict["match"].group(0) == "b"
        assert await (~f.text_contains("z")).evaluate(event) is True
        assert await (f.text_contains("z") | f.text_contains("a")).evaluate(event) is True
        assert await f.in_group(5).evaluate(event) is False
