"""The toolkit end to end: a client logged in to the emulator, routers included."""

from __future__ import annotations

import asyncio
import re
import sys
import textwrap
from pathlib import Path

import pytest

from smartqq import Client, GroupMessage, MessageEvent, Router
from smartqq import filters as f
from smartqq.emulator import Emulator
from smartqq.runtime import PluginError
from smartqq.testing import make_client, until

ALICE, BOB, BOT = 10002, 10003, 10001


def texts(emulator: Emulator) -> list[tuple[str, str]]:
    return [(r["kind"], r["text"]) for r in emulator.sent]


def fun_router() -> Router:
    router = Router(name="fun")

    @router.command("roll", description="roll a die: /roll [sides]")
    async def roll(msg: MessageEvent, sides: int = 6) -> None:
        await msg.reply(f"rolled {min(sides, 1)}")

    @router.on(GroupMessage, f.text_contains("python") & ~f.from_self() & f.in_group("Python Fans"))
    async def cheer(msg: GroupMessage) -> None:
        await msg.reply("python!")

    return router


async def test_commands_and_filters_in_every_chat_kind(emulator: Emulator, client: Client) -> None:
    client.include_router(fun_router())
    assert client.self_nick == "SmartBot"
    assert client.self_uin == client.uin
    emulator.user(ALICE).send_buddy(BOT, "/roll 1")
    await until(lambda: len(emulator.sent) == 1)
    emulator.user(ALICE).send_group("Python Fans", "@SmartBot /roll 1")
    await until(lambda: len(emulator.sent) == 2)
    emulator.user(ALICE).send_discu("Weekend plans", "!ROLL 1")
    await until(lambda: len(emulator.sent) == 3)
    emulator.user(BOB).send_group("Python Fans", "I like python")
    await until(lambda: len(emulator.sent) == 4)
    emulator.user(BOB).send_sess(BOT, "/roll x")
    await until(lambda: len(emulator.sent) == 5)
    emulator.user(ALICE).send_buddy(BOT, "/help")
    await until(lambda: len(emulator.sent) == 6)
    assert texts(emulator)[:5] == [
        ("buddy", "rolled 1"),
        ("group", "rolled 1"),
        ("discu", "rolled 1"),
        ("group", "python!"),
        (
            "sess",
            "sides must be an integer, not 'x'. Usage: /roll [sides] - roll a die: /roll [sides]",
        ),
    ]
    assert texts(emulator)[5] == ("buddy", "Commands:\n/roll [sides] - roll a die: /roll [sides]")


async def test_quit_handler_stops_the_client_with_other_handlers_in_flight(
    emulator: Emulator,
) -> None:
    client = make_client(emulator, stop_grace=10)
    events: list[str] = []
    started = asyncio.Event()

    @client.on_startup
    async def ready() -> None:
        events.append("startup")

    @client.on_shutdown
    async def bye(c: Client) -> None:
        assert c is client
        events.append("shutdown")

    @client.on(GroupMessage)
    async def slow(msg: GroupMessage) -> None:
        started.set()
        await asyncio.sleep(0.3)
        await msg.reply("slow done")  # the session is still open while handlers drain
        events.append("slow")

    @client.command("quit")
    async def quit_(msg: MessageEvent) -> None:
        await started.wait()
        await client.stop()  # returns at once from a handler
        await msg.reply("bye")
        events.append("quit")

    async with client:
        emulator.user(ALICE).send_group("Python Fans", "work")
        emulator.user(ALICE).send_buddy(BOT, "/quit")
        await asyncio.wait_for(client.run_until_disconnected(), 10)  # returns normally
        assert events == ["startup", "quit", "slow", "shutdown"]
    assert sorted(texts(emulator)) == [("buddy", "bye"), ("group", "slow done")]
    assert not client.handler_tasks
    leftover = [t for t in asyncio.all_tasks() if t.get_name().startswith("smartqq")]
    assert leftover == []
    await client.stop()  # idempotent
    await client.close()


async def test_stop_with_logout_ends_the_server_session(emulator: Emulator) -> None:
    client = make_client(emulator)
    await client.start()
    assert emulator.stats()["sessions"] == 1
    await client.stop(logout=True)
    assert emulator.stats()["sessions"] == 0
    assert not client.logged_in
    await client.run_until_disconnected()  # after stop: returns at once


async def test_run_until_disconnected_needs_a_started_client(emulator: Emulator) -> None:
    from smartqq.errors import UsageError

    client = make_client(emulator)
    with pytest.raises(UsageError):
        await client.run_until_disconnected()
    await client.close()


async def test_ask_racing_a_command(emulator: Emulator) -> None:
    client = make_client(emulator, handler_concurrency="task")
    client.include_router(fun_router())
    names: list[str] = []

    @client.command("name")
    async def name(msg: MessageEvent) -> None:
        answer = await msg.ask("What's your name?", timeout=5)
        names.append(answer.text)
        await msg.reply("hello " + answer.text)

    async with client:
        emulator.user(ALICE).send_buddy(BOT, "/name")
        await until(lambda: texts(emulator) == [("buddy", "What's your name?")])
        emulator.user(BOB).send_buddy(BOT, "/roll 1")  # another chat: a command as usual
        emulator.user(ALICE).send_buddy(BOT, "/roll 1")  # the answer: consumed
        await until(lambda: len(emulator.sent) == 3)
        await asyncio.sleep(0.05)
    assert names == ["/roll 1"]
    assert sorted(texts(emulator)[1:]) == [("buddy", "hello /roll 1"), ("buddy", "rolled 1")]
    assert [r["to"] for r in emulator.sent[1:] if r["text"] == "rolled 1"] == [BOB]


