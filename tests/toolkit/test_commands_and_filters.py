"""Routers, commands, filters and middleware through RouterTester (no server)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from smartqq import BuddyMessage, DiscuMessage, Event, GroupMessage, MessageEvent, Router
from smartqq import filters as f
from smartqq.errors import UsageError
from smartqq.runtime import CommandCall, ErrorHook, RateLimit, drop_self_echo
from smartqq.testing import RouterTester


def dice_router() -> Router:
    router = Router(name="fun")

    @router.command("roll", description="roll a die", aliases=["dice", "r"])
    async def roll(msg: MessageEvent, sides: int = 6) -> None:
        await msg.reply(f"rolled 1..{sides}")

    @router.command("echo")
    async def echo(msg: MessageEvent, args: str, command: CommandCall) -> None:
        await msg.reply(f"{command.prefix}{command.name}:{args}")

    @router.command("add", description="add two numbers")
    def add(msg: MessageEvent, a: int, b: int) -> Any:
        return msg.reply(str(a + b))

    return router


async def test_commands_prefixes_case_aliases_and_arguments() -> None:
    async with RouterTester(dice_router()) as bot:
        assert await bot.buddy("/roll") == ["rolled 1..6"]
        assert await bot.buddy("!ROLL 20") == ["rolled 1..20"]
        assert await bot.buddy("/Dice 8") == ["rolled 1..8"]
        assert await bot.buddy("/r 3") == ["rolled 1..3"]
        assert await bot.buddy("  /echo   hello   world ") == ["/echo:hello   world"]
        assert await bot.buddy("/echo") == ["/echo:"]
        assert await bot.buddy("/add 2 40") == ["42"]
        assert await bot.buddy("roll 20") == []  # no prefix: not a command
        assert await bot.buddy("/rolling") == []  # another name
        assert await bot.buddy("#roll") == []


async def test_bad_arguments_get_the_usage_line() -> None:
    async with RouterTester(dice_router()) as bot:
        assert await bot.buddy("/roll many") == [
            "sides must be an integer, not 'many'. Usage: /roll [sides] - roll a die"
        ]
        assert await bot.buddy("/add 2") == ["missing b. Usage: /add <a> <b> - add two numbers"]


async def test_commands_in_every_chat_kind_and_at_the_bot_in_groups() -> None:
    async with RouterTester(dice_router(), self_nick="DiceBot") as bot:
        assert await bot.group("/roll 4") == ["rolled 1..4"]
        assert await bot.group("@DiceBot /roll 5") == ["rolled 1..5"]
        assert await bot.group("@SomeoneElse /roll 5") == []
        assert await bot.discu("!roll 7") == ["rolled 1..7"]
        assert await bot.sess("/roll 9") == ["rolled 1..9"]
        chats = {r.chat[0] for r in bot.replies}
        assert chats == {"group_message", "discu_message", "sess_message"}


async def test_automatic_help_lists_commands_and_a_custom_help_wins() -> None:
    async with RouterTester(dice_router()) as bot:
        (text,) = await bot.buddy("/help")
        assert text.splitlines() == [
            "Commands:",
            "/add <a> <b> - add two numbers",
            "/echo",
            "/roll [sides] - roll a die (also: dice, r)",
        ]
    custom = Router()

    @custom.command("help")
    async def my_help(msg: MessageEvent) -> None:
        await msg.reply("ask Alice")

    async with RouterTester(custom) as bot:
        assert await bot.buddy("/help") == ["ask Alice"]
    async with RouterTester(Router()) as bot:
        assert await bot.buddy("/help") == []  # no commands, no help


async def test_cooldowns_per_chat_and_per_user_with_a_reply() -> None:
    router = Router()

    @router.command("ping", cooldown=60, cooldown_reply="wait {remaining:.0f} s")
    async def ping(msg: MessageEvent) -> None:
        await msg.reply("pong")

    @router.command("me", cooldown=60, cooldown_scope="user")
    async def me(msg: MessageEvent) -> None:
        await msg.reply("you")

    async with RouterTester(router) as bot:
        assert await bot.group("/ping", sender=1) == ["pong"]
        assert await bot.group("/ping", sender=2) == ["wait 60 s"]  # same group: cooling
        assert await bot.buddy("/ping", sender=1) == ["pong"]  # another chat
        assert await bot.group("/me", sender=1) == ["you"]
        assert await bot.group("/me", sender=1, group=777) == []  # same user, other chat
        assert await bot.group("/me", sender=2) == ["you"]


async def test_router_prefixes_are_configurable() -> None:
    router = Router(prefixes=(".",))

    @router.command("hi")
    async def hi(msg: MessageEvent) -> None:
        await msg.reply("hello")

    async with RouterTester(router) as bot:
        assert await bot.buddy(".hi") == ["hello"]
        assert await bot.buddy("/hi") == []
    with pytest.raises(UsageError):
        Router(prefixes=())
    with pytest.raises(UsageError):
        router.command("two words")


async def test_filters_compose_and_text_matches_hands_over_the_match() -> None:
    router = Router()
    seen: list[str] = []

    async def is_long(event: Event) -> bool:
        return isinstance(event, MessageEvent) and len(event.text) > 10

    @router.on(MessageEvent, f.text_startswith("hi") | f.text_contains("hello", ignore_case=True))
    async def greet(msg: MessageEvent) -> None:
        seen.append("greet:" + msg.text)

    @router.on(GroupMessage, f.text_matches(r"(\d+) apples") & ~f.from_self())
    async def apples(msg: GroupMessage, match: re.Match[str]) -> None:
        seen.append("apples:" + match.group(1))

    @router.on(MessageEvent, is_long, lambda e: "x" in e.text)
    def long_x(msg: MessageEvent) -> None:
        seen.append("long_x")

    @router.on(BuddyMessage, f.chat("buddy") & f.from_qq(42))
    async def from_42(msg: BuddyMessage) -> None:
        seen.append("42")

    @router.on(MessageEvent, f.mentioned_me())
    async def mentioned(msg: MessageEvent) -> None:
        seen.append("mentioned")

    @router.on(MessageEvent, f.in_group(20001) | f.in_discu(30001))
    async def known_chats(msg: MessageEvent) -> None:
        seen.append("known:" + msg.kind)

    async with RouterTester(router, self_uin=10001, self_nick="Bot") as bot:
        await bot.buddy("hi there")
        await bot.buddy("well HELLO")
        await bot.group("3 apples", group=5)
        await bot.group("4 apples", sender=10001, group=5)  # our own echo
        await bot.buddy("a long text with x")
        await bot.buddy("short x")
        await bot.buddy("anything", sender=42)
        await bot.group("hey @Bot look", group=5)
        await bot.group("plain")
        await bot.discu("plain")
    assert seen == [
        "greet:hi there",
        "greet:well HELLO",
        "apples:3",
        "long_x",
        "42",
        "mentioned",
        "known:group_message",
        "known:discu_message",
    ]


async def test_a_filter_shared_by_handlers_is_evaluated_once_per_event() -> None:
    calls: list[str] = []

    def counted(event: Event) -> bool:
        calls.append("filter")
        return True

    shared = f.as_filter(counted) & f.text_contains("go")
    router = Router()
    ran: list[int] = []
    for i in range(3):
        router.on(MessageEvent, shared)(_appender(ran, i))
    async with RouterTester(router) as bot:
        await bot.buddy("go")
        await bot.buddy("go")
    assert ran == [0, 1, 2, 0, 1, 2]
    assert calls == ["filter", "filter"]


def _appender(out: list[int], value: int) -> Any:
    async def handler(msg: MessageEvent) -> None:
        out.append(value)

    return handler


async def test_failing_filters_and_handlers_are_isolated(caplog: pytest.LogCaptureFixture) -> None:
    router = Router(name="iso")
    seen: list[str] = []

    def broken_filter(event: Event) -> bool:
        raise RuntimeError("filter bug")

    @router.on(MessageEvent, broken_filter)
    async def never(msg: MessageEvent) -> None:
        seen.append("never")

    @router.on(MessageEvent)
    async def boom(msg: MessageEvent) -> None:
        raise ValueError("handler bug")

    @router.on(MessageEvent)
    async def after(msg: MessageEvent) -> None:
        seen.append("after")

    async with RouterTester(router) as bot:
        await bot.buddy("x")
    assert seen == ["after"]
    assert (
        "as_filter('test_failing_filters_and_handlers_are_isolated.<locals>.broken_filter') failed on BuddyMessage"
        in caplog.text
    )
    assert "handler bug" in caplog.text
    assert "boom (router 'iso') failed on BuddyMessage" in caplog.text
    with pytest.raises(UsageError):
        f.as_filter(42)
    with pytest.raises(UsageError):
        f.chat("telegram")  # type: ignore[arg-type]


async def test_middleware_outer_drops_inner_adds_data() -> None:
    router = Router(name="mw")
    order: list[str] = []

    @router.outer_middleware
    async def only_alice(handler: Any, event: Event, data: dict[str, Any]) -> Any:
        order.append("outer")
        if isinstance(event, MessageEvent) and event.sender_uin != 10002:
            return None  # dropped
        data["greeting"] = "hi"
        return await handler(event, data)

    @router.middleware
    def timing(handler: Any, event: Event, data: dict[str, Any]) -> Any:  # sync middleware
        order.append("inner")
        data["user"] = "alice"
        return handler(event, data)

    @router.on(MessageEvent)
    async def hello(msg: MessageEvent, greeting: str, user: str, client: Any) -> None:
        assert isinstance(client, RouterTester)
        await msg.reply(f"{greeting} {user}")

    @router.on(MessageEvent)
    async def wants_missing(msg: MessageEvent, nowhere: int) -> None:
        raise AssertionError("not called")

    async with RouterTester(router) as bot:
        assert await bot.buddy("x", sender=10002) == ["hi alice"]
        assert await bot.buddy("x", sender=10003) == []
    assert order == ["outer", "inner", "inner", "outer"]


async def test_builtin_middleware() -> None:
    errors: list[str] = []
    router = Router()
    router.middleware(ErrorHook(lambda exc, event, data: errors.append(str(exc))))
    limit = RateLimit(2, per=60, reply="slow down")
    router.outer_middleware(limit)
    router.outer_middleware(drop_self_echo)

    @router.on(MessageEvent)
    async def fails(msg: MessageEvent) -> None:
        raise KeyError(msg.text)

    async with RouterTester(router, self_uin=10001) as bot:
        assert await bot.group("a") == []
        assert await bot.group("b") == []
        assert await bot.group("c") == ["slow down"]
        assert await bot.group("d") == []  # answered once per window
        assert await bot.buddy("e") == []  # another chat has its own budget
        await bot.buddy("mine", sender=10001)  # our own: dropped before the handler
    assert errors == ["'a'", "'b'", "'e'"]
    assert limit.dropped == 2
    with pytest.raises(ValueError):
        RateLimit(0)


async def test_include_router_order_nesting_block_and_late_handlers() -> None:
    order: list[str] = []
    root, a, b, inner = (
        Router(name="root"),
        Router(name="a"),
        Router(name="b"),
        Router(name="inner"),
    )

    @a.on(MessageEvent)
    async def a1(msg: MessageEvent) -> None:
        order.append("a1")

    root.include_router(a)
    root.include_router(b)
    a.include_router(inner)

    @inner.on(MessageEvent)  # registered after inclusion: still found
    async def inner1(msg: MessageEvent) -> None:
        order.append("inner1")

    @b.on(MessageEvent, f.text_contains("stop"), block=True)
    async def b_block(msg: MessageEvent) -> None:
        order.append("b_block")

    @b.on(MessageEvent)
    async def b2(msg: MessageEvent) -> None:
        order.append("b2")

    @root.on(MessageEvent)
    async def root1(msg: MessageEvent) -> None:
        order.append("root1")

    async with RouterTester(root) as bot:
        await bot.buddy("go")
        order.append("|")
        await bot.buddy("stop")
        root.remove_handler(root1)
        order.append("|")
        await bot.buddy("go")
    assert order == [
        "root1", "a1", "inner1", "b2", "|",
        "root1", "a1", "inner1", "b_block", "|",
        "a1", "inner1", "b2",
    ]  # fmt: skip
    with pytest.raises(UsageError, match="already included"):
        Router().include_router(a)
    with pytest.raises(UsageError, match="cycle"):
        inner.include_router(root)
    with pytest.raises(UsageError):
        root.include_router("not a router")  # type: ignore[arg-type]
    assert "root" in repr(root)


async def test_ask_consumes_the_answer_even_when_it_looks_like_a_command() -> None:
    router = dice_router()
    answers: list[str] = []

    @router.command("name")
    async def name(msg: MessageEvent) -> None:
        answer = await msg.ask("What's your name?", timeout=5)
        answers.append(answer.text)
        await msg.reply(f"hi {answer.text}")

    async with RouterTester(router) as bot:
        assert await bot.buddy("/name") == ["What's your name?"]
        assert await bot.buddy("hi", sender=10003) == []  # someone else: not the answer
        assert await bot.group("/roll 2") == ["rolled 1..2"]  # another chat: unaffected
        assert await bot.buddy("/roll 3") == ["hi /roll 3"]  # the answer, not a command
        assert answers == ["/roll 3"]
        assert await bot.buddy("/roll 3") == ["rolled 1..3"]  # answered: commands again


async def test_ask_times_out() -> None:
    router = Router()
    outcome: list[str] = []

    @router.on(BuddyMessage)
    async def asker(msg: BuddyMessage) -> None:
        try:
            await msg.ask("quick?", timeout=0.01)
        except TimeoutError:
            outcome.append("timeout")

    async with RouterTester(router) as bot:
        await bot.buddy("start")
        await bot.settle()
    assert outcome == ["timeout"]
    assert not bot.dispatcher._waiters


async def test_unbound_events_cannot_reply_or_ask() -> None:
    tester = RouterTester()
    event = tester._message("discu_message", "x", from_uin=1, did=1, send_uin=2)
    assert isinstance(event, DiscuMessage)
    with pytest.raises(UsageError):
        await event.ask("?")


async def test_middleware_outer_flag_and_the_whole_data_mapping() -> None:
    router = Router()

    @router.middleware(outer=True)
    def outer(handler: Any, event: Event, data: dict[str, Any]) -> Any:
        data["who"] = "outer"
        return handler(event, data)

    @router.middleware(outer=False)
    async def inner(handler: Any, event: Event, data: dict[str, Any]) -> Any:
        data["also"] = "inner"
        return await handler(event, data)

    @router.on(MessageEvent)
    async def show(msg: MessageEvent, data: dict[str, Any]) -> None:
        await msg.reply(f"{data['who']} {data['also']} {sorted(data)}")

    async with RouterTester(router) as bot:
        assert await bot.buddy("x") == ["outer inner ['also', 'client', 'who']"]
