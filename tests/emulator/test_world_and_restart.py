"""World files (JSON and TOML) and emulator restarts that keep the world."""

from __future__ import annotations

import asyncio
import gc
import tomllib
import weakref
from pathlib import Path

import pytest

from smartqq import BuddyMessage, Reconnected
from smartqq.emulator import Emulator, World, WorldError, demo_world, webui
from smartqq.emulator.toml_writer import dumps
from smartqq.testing import make_client, until


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_world_files_round_trip(tmp_path: Path, suffix: str) -> None:
    world = demo_world()
    world.accounts[10004].nick = 'Carol "C" \\ Co\n\x7f 🎉'
    world.groups[200001].cards[10004] = "card with = and [brackets]"
    path = tmp_path / f"world{suffix}"
    world.save(path)
    assert World.load(path).to_dict() == world.to_dict()


def test_toml_writer_output_is_plain_toml() -> None:
    text = dumps({"title": "x", "n": 1, "ok": True, "skip": None, "items": [{"a": 1.5}]})
    assert text == 'title = "x"\nn = 1\nok = true\n\n[[items]]\na = 1.5\n'
    assert tomllib.loads(dumps({"odd key": {"in ner": []}, "empty": {}})) == {
        "odd key": {"in ner": []},
        "empty": {},
    }
    with pytest.raises(TypeError, match="cannot write set"):
        dumps({"bad": {1, 2}})


def test_a_bad_toml_world_is_a_world_error(tmp_path: Path) -> None:
    path = tmp_path / "world.toml"
    path.write_text("accounts = [[[")
    with pytest.raises(WorldError, match="cannot read world"):
        World.load(path)


async def test_front_end_restart_keeps_sessions_and_queued_events(emu: Emulator) -> None:
    async with make_client(emu) as client:
        port = emu.port
        await until(lambda: emu.stats()["waiters"] > 0)
        await emu.restart()
        assert emu.port == port
        emu.user(10002).send_buddy(10001, "after a restart")
        msg = await client.wait_for(BuddyMessage, timeout=10)
        assert msg.text == "after a restart"
        assert emu.service.live(10001) is not None


async def test_cold_restart_forgets_logins_and_the_client_logs_in_again(emu: Emulator) -> None:
    async with make_client(emu) as client:
        reconnects: list[Reconnected] = []
        client.add_handler(Reconnected, reconnects.append)
        await until(lambda: emu.stats()["waiters"] > 0)
        await emu.restart(keep_logins=False)
        assert emu.service.live(10001) is None
        await until(lambda: emu.service.live(10001) is not None, timeout=10)
        await until(lambda: any(r.how in ("relink", "relogin") for r in reconnects), timeout=10)
        emu.user(10002).send_buddy(10001, "hello again")
        msg = await client.wait_for(
            BuddyMessage, check=lambda m: m.text == "hello again", timeout=10
        )
        assert msg.text == "hello again"
    assert emu.world.accounts[10002].nick == "Alice"


async def test_restart_needs_a_running_emulator() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        await Emulator().restart()


async def test_overlapping_restarts_leave_no_listening_socket_behind() -> None:
    import gc
    import os

    before = len(os.listdir("/proc/self/fd"))
    async with Emulator(qr_confirm_after=1) as emu:  # QR auto-confirm is opt-in
        await asyncio.gather(emu.restart(), emu.restart(), emu.restart())
        async with make_client(emu) as client:
            assert client.logged_in
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= before


async def test_a_finished_emulator_and_its_web_page_state_are_freed() -> None:
    # The web page's hub refers back to its emulator; nothing global may hold either
    # (a module-level map once kept every emulator and its journals alive).
    async with Emulator() as emu:
        hub = webui.hub_for(emu)
        assert hub is emu.web_hub
        emu.inject("buddy", 10002, 10001, "hello")
    gone = weakref.ref(emu)
    hub_gone = weakref.ref(hub)
    del emu, hub
    gc.collect()
    assert gone() is None
    assert hub_gone() is None
