"""No password, password hash, token or secret cookie in logs, reprs, errors or CLI output."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from smartqq import BuddyMessage
from smartqq.cli import amain
from smartqq.emulator import Emulator
from smartqq.errors import ProtocolError, WrongPassword
from smartqq.events import parse_poll
from smartqq.protocol import endpoints as ep
from smartqq.protocol.session import SessionState
from smartqq.testing import make_client, until


def secrets_of(state: SessionState) -> set[str]:
    # Every token and every secret-named cookie, plus long opaque cookie values.
    values = set(state.secrets())
    values |= {c["value"] for c in state.cookies.to_list() if len(c["value"]) >= 16}
    return {v for v in values if len(v) >= 6}


async def test_no_secret_reaches_logs_reprs_errors_or_the_cli(
    emu: Emulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "alice-pw"
    leaks: list[str] = []
    seen: set[str] = set()
    client = make_client(emu, qq=10002, password=password)
    async with client:
        assert client.state is not None
        seen |= secrets_of(client.state)
        # 116 rotation, a relink after expiry, a send, a failed parse: every flow logs.
        emu.config.rotate_ptwebqq_every = 0
        first = client.state.ptwebqq
        await until(lambda: client.state is not None and client.state.ptwebqq != first)
        emu.config.rotate_ptwebqq_every = None
        seen |= secrets_of(client.state)
        emu.expire_sessions()
        emu.user(10003).send_buddy(10002, "hello")
        await client.wait_for(BuddyMessage, timeout=5)
        seen |= secrets_of(client.state)
        await client.contacts.refresh()
        bob = client.contacts.friend_by_name("Bob")
        assert bob is not None
        await client.send_buddy_msg(bob.uin, "hi")
        leaks += [repr(client), repr(client.state), repr(ep.poll2(client.state))]
        with pytest.raises(ProtocolError) as bad:
            parse_poll(f'{{"retcode":0,"result":"{client.state.psessionid}'.encode())
        leaks.append(str(bad.value))
    with pytest.raises(WrongPassword) as wrong:
        async with make_client(emu, qq=10003, password="not-bobs-password"):
            pass
    leaks.append(str(wrong.value))
    # The CLI: login and contacts, output captured.
    session = tmp_path / "s.json"
    monkeypatch.setenv("SMARTQQ_PASSWORD", password)
    common = ["--base-url", emu.url, "--session", str(session)]
    assert await amain(["login", "--qq", "10002", *common]) == 0
    assert await amain(["contacts", *common]) == 0
    out = capsys.readouterr()
    leaks += [out.out, out.err, caplog.text]
    md5 = hashlib.md5(password.encode()).hexdigest()
    forbidden = seen | {password, "not-bobs-password", md5, md5.upper()}
    assert len(seen) >= 5  # ptwebqq (two), vfwebqq, psessionid, skey, … were all collected
    text = "\n".join(leaks)
    assert "poll2" in caplog.text  # DEBUG logging really was on
    found = sorted(s for s in forbidden if s in text)
    assert found == []
