"""Bad input to the SDK's own API: a clear typed error each time, and the client keeps working."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from smartqq import BuddyMessage, Client
from smartqq.emulator import Emulator
from smartqq.errors import ClientClosedError, SessionFileError, SmartQQError, UsageError
from smartqq.testing import make_client, until


async def test_bad_calls_fail_clearly_and_the_client_keeps_working(
    emu: Emulator, tmp_path: Path
) -> None:
    async with make_client(emu) as client:
        await client.contacts.refresh()
        ally = client.contacts.friend_by_name("Ally")
        assert ally is not None
        bad_calls: list[tuple[Any, str]] = [
            (client.send_buddy_msg("12345", "hi"), "positive int id"),  # type: ignore[arg-type]
            (client.send_buddy_msg(True, "hi"), "positive int id"),  # type: ignore[arg-type]
            (client.send_buddy_msg(ally.uin, ""), "empty message"),
            (client.send_buddy_msg(ally.uin, "   "), "empty message"),
            (client.send_buddy_msg(ally.uin, [1, 2]), "cannot build content from int"),  # type: ignore[list-item]
            (client.send_buddy_msg(424242, "hi"), "no friend with id 424242"),
            (client.send_qun_msg(424242, "hi"), "no group with id 424242"),
            (client.send_discu_msg(424242, "hi"), "no discussion with id 424242"),
            (client.change_status("sleeping"), "status must be one of"),
        ]
        for call, message in bad_calls:
            with pytest.raises(UsageError, match=message):
                await call
        with pytest.raises(UsageError):
            client.on(int)(lambda event: None)  # type: ignore[arg-type]
        with pytest.raises(UsageError):
            Client(qq=-1, password="x")
        with pytest.raises(UsageError):
            Client(qq=10001)
        # Still receiving and sending.
        emu.user(10002).send_buddy(10001, "still here?")
        msg = await client.wait_for(BuddyMessage, timeout=5)
        result = await msg.reply("yes")
        assert result.msg_ids
        await until(lambda: [r["text"] for r in emu.sent] == ["yes"])
    with pytest.raises(ClientClosedError):
        await client.get_friends()
    with pytest.raises(ClientClosedError):
        await client.login()


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        ("{not json", 0o600, "corrupt"),
        ('{"version": 99, "session": {}}', 0o600, "unsupported version"),
        ('{"version": 1, "session": {"profile": "nope"}}', 0o600, "corrupt"),
        ('{"version": 1}', 0o600, "corrupt"),
        ("{}", 0o644, "readable by others"),
    ],
)
async def test_bad_session_files_are_typed_errors(
    emu: Emulator, tmp_path: Path, content: str, mode: int, message: str
) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    os.chmod(path, mode)
    client = make_client(emu, session_file=path)
    with pytest.raises(SessionFileError, match=message) as info:
        await client.login()
    assert isinstance(info.value, SmartQQError)
    await client.close()
