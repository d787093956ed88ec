"""The command line as a user (or a supervisor) meets it (issue 13 items 15, 16): no
traceback for bad ports, EOF at a prompt, a closed pipe or a busy port; ``--version``;
``listen`` exits 4 when the session is lost or kicked; QR progress in the terminal."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import smartqq
from smartqq.cli import amain, main
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.testing import until

PYTHON = [sys.executable, "-m", "smartqq"]


def run_cli(*args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTQQ_")}
    return subprocess.run(
        [*PYTHON, *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        start_new_session=True,  # no controlling terminal: getpass reads stdin
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["emulator", "--port", "99999"],
        ["emulator", "--port", "-1"],
        ["emulator", "--port", "http"],
        ["emulator", "--port", "1e999"],
        ["emulator", "--tqq-port", "70000"],
    ],
)
def test_bad_ports_are_argparse_errors(argv: list[str]) -> None:
    result = run_cli(*argv)
    assert result.returncode == 2
    assert "usage: smartqq emulator" in result.stderr
    assert "is not a port" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["listen", "--timeout", "nan"], "is not a finite number"),
        (["listen", "--timeout", "inf"], "is not a finite number"),
        (["listen", "--timeout", "-1"], "must be > 0"),
        (["login", "--base-url", "http://[::1"], "is not a URL"),
        (["login", "--base-url", "http://h:99999"], "is not a URL"),
        (["login", "--base-url", "ftp://h"], "is not an http:// or https:// URL"),
        (["send", "buddy", "x", "y", "--base-url", "127.0.0.1:8188"], "is not an http://"),
    ],
)
def test_bad_values_are_argparse_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


async def test_an_unwritable_session_directory_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["login", "--base-url", "http://127.0.0.1:9", "--session", "/dev/null/s.json"]
    assert await amain(args) == 1
    assert "smartqq login: cannot create the directory for /dev/null/s.json" in (
        capsys.readouterr().err
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"smartqq {smartqq.__version__}"


def test_eof_at_the_password_prompt(tmp_path: Path) -> None:
    result = run_cli(
        "login",
        "--qq",
        "10002",
        "--base-url",
        "http://127.0.0.1:9",
        "--session",
        str(tmp_path / "s"),
    )
    assert result.returncode == 1
    assert "no password given (end of input)" in result.stderr
    assert "Traceback" not in result.stderr
    assert "GetPassWarning" not in result.stderr


async def test_eof_at_the_captcha_prompt(emu: Emulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTQQ_")}
    env["SMARTQQ_PASSWORD"] = "carol-pw"  # Carol (10004) always needs a captcha
    args = ["login", "--qq", "10004", "--base-url", emu.url, "--session", str(tmp_path / "s")]
    proc = await asyncio.create_subprocess_exec(
        *PYTHON,
        *args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 1
    assert b"A captcha is required" in out
    assert b"no captcha code given (end of input)" in err
    assert b"Traceback" not in err
    assert b"carol-pw" not in out + err


def _closed_pipe(*args: str, lines: int) -> tuple[int, str]:
    """Run the CLI, read ``lines`` lines of its output, close the pipe; (exit code, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTQQ_")}
    proc = subprocess.Popen(
        [*PYTHON, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        for _ in range(lines):
            proc.stdout.readline()
        proc.stdout.close()  # like `| head`: the reader goes away
        err = proc.stderr.read().decode("utf-8", "replace")
        return proc.wait(timeout=60), err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_a_closed_pipe_ends_quietly() -> None:
    code, err = _closed_pipe("selfcheck", lines=0)
    assert code == 141
    assert "Traceback" not in err
    assert "Exception ignored" not in err


def test_demo_into_a_closed_pipe_ends_quietly() -> None:
    code, err = _closed_pipe("demo", "--color", "never", lines=3)
    assert code == 141
    assert "Traceback" not in err
    assert "Exception ignored" not in err


async def test_a_busy_tqq_port_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert await amain(["emulator", "--port", "0", "--tqq-port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port} for the tqq emulator (--tqq-port)" in err


def test_an_unexpected_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(argv: object) -> int:
        raise RuntimeError("boom with ptwebqq=0123456789abcdef in it")

    monkeypatch.setattr("smartqq.cli.amain", broken)
    monkeypatch.delenv("SMARTQQ_DEBUG", raising=False)
    assert main(["selfcheck"]) == 1
    err = capsys.readouterr().err
    assert "smartqq: unexpected error: RuntimeError: boom" in err
    assert "0123456789abcdef" not in err
    assert "Traceback" not in err
    monkeypatch.setenv("SMARTQQ_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["selfcheck"])


async def _listen_until(
    emu: Emulator, session: Path, capsys: pytest.CaptureFixture[str], act: str
) -> tuple[int, str]:
    common = ["--base-url", emu.url, "--session", str(session)]
    assert await amain(["login", *common]) == 0
    capsys.readouterr()
    task = asyncio.create_task(amain(["listen", "--timeout", "30", *common]))
    out = ""

    def listening() -> bool:
        nonlocal out
        out += capsys.readouterr().out
        return "listening as" in out or task.done()

    await until(listening, timeout=10)
    assert not task.done()
    if act == "kick":
        assert emu.kick(BOT_QQ)
    else:
        # The server forgets the session and the login behind any relink.
        emu.service.sessions.clear()
        emu.service.by_qq.clear()
        emu.service.skeys.clear()
        emu.expire_sessions()
    code = await asyncio.wait_for(task, timeout=30)
    return code, capsys.readouterr().err


async def test_listen_exits_4_when_kicked(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = await _listen_until(emu, tmp_path / "s.json", capsys, "kick")
    assert code == 4
    assert "smartqq listen: the account was kicked" in err


async def test_listen_exits_4_when_the_session_is_lost(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = await _listen_until(emu, tmp_path / "s.json", capsys, "forget")
    assert code == 4
    assert "smartqq listen: the session was lost" in err


async def test_qr_progress_scanned_confirmed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Emulator(qr_confirm_after=6, qr_account=BOT_QQ) as emu:
        args = ["login", "--base-url", emu.url, "--session", str(tmp_path / "s.json")]
        assert await amain(args) == 0
    out = capsys.readouterr().out
    waiting = out.index("QR code 1: waiting for a scan")
    scanned = out.index("QR code 1: scanned; confirm the login on the phone")
    done = out.index("logged in as")
    assert waiting < scanned < done
    assert out.count("waiting for a scan") == 1  # changes only, not every poll


async def test_qr_progress_expired_and_refreshed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Emulator(qr_confirm_after=None, qr_account=BOT_QQ) as emu:
        args = ["login", "--base-url", emu.url, "--session", str(tmp_path / "s.json")]
        task = asyncio.create_task(amain(args))
        await until(lambda: len(emu.service.qr) == 1, timeout=10)
        first = next(iter(emu.service.qr.values()))
        await until(lambda: first.checks > 0, timeout=10)
        first.created -= 10_000  # the first code expires
        await until(lambda: len(emu.service.qr) == 2, timeout=10)
        second = list(emu.service.qr.values())[1]
        await until(lambda: second.checks > 0, timeout=10)
        emu.confirm_qr(BOT_QQ)
        assert await asyncio.wait_for(task, timeout=30) == 0
    out = capsys.readouterr().out
    assert out.index("QR code 1: waiting for a scan") < out.index("QR code 1 expired")
    assert out.index("QR code 1 expired") < out.index("(code 2; the previous one expired)")
    assert "QR code 2: waiting for a scan" in out
    assert "attempt 0" not in out


async def test_invert_draws_the_dark_modules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    firsts = []
    for extra in ([], ["--invert"]):
        async with Emulator(qr_confirm_after=1, qr_account=BOT_QQ) as emu:
            args = [
                "login",
                "--base-url",
                emu.url,
                "--session",
                str(tmp_path / "s.json"),
                "--force",
            ]
            assert await amain([*args, *extra]) == 0
        lines = capsys.readouterr().out.splitlines()
        qr_first = lines[lines.index(next(x for x in lines if x.startswith("Scan this QR"))) + 1]
        firsts.append(qr_first)
    plain, inverted = firsts
    # The quiet zone is light: drawn as blocks normally, as blanks when inverted.
    assert set(plain) == {"█"}
    assert set(inverted) == {" "}
    assert len(plain) == len(inverted)
