"""``python -m smartqq legacy-demo``: the scripted tqq and OICQ sessions, in a subprocess
and in-process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from smartqq.cli import amain

ROOT = Path(__file__).resolve().parents[2]


def check(out: str) -> None:
    assert "Embedded tqq emulator on http://127.0.0.1:" in out
    assert "List: 2 friends [10001, 10003]" in out
    assert "Query_Stat: SmartBot (上线), Bob (上线)" in out
    assert "GetInfo LV=3 on 10003: Bob, 男" in out
    assert re.search(r"Bob\s+got 27 bytes from 10002: hello Bob, it is 2005 again", out)
    assert re.search(r"Alice\s+got from 10003: echo \(27 chars\)", out)
    assert "sent 720 bytes as 2 CLTMSGs (< 400 bytes each)" in out
    assert re.search(r"Bob\s+got 399 bytes from 10002", out)
    assert "status of 10003: 忙碌" in out
    assert "AddToList 10004: 需要身份验证" in out
    assert "friend request from 10002: Alice here, from the Python group" in out
    assert "10004 approved: friends now [10001, 10003, 10004]" in out
    assert "everyone logged out; 6 messages were sent" in out
    assert "0x02 login: groups ['我的好友'], friends ['SmartBot', 'Bob', 'Carol & Co']" in out
    assert "0x03 message from 10002: 你好 over OICQ" in out
    assert "FriendStatus(friend=10003, status=3)" in out
    assert out.rstrip().endswith("legacy demo finished OK")


def test_legacy_demo_as_a_subprocess() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "smartqq", "legacy-demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    check(proc.stdout)
    assert proc.stderr == ""


async def test_legacy_demo_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert await amain(["legacy-demo"]) == 0
    check(capsys.readouterr().out)


def test_legacy_demo_needs_no_test_dependencies() -> None:
    # An installed smartqq has no pytest: block it and run the demo anyway.
    code = (
        "import sys; sys.modules['pytest'] = None; sys.modules['pytest_asyncio'] = None\n"
        "from smartqq.cli import main; sys.exit(main(['legacy-demo']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
        timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("legacy demo finished OK")
