"""``python -m smartqq onebot``: resumes the saved session, serves, stops on SIGTERM/SIGINT with 0."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from smartqq.cli import amain
from smartqq.emulator import BOT_QQ, Emulator


async def start(emulator: Emulator, session: Path, *extra: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smartqq",
        "onebot",
        "--base-url",
        emulator.url,
        "--session",
        str(session),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_serves_the_saved_session_and_stops_with_0(
    emulator: Emulator, tmp_path: Path, sig: signal.Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = tmp_path / "session.json"
    assert await amain(["login", "--base-url", emulator.url, "--session", str(session)]) == 0
    monkeypatch.setenv("SMARTQQ_ONEBOT_TOKEN", "t")  # the token from the environment
    proc = await start(emulator, session, "--ws", "127.0.0.1:0", "--heartbeat", "0")
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert f"QQ {BOT_QQ}" in line
        found = re.search(r"ws 127\.0\.0\.1:(\d+)", line)
        assert found, line
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(
                f"ws://127.0.0.1:{found.group(1)}/", headers={"Authorization": "Bearer t"}
            ) as ws,
        ):
            first = json.loads((await ws.receive(timeout=5)).data)
            assert (first["sub_type"], first["self_id"]) == ("connect", BOT_QQ)
            await ws.send_json(
                {
                    "action": "send_private_msg",
                    "params": {"user_id": 10002, "message": "cli"},
                    "echo": 1,
                }
            )
            answer = json.loads((await ws.receive(timeout=5)).data)
            assert answer["status"] == "ok"
        assert [s["text"] for s in emulator.sent] == ["cli"]
        proc.send_signal(sig)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.stderr is not None
    assert b"Traceback" not in await proc.stderr.read()


async def test_bad_arguments_and_no_session(emulator: Emulator, tmp_path: Path) -> None:
    session = tmp_path / "none.json"
    for extra, code, text in (
        ((), 2, "at least one endpoint"),
        (("--ws-reverse", "http://x/"), 2, "ws or wss"),
        (("--ws", "127.0.0.1:notaport"), 2, "HOST:PORT"),
        (("--ws", "127.0.0.1:0"), 1, "run `smartqq login`"),
    ):
        proc = await start(emulator, session, *extra)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == code, (extra, err)
        assert text in err.decode(), err
        assert b"Traceback" not in err


async def test_in_process_run_stops_on_sigterm(
    emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = tmp_path / "session.json"
    assert await amain(["login", "--base-url", emulator.url, "--session", str(session)]) == 0
    args = ["onebot", "--base-url", emulator.url, "--session", str(session)]
    args += ["--http", "127.0.0.1:0", "--post-url", "http://127.0.0.1:9/", "--heartbeat", "0"]
    task = asyncio.create_task(amain(args))
    loop = asyncio.get_running_loop()
    end = loop.time() + 20
    out = ""
    while "Ctrl-C stops" not in out:  # the signal handlers are installed before this line
        assert not task.done(), capsys.readouterr()
        assert loop.time() < end
        await asyncio.sleep(0.02)
        out += capsys.readouterr().out
    assert "post http://127.0.0.1:9/" in out
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 10) == 0


async def test_in_process_session_lost_exits_4(
    emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = tmp_path / "session.json"
    assert await amain(["login", "--base-url", emulator.url, "--session", str(session)]) == 0
    args = ["onebot", "--base-url", emulator.url, "--session", str(session), "--ws", ":0"]
    task = asyncio.create_task(amain(args))
    loop = asyncio.get_running_loop()
    end = loop.time() + 20
    out = ""
    while "Ctrl-C stops" not in out:
        assert not task.done(), capsys.readouterr()
        assert loop.time() < end
        await asyncio.sleep(0.02)
        out += capsys.readouterr().out
    emulator.kick(BOT_QQ)
    assert await asyncio.wait_for(task, 20) == 4  # as `listen`: a supervisor restarts it
    assert "session ended" in capsys.readouterr().err


async def test_a_taken_port_is_a_clear_error(
    emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = tmp_path / "session.json"
    assert await amain(["login", "--base-url", emulator.url, "--session", str(session)]) == 0
    capsys.readouterr()
    taken = emulator.url.rsplit(":", 1)[1]
    args = ["onebot", "--base-url", emulator.url, "--session", str(session)]
    assert await amain([*args, "--http", f"127.0.0.1:{taken}"]) == 1
    err = capsys.readouterr().err
    assert "cannot listen" in err
    assert "Traceback" not in err
