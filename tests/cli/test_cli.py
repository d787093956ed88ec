"""The command line, run in-process against the emulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from pathlib import Path

import pytest

from smartqq.cli import amain, build_parser, main
from smartqq.emulator import Emulator
from smartqq.table import Table
from smartqq.testing import until


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return tmp_path / "conf" / "session.json"


async def login(emu: Emulator, session: Path, *extra: str) -> int:
    return await amain(["login", "--base-url", emu.url, "--session", str(session), *extra])


def common(emu: Emulator, session: Path) -> list[str]:
    return ["--base-url", emu.url, "--session", str(session)]


async def test_qr_login_saves_a_private_session(
    emu: Emulator, session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await login(emu, session) == 0
    out = capsys.readouterr().out
    assert "Scan this QR code" in out
    assert "█" in out or "▀" in out or "▄" in out  # the QR rendered as block characters
    assert "logged in as SmartBot (QQ 10001)" in out
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    saved = json.loads(session.read_text())
    assert saved["session"]["qq"] == 10001


async def test_password_login_with_captcha_prompt(
    emu: Emulator,
    session: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: "carol-pw")
    prompts: list[str] = []

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        code = emu.captcha_code(10004)
        assert code
        return code

    monkeypatch.setattr("builtins.input", fake_input)
    assert await login(emu, session, "--qq", "10004") == 0
    out = capsys.readouterr().out
    assert prompts == ["captcha code: "]
    assert "A captcha is required; the image is at" in out
    assert "logged in as Carol & Co (QQ 10004)" in out
    assert "carol-pw" not in session.read_text()


async def test_wrong_password_is_a_clear_error_without_the_secret(
    emu: Emulator,
    session: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SMARTQQ_PASSWORD", "not-alices-pw")
    assert await login(emu, session, "--qq", "10002") == 1
    captured = capsys.readouterr()
    assert "smartqq login: WrongPassword" in captured.err
    assert "not-alices-pw" not in captured.err + captured.out
    assert not session.exists()


async def test_contacts_table_and_json(
    emu: Emulator, session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await login(emu, session) == 0
    capsys.readouterr()
    assert await amain(["contacts", *common(emu, session)]) == 0
    out = capsys.readouterr().out
    for expected in ("Friends (3)", "Groups (1)", "Discussions (1)", "Ally", "Python Fans"):
        assert expected in out
    assert await amain(["contacts", "--json", *common(emu, session)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {f["nick"] for f in doc["friends"]} == {"Alice", "Bob", "Carol & Co"}
    assert [g["name"] for g in doc["groups"]] == ["Python Fans"]
    assert [d["name"] for d in doc["discussions"]] == ["Weekend plans"]


async def test_send_by_name_and_by_id(
    emu: Emulator, session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await login(emu, session) == 0
    assert await amain(["send", "buddy", "Ally", "hi alice", *common(emu, session)]) == 0
    assert await amain(["send", "group", "Python Fans", "hi group", *common(emu, session)]) == 0
    capsys.readouterr()
    # The discussion by its numeric did, read back from the contacts listing.
    assert await amain(["contacts", "--json", *common(emu, session)]) == 0
    did = json.loads(capsys.readouterr().out)["discussions"][0]["did"]
    assert await amain(["send", "discuss", str(did), "hi all", *common(emu, session)]) == 0
    assert "in 1 part(s)" in capsys.readouterr().out
    assert [(r["kind"], r["text"]) for r in emu.sent] == [
        ("buddy", "hi alice"),
        ("group", "hi group"),
        ("discu", "hi all"),
    ]
    assert emu.sent[0]["to"] == 10002


async def test_send_to_an_unknown_name_fails_clearly(
    emu: Emulator, session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await login(emu, session) == 0
    capsys.readouterr()
    assert await amain(["send", "buddy", "Nobody", "hi", *common(emu, session)]) == 1
    assert "no friend called or numbered 'Nobody'" in capsys.readouterr().err
    assert emu.sent == []


async def test_send_uncertain_exits_3(
    emu: Emulator, session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await login(emu, session) == 0
    capsys.readouterr()
    emu.config.send_rate = 1  # a second send within a second answers 1202
    assert await amain(["send", "buddy", "Bob", "one", *common(emu, session)]) == 0
    assert await amain(["send", "buddy", "Bob", "two", *common(emu, session)]) == 3
    assert "delivery uncertain" in capsys.readouterr().err


async def test_listen_json_prints_one_object_per_line(
    emu: Emulator, session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await login(emu, session) == 0
    capsys.readouterr()
    task = asyncio.create_task(
        amain(["listen", "--json", "--count", "2", "--timeout", "10", *common(emu, session)])
    )
    await until(lambda: emu.service.live(10001) is not None and emu.stats()["waiters"] > 0)
    emu.user(10002).send_buddy(10001, "first")
    emu.user(10003).send_group("Python Fans", ["second ", ["face", 14]])
    assert await asyncio.wait_for(task, 10) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    messages = [obj for obj in lines if obj["event"] in ("BuddyMessage", "GroupMessage")]
    assert [m["text"] for m in messages] == ["first", "second "]
    assert ["face", 14] in messages[1]["content"]


async def test_listen_plain_text_with_timeout(
    emu: Emulator, session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await login(emu, session) == 0
    capsys.readouterr()
    task = asyncio.create_task(amain(["listen", "--timeout", "3", *common(emu, session)]))
    await until(lambda: emu.stats()["waiters"] > 0)
    emu.user(10002).send_buddy(10001, "hello there")
    assert await asyncio.wait_for(task, 10) == 0
    out = capsys.readouterr().out
    assert "listening as SmartBot" in out
    assert "[buddy] Ally: hello there" in out


async def test_commands_without_a_session_or_with_a_stale_one(
    emu: Emulator, session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await amain(["contacts", *common(emu, session)]) == 1
    assert "run `smartqq login` first" in capsys.readouterr().err
    assert await login(emu, session) == 0
    # The server forgets everything: the session and the login cookies behind a relink.
    emu.service.sessions.clear()
    emu.service.by_qq.clear()
    emu.service.skeys.clear()
    capsys.readouterr()
    assert await amain(["contacts", *common(emu, session)]) == 1
    assert "run `smartqq login` again" in capsys.readouterr().err


async def test_corrupt_session_file_is_a_typed_error(
    emu: Emulator, session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session.parent.mkdir(parents=True)
    session.write_text("{not json")
    os.chmod(session, 0o600)
    assert await amain(["listen", "--timeout", "1", *common(emu, session)]) == 1
    assert "SessionFileError: session file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["send", "email", "x", "y"],
        ["login", "--qq", "abc"],
        ["emulator", "--hold", "0"],
        ["emulator", "--idle", "42"],
        ["emulator", "--hold", "soon"],
        ["emulator", "--max-batch", "x"],
        ["emulator", "--max-batch", "0"],
        ["listen", "--count", "0"],
        [],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    assert "usage: smartqq" in capsys.readouterr().err


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("demo", "emulator", "login", "listen", "send", "contacts", "selfcheck"):
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args([command, "--help"])
        assert exc.value.code == 0
        assert f"usage: smartqq {command}" in capsys.readouterr().out


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    async def interrupted(argv: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("smartqq.cli.amain", interrupted)
    assert main(["selfcheck"]) == 130


def test_selfcheck_through_main(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selfcheck"]) == 0
    assert "7 passed, 0 failed" in capsys.readouterr().out


def test_table_pads_columns_and_escapes_html() -> None:
    t = Table.of(("a", "bb"), [(1, "x"), ("<b>", 2)], title="T")
    assert str(t).splitlines() == ["T", "a    bb", "---  --", "1    x", "<b>  2"]
    assert "<td>&lt;b&gt;</td>" in t._repr_html_()
    assert "<caption>T</caption>" in t._repr_html_()


async def test_emulator_command_serves_until_cancelled(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    world = tmp_path / "world.json"
    from smartqq.emulator import demo_world

    demo_world().save(world)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    task = asyncio.create_task(
        amain(["emulator", "--port", str(port), "--world", str(world), "--hold", "1"])
    )
    await until(lambda: "listening on" in capsys.readouterr().out or task.done(), timeout=10)
    assert not task.done()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /_emu/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    body = await reader.read()
    writer.close()
    assert b'"polls"' in body
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_emulator_command_reports_a_bad_world_and_a_busy_port(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "world.json"
    bad.write_text('{"accounts": "nope"}')
    assert await amain(["emulator", "--port", "0", "--world", str(bad)]) == 2
    assert "smartqq emulator:" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert await amain(["emulator", "--port", str(port)]) == 1
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


async def test_emulator_command_also_serves_tqq(capsys: pytest.CaptureFixture[str]) -> None:
    from smartqq.legacy.tqq import TQQClient

    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    task = asyncio.create_task(
        amain(["emulator", "--port", str(ports[0]), "--tqq-port", str(ports[1])])
    )
    out = ""

    def started() -> bool:
        nonlocal out
        out += capsys.readouterr().out
        return "smartqq emulator listening on" in out or task.done()

    await until(started, timeout=10)
    assert f"tqq (VER=1.1 HTTP) emulator listening on http://127.0.0.1:{ports[1]}" in out
    async with TQQClient(10002, "alice-pw", base_url=f"http://127.0.0.1:{ports[1]}") as alice:
        assert (await alice.list_friends()).uins == [10001, 10003]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