async def test_wait_for_scoped_to_a_chat(emulator: Emulator, client: Client) -> None:
    first = asyncio.ensure_future(client.wait_for(MessageEvent, timeout=5))
    emulator.user(BOB).send_buddy(BOT, "hello")
    opener = await first
    scoped = asyncio.ensure_future(client.wait_for(MessageEvent, chat=opener, timeout=5))
    emulator.user(ALICE).send_buddy(BOT, "not this chat")
    emulator.user(BOB).send_buddy(BOT, "this one")
    assert (await scoped).text == "this one"


def write_package(root: Path, name: str, modules: dict[str, str]) -> None:
    pkg = root / name
    pkg.mkdir()
    for module, source in modules.items():
        (pkg / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")


PLUGIN_INIT = """
    from smartqq import MessageEvent, Router

    router = Router(name="core")

    @router.command("hello")
    async def hello(msg: MessageEvent) -> None:
        await msg.reply("hello from the package")
"""
PLUGIN_GAMES = """
    from smartqq import MessageEvent, Router

    router = Router(name="games")

    @router.command("coin")
    async def coin(msg: MessageEvent) -> None:
        await msg.reply("heads")
"""


async def test_plugins_load_from_a_package_in_a_temporary_directory(
    emulator: Emulator, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"plug_{tmp_path.name.replace('-', '_')}"
    write_package(
        tmp_path,
        name,
        {"__init__": PLUGIN_INIT, "games": PLUGIN_GAMES, "helpers": "VALUE = 1\n"},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert client.load_plugins(name) == [name, f"{name}.games"]
    emulator.user(ALICE).send_buddy(BOT, "/hello")
    emulator.user(BOB).send_buddy(BOT, "/coin")
    await until(lambda: len(emulator.sent) == 2)
    assert sorted(texts(emulator)) == [("buddy", "heads"), ("buddy", "hello from the package")]
    for module in [m for m in sys.modules if m.startswith(name)]:
        monkeypatch.delitem(sys.modules, module)


async def test_a_failing_plugin_module_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"bad_{tmp_path.name.replace('-', '_')}"
    write_package(
        tmp_path,
        name,
        {"__init__": "", "fine": PLUGIN_GAMES, "broken": "import no_such_module_here\n"},
    )
    write_package(tmp_path, name + "_wrong", {"__init__": "router = 42\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    client = Client()
    with pytest.raises(PluginError, match=re.escape(f"plugin '{name}.broken' failed to load")):
        client.load_plugins(name)
    with pytest.raises(PluginError, match="not a Router"):
        client.load_plugins(name + "_wrong")
    with pytest.raises(PluginError, match="'no_such_plugin_pkg'"):
        client.load_plugins("no_such_plugin_pkg")
    await client.close()
    for module in [m for m in sys.modules if m.startswith(name)]:
        monkeypatch.delitem(sys.modules, module)


async def test_plugins_from_the_entry_point_group(
    emulator: Emulator, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"ep_{tmp_path.name.replace('-', '_')}"
    write_package(tmp_path, name, {"__init__": "", "games": PLUGIN_GAMES})
    dist = tmp_path / f"{name}_dist-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-dist\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[smartqq.plugins]\ngames = {name}.games\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert client.load_plugins() == ["games"]
    emulator.user(ALICE).send_buddy(BOT, "/coin")
    await until(lambda: texts(emulator) == [("buddy", "heads")])
    for module in [m for m in sys.modules if m.startswith(name)]:
        monkeypatch.delitem(sys.modules, module)


async def test_a_startup_hook_that_fails_fails_start(emulator: Emulator) -> None:
    client = make_client(emulator)

    @client.on_startup
    def broken() -> None:
        raise RuntimeError("no config")

    with pytest.raises(RuntimeError, match="no config"):
        async with client:
            pass
    assert not client.handler_tasks


async def test_a_failing_shutdown_hook_is_logged_and_the_rest_run(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []
    client = make_client(emulator)

    @client.on_shutdown
    def broken() -> None:
        raise RuntimeError("hook bug")

    @client.on_shutdown
    def fine() -> None:
        ran.append("fine")

    async with client:
        pass
    assert ran == ["fine"]
    assert "shutdown hook" in caplog.text


async def test_stop_from_a_shutdown_hook_or_a_task_mode_handler(emulator: Emulator) -> None:
    client = make_client(emulator, handler_concurrency="task")
    calls: list[str] = []

    @client.on_shutdown
    async def hook() -> None:
        await client.stop()  # inside the stop itself: returns at once
        calls.append("hook")

    @client.command("quit")
    async def quit_(msg: MessageEvent) -> None:
        await client.stop()
        calls.append("quit")

    async with client:
        emulator.user(ALICE).send_buddy(BOT, "/quit")
        await asyncio.wait_for(client.run_until_disconnected(), 10)
    assert calls == ["quit", "hook"]


async def test_the_obvious_close_in_a_quit_handler_works_too(emulator: Emulator) -> None:
    client = make_client(emulator)

    @client.command("quit")
    async def quit_(msg: MessageEvent) -> None:
        await msg.reply("bye")
        await client.close()  # once a RecursionError and exit status 1

    async with client:
        emulator.user(ALICE).send_buddy(BOT, "/quit")
        await asyncio.wait_for(client.run_until_disconnected(), 10)
    assert texts(emulator) == [("buddy", "bye")]
    assert not client.handler_tasks


async def test_shutdown_hooks_pair_with_startup(emulator: Emulator) -> None:
    from smartqq.errors import LoginError

    client = make_client(emulator, qq=ALICE, password="not her password")
    ran: list[str] = []
    client.on_startup(lambda: ran.append("startup"))
    client.on_shutdown(lambda: ran.append("shutdown"))
    with pytest.raises(LoginError):
        async with client:
            pass
    assert ran == []  # never started: nothing to shut down
