"""``python -m smartqq demo --onebot``: a OneBot v11 bot answering through the real server."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from smartqq.cli import amain, build_parser, onebot_demo
from smartqq.onebot import DISCUSS_ID_BASE, DISCUSS_ID_END

from .demo_runs import demo_in_process_with_colour, demo_subprocess

# "  0.45s        Bob @ group Python Fans      text": fixed-width name and chat columns.
LINE = re.compile(r"^\s*\d+\.\d\ds (?P<who>.{10}) @ (?P<where>.{22}) (?P<text>.*)$")


def transcript_lines(out: str) -> list[tuple[str, str, str]]:
    """``(who, where, text)`` of every timestamped transcript line, in order."""
    found = (LINE.match(line) for line in out.splitlines())
    return [(m["who"].strip(), m["where"].strip(), m["text"]) for m in found if m]


def bot_payloads(lines: list[tuple[str, str, str]], where: str) -> list[dict[str, Any]]:
    return [json.loads(text) for who, at, text in lines if who == "OneBot bot" and at == where]


PEOPLE = ("Alice", "Bob", "Carol & Co")


def _step(who: str, where: str) -> str:
    if who in PEOPLE:
        return "wrote"
    return "reply" if who == "SmartBot" else where


def check_transcript(out: str) -> None:
    assert "Embedded SmartQQ emulator on http://127.0.0.1:" in out
    assert re.search(r"OneBot v11 forward WebSocket on ws://127\.0\.0\.1:\d+/ \(loopback", out)
    lines = transcript_lines(out)
    assert ("system", "login", "logged in as SmartBot (uin 10001)") in lines
    assert ("OneBot bot", "connected", "lifecycle event received; listening") in lines

    # What each person wrote, and the event the bot got for it (real QQ and group numbers).
    people = [line for line in lines if line[0] in PEOPLE]
    assert people == [
        ("Alice", "buddy chat", "hi bot! can you hear me over OneBot?"),
        ("Bob", "group Python Fans", "OneBot v11 on SmartQQ [face:14]"),
        ("Alice", "discuss Weekend plans", "a discussion, seen as a group"),
        ("Carol & Co", "buddy chat", "thanks [face:63]"),
    ]
    events = bot_payloads(lines, "event received")
    assert [e["post_type"] for e in events] == ["message"] * 4
    assert [(e["message_type"], e["user_id"], e.get("group_id")) for e in events[:2]] == [
        ("private", 10002, None),
        ("group", 10003, 200001),
    ]
    assert (events[2]["message_type"], events[2]["user_id"]) == ("group", 10002)
    assert DISCUSS_ID_BASE <= events[2]["group_id"] < DISCUSS_ID_END
    assert (events[3]["message_type"], events[3]["user_id"]) == ("private", 10004)
    assert [e["raw_message"] for e in events] == [
        "hi bot! can you hear me over OneBot?",
        "OneBot v11 on SmartQQ [CQ:face,id=14]",
        "a discussion, seen as a group",
        "thanks [CQ:face,id=63]",
    ]

    # Each call answers its event in the same chat; each answer matches its call's echo.
    actions = bot_payloads(lines, "action sent")
    answers = bot_payloads(lines, "answer received")
    assert len(actions) == len(answers) == 4
    for event, action in zip(events, actions, strict=True):
        if event["message_type"] == "group":
            assert action["action"] == "send_group_msg"
            assert action["params"]["group_id"] == event["group_id"]
        else:
            assert action["action"] == "send_private_msg"
            assert action["params"]["user_id"] == event["user_id"]
        assert action["params"]["message"] == "echo: " + event["raw_message"]
    assert len({a["echo"] for a in actions}) == 4
    assert [a["echo"] for a in answers] == [a["echo"] for a in actions]
    assert all(a["status"] == "ok" and a["retcode"] == 0 for a in answers)

    # The replies as the emulator received them, each in the chat its message came from.
    replies = [(where, text) for who, where, text in lines if who == "SmartBot"]
    assert replies == [
        ("reply to Alice", "echo: hi bot! can you hear me over OneBot?"),
        ("group Python Fans", "echo: OneBot v11 on SmartQQ [face:14]"),
        ("discuss Weekend plans", "echo: a discussion, seen as a group"),
        ("reply to Carol & Co", "echo: thanks [face:63]"),
    ]
    # A live transcript: each exchange whole and in order, before the next message is written.
    steps = [_step(who, where) for who, where, _ in lines if where not in ("login", "connected")]
    assert steps == ["wrote", "event received", "action sent", "reply", "answer received"] * 4

    assert re.search(r"messages written to the bot:\s+4 of 4\n", out)
    assert re.search(r"message events the bot received:\s+4\n", out)
    assert re.search(r"OneBot calls answered ok:\s+4 of 4\n", out)
    assert re.search(r"messages answered once, in their chat:\s+4 of 4\n", out)
    assert re.search(r"replies the emulator received:\s+4\n", out)
    assert out.rstrip().endswith("demo finished OK")


def test_onebot_demo_as_a_subprocess() -> None:
    check_transcript(demo_subprocess("--onebot"))


async def test_onebot_demo_in_process_with_colour(capsys: pytest.CaptureFixture[str]) -> None:
    check_transcript(await demo_in_process_with_colour(capsys, "--onebot"))


async def test_a_bot_answering_in_the_wrong_chat_fails_the_demo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A real misbehaving bot: it answers group messages privately, to the sender.
    def private_only(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "send_private_msg", {
            "user_id": event["user_id"],
            "message": "echo: " + event["raw_message"],
        }

    monkeypatch.setattr(onebot_demo, "echo_reply", private_only)
    assert await amain(["demo", "--onebot", "--color", "never"]) == 1
    out = capsys.readouterr().out
    # The group and the discussion message were answered, but not where they were written.
    assert re.search(r"OneBot calls answered ok:\s+4 of 4\n", out)
    assert re.search(r"messages answered once, in their chat:\s+2 of 4\n", out)
    assert re.search(r"SmartBot @ reply to Bob\s+echo: OneBot v11 on SmartQQ \[face:14\]", out)
    assert out.rstrip().endswith("demo finished with missing replies")


@pytest.mark.parametrize("other", ["--interactive", "--web"])
async def test_onebot_is_rejected_with_interactive_or_web(
    other: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        await amain(["demo", "--onebot", other])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --onebot: not allowed with argument {other}" in err
    assert "usage: smartqq demo" in err  # the demo command's own usage line


def test_the_help_says_onebot_is_scripted(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--onebot" in help_text
    assert "not with --interactive or --web" in help_text
