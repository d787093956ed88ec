"""The main job: ``python -m smartqq demo``, as a subprocess and in-process."""

from __future__ import annotations

import io
import re
import sys

import pytest

from smartqq.cli import amain

from .demo_runs import demo_in_process_with_colour, demo_subprocess


def check_transcript(out: str) -> None:
    assert "Embedded SmartQQ emulator on http://127.0.0.1:" in out
    assert "logged in as SmartBot" in out
    assert "Friends: Ally [Friends], Bob [Work], Carol & Co [我的好友]" in out
    assert "Groups: Python Fans" in out
    assert "Discussions: Weekend plans" in out
    # Who said what, where; and the bot's replies.
    assert re.search(r"Ally @ buddy chat\s+hi bot! how are you\?", out)
    assert re.search(r"Bobby @ group Python Fans\s+asyncio is great \[face:14\]", out)
    assert re.search(r"SmartBot @ reply to Alice\s+echo: hi bot! how are you\?", out)
    assert re.search(r"SmartBot @ group Python Fans\s+echo: asyncio is great \[face:14\]", out)
    # Each message is printed before its reply (a live transcript, not a summary).
    assert out.index("asyncio is great [face:14]") < out.index("echo: asyncio is great")
    assert "messages received by the bot: 5" in out
    assert "messages sent by the bot:     7 (the long one in 3 parts)" in out
    assert re.search(r"reply latency: median \d+\.\d ms, worst \d+\.\d ms", out)
    assert out.rstrip().endswith("demo finished OK")


def test_demo_as_a_subprocess() -> None:
    check_transcript(demo_subprocess())


async def test_demo_in_process_with_colour(capsys: pytest.CaptureFixture[str]) -> None:
    check_transcript(await demo_in_process_with_colour(capsys))


async def test_demo_interactive_reads_lines_as_alice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("are you there?\n\n"))
    assert await amain(["demo", "--interactive", "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "Interactive: type a message as Alice" in out
    assert re.search(r"Ally @ buddy chat\s+are you there\?", out)
    assert re.search(r"SmartBot @ reply to Alice\s+echo: are you there\?", out)
