"""Hostile session files (issue 13 item 12): planted symlinks, FIFOs, directories,
sockets, corrupt, deep, huge and non-finite contents. Every case is a typed
SessionFileError that says why, at once; nothing we write follows a symlink."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from pathlib import Path

import pytest

from smartqq.cli import amain
from smartqq.client import session_store
from smartqq.client.session_store import MAX_SESSION_BYTES, load_session, save_session
from smartqq.emulator import Emulator
from smartqq.errors import SessionFileError
from smartqq.protocol.profiles import profile_by_name
from smartqq.protocol.session import SessionState
from smartqq.testing import make_client

from .hostile import fifo_writer_rescue

SECRET = "ptwebqq-secret-5f3a9c"


def a_state() -> SessionState:
    state = SessionState(profile_by_name("smartqq"), qq=10001, uin=20001, ptwebqq=SECRET)
    state.cookies.set("skey", "@skeyvalue", "qq.com")
    return state


def write(path: Path, data: bytes | str, mode: int = 0o600) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.chmod(path, mode)
    return path


def good_doc() -> dict[str, object]:
    return {"version": 1, "session": a_state().to_dict()}


def test_round_trip_is_private_and_leaves_no_temp_files(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        save_session(tmp_path / "s.json", a_state())
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "s.json").stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["s.json"]
    loaded = load_session(tmp_path / "s.json")
    assert (loaded.qq, loaded.ptwebqq, loaded.cookies.get("skey")) == (10001, SECRET, "@skeyvalue")


def test_a_symlink_at_the_session_path_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "s.json"
    link.symlink_to(victim)
    dangling = tmp_path / "d.json"
    dangling.symlink_to(tmp_path / "would-be-created")
    save_session(link, a_state())
    save_session(dangling, a_state())
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "would-be-created").exists()
    assert not link.is_symlink()
    assert stat.S_ISREG(link.lstat().st_mode)
    assert not dangling.is_symlink()
    assert load_session(link).qq == 10001


def test_a_symlink_planted_at_the_temp_name_is_never_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    names = iter(["planted", "planted", "fresh0001"])
    monkeypatch.setattr(session_store.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".s.json.planted.tmp").symlink_to(victim)
    save_session(tmp_path / "s.json", a_state())
    assert victim.read_text() == "keep me"
    assert (tmp_path / ".s.json.planted.tmp").is_symlink()  # left alone, not written through
    assert load_session(tmp_path / "s.json").qq == 10001


def test_temp_names_are_unpredictable_and_everything_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []
    synced: list[int] = []
    real_open, real_fsync = os.open, os.fsync

    def spy_open(path: str, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_CREAT:
            created.append(str(path))
            assert flags & os.O_EXCL
            assert flags & os.O_NOFOLLOW
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    def spy_fsync(fd: int) -> None:
        synced.append(stat.S_IFMT(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(session_store.os, "open", spy_open)
    monkeypatch.setattr(session_store.os, "fsync", spy_fsync)
    save_session(tmp_path / "s.json", a_state())
    save_session(tmp_path / "s.json", a_state())
    assert len(created) == 2
    assert created[0] != created[1]
    for name in created:
        assert name.startswith(".s.json.")
        assert len(name) >= len(".s.json..tmp") + 16
    # Each save fsyncs the temp file and then the directory.
    assert synced == [stat.S_IFREG, stat.S_IFDIR] * 2


def test_a_failed_save_keeps_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    target.mkdir()
    (target / "inside").write_text("x")
    with pytest.raises(SessionFileError, match="cannot write session file"):
        save_session(target, a_state())
    assert sorted(os.listdir(tmp_path)) == ["s.json"]
    with pytest.raises(SessionFileError, match="cannot write session file"):
        save_session(tmp_path / "missing-dir" / "s.json", a_state())


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "s.json"
    os.mkfifo(fifo, 0o600)
    with (
        fifo_writer_rescue(fifo) as rescued,
        pytest.raises(SessionFileError, match="is a FIFO") as info,
    ):
        load_session(fifo)
    assert not rescued.is_set(), "load_session blocked on the FIFO"
    assert "smartqq login --force" in str(info.value)


async def test_a_fifo_does_not_hang_login(emu: Emulator, tmp_path: Path) -> None:
    fifo = tmp_path / "s.json"
    os.mkfifo(fifo, 0o600)
    client = make_client(emu, session_file=fifo)
    try:
        with fifo_writer_rescue(fifo) as rescued, pytest.raises(SessionFileError, match="FIFO"):
            await asyncio.wait_for(client.login(), timeout=30)
        assert not rescued.is_set(), "login() blocked on the FIFO"
    finally:
        await client.close()


def test_other_non_regular_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.json").mkdir(mode=0o700)
    with pytest.raises(SessionFileError, match="is a directory"):
        load_session(tmp_path / "dir.json")
    sock_path = tmp_path / "sock.json"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(SessionFileError, match=r"(socket|cannot read)"):
            load_session(sock_path)
    with pytest.raises(SessionFileError, match="cannot read session file"):
        load_session(tmp_path / "absent.json")


def test_a_symlink_to_a_good_session_is_not_read(tmp_path: Path) -> None:
    save_session(tmp_path / "real.json", a_state())
    (tmp_path / "s.json").symlink_to(tmp_path / "real.json")
    with pytest.raises(SessionFileError, match="symlink"):
        load_session(tmp_path / "s.json")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[]", "not a JSON object"),
        (_nested(100_000), "nested deeper"),
        ('{"version": 1, "session": {"a": ' + _nested(50) + "}}", "nested deeper"),
        ('{"version": 1, "session": {"qq": Infinity}}', "contains Infinity"),
        ('{"version": 1, "session": {"qq": -Infinity}}', "contains -Infinity"),
        ('{"version": 1, "session": {"qq": NaN}}', "contains NaN"),
        ('{"version": 1, "session": {"qq": 1e999}}', "too large for a float"),
        ('{"version": 1, "session": {"qq": ' + "9" * 5000 + "}}", "number is too long"),
        ('{"version": 1, "session": []}', "no session object"),
        ('{"version": 1, "session": {"qq": "10001"}}', "'qq' is not a whole number"),
        ('{"version": 1, "session": {"qq": true}}', "'qq' is not a whole number"),
        ('{"version": 1, "session": {"qq": 1e20}}', "'qq' is not a whole number"),
        ('{"version": 1, "session": {"qq": 99999999999999999999999}}', "'qq' is out of range"),
        ('{"version": "1", "session": {}}', "unsupported version str"),
        ('{"version": 2, "session": {}}', "unsupported version 2"),
    ],
)
def test_corrupt_contents_say_why(tmp_path: Path, content: str | bytes, reason: str) -> None:
    path = write(tmp_path / "s.json", content)
    with pytest.raises(SessionFileError) as info:
        load_session(path)
    message = str(info.value)
    assert reason in message
    assert "smartqq login --force" in message
    # No chained parser exception (it could quote the contents).
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_wrong_field_types_name_the_field_not_the_value(tmp_path: Path) -> None:
    doc = good_doc()
    session = doc["session"]
    assert isinstance(session, dict)
    session["vfwebqq"] = {"nested": SECRET}
    path = write(tmp_path / "s.json", json.dumps(doc))
    with pytest.raises(SessionFileError, match="'vfwebqq' is not a string") as info:
        load_session(path)
    assert SECRET not in str(info.value)
    session["vfwebqq"] = ""
    session["cookies"] = [{"name": "skey", "value": 5, "domain": "qq.com"}]
    write(path, json.dumps(doc))
    with pytest.raises(SessionFileError, match="cookie's 'value' is not a string"):
        load_session(path)
    session["profile"] = "nope"
    session["cookies"] = []
    write(path, json.dumps(doc))
    with pytest.raises(SessionFileError, match=r"corrupt \(ValueError\)"):
        load_session(path)


def test_huge_files_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with open(path, "wb") as fh:
        fh.truncate(MAX_SESSION_BYTES + 1)  # sparse: costs no disk
    os.chmod(path, 0o600)
    with pytest.raises(SessionFileError, match="over the 1048576 byte limit"):
        load_session(path)


def test_unsafe_cookies_in_a_file_are_dropped(tmp_path: Path) -> None:
    doc = good_doc()
    session = doc["session"]
    assert isinstance(session, dict)
    session["cookies"] = [
        {"name": "skey", "value": "ok", "domain": "qq.com", "path": "/"},
        {"name": "p_skey", "value": "a\r\nX-Injected: 1", "domain": "web2.qq.com"},
        {"name": "uin", "value": "o1", "domain": "com"},
        {"name": "tracking", "value": "t", "domain": "qq.com"},
    ]
    path = write(tmp_path / "s.json", json.dumps(doc))
    jar = load_session(path).cookies
    assert [(c.name, c.value) for c in jar.cookies()] == [("skey", "ok")]


def test_world_readable_files_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", json.dumps(good_doc()), mode=0o644)
    with pytest.raises(SessionFileError, match="readable by others"):
        load_session(path)


async def test_cli_login_force_replaces_a_corrupt_file(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "s.json", "[" * 10_000)
    common = ["--base-url", emu.url, "--session", str(path)]
    assert await amain(["login", *common]) == 1
    err = capsys.readouterr().err
    assert "SessionFileError" in err
    assert "smartqq login --force" in err
    assert await amain(["login", "--force", *common]) == 0
    assert "session saved to" in capsys.readouterr().out
    assert load_session(path).qq == 10001
    assert os.listdir(tmp_path) == ["s.json"]
    # And a FIFO planted at the path: refused by `listen`, replaced by `login --force`.
    path.unlink()
    os.mkfifo(path, 0o600)
    with fifo_writer_rescue(path) as rescued:
        assert await amain(["listen", "--timeout", "1", *common]) == 1
    assert not rescued.is_set()
    assert "is a FIFO" in capsys.readouterr().err
    assert await amain(["login", "--force", *common]) == 0
    assert stat.S_ISREG(path.lstat().st_mode)
