"""The lifecycle as a user's script sees it: exit status, stderr, signals."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parent / "scripts"


def test_quit_from_a_handler_exits_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", str(SCRIPTS / "quit_bot.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "shutdown hook ran",
        "sent: ['bye', 'slow done']",
        "tasks left: []",
    ]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_stops_on_a_signal_with_exit_status_0(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-W", "error", str(SCRIPTS / "signal_bot.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert err == ""
    assert out.splitlines() == ["shutdown hook ran", "run() returned"]
