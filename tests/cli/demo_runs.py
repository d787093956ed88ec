"""Running ``python -m smartqq demo [...]`` the two ways the demo tests do, with the checks
every demo must pass (exit 0, plain text when not a terminal, nothing on stderr)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartqq.cli import amain

ROOT = Path(__file__).resolve().parents[2]


def demo_subprocess(*args: str) -> str:
    """The demo as a user starts it, output to a pipe; its transcript."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "smartqq", "demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert "\033[" not in proc.stdout  # not a terminal: plain text
    assert proc.stderr == ""
    assert elapsed < 30  # a few seconds normally; these machines are shared
    return proc.stdout


async def demo_in_process_with_colour(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The demo through ``amain`` with ``--color always``; its transcript, colours removed."""
    assert await amain(["demo", *args, "--color", "always"]) == 0
    out = capsys.readouterr().out
    assert "\033[1mSummary:\033[0m" in out
    return re.sub(r"\033\[\d+m", "", out)
