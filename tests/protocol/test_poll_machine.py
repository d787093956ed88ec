"""PollMachine, table-driven: every retcode and shape of PROTOCOL.md §6.2, no sockets, no sleeps."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from smartqq.events import BuddyMessage
from smartqq.protocol import retcodes
from smartqq.protocol.poll import (
    HELD_AFTER,
    IDLE_HTTP_STATUSES,
    Action,
    PollMachine,
    PollOutcome,
    Step,
    answers_at_once,
    parse_poll,
    was_held,
)


class Delays:
    """A deterministic backoff: 1, 2, 4, ... seconds, counted; reset to 1."""

    def __init__(self) -> None:
        self.attempt = 0
        self.resets = 0

    def next(self) -> float:
        value = float(2**self.attempt)
        self.attempt += 1
        return value

    def reset(self) -> None:
        self.attempt = 0
        self.resets += 1


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def machine(**kw: Any) -> PollMachine:
    return PollMachine(Delays(), clock=Clock(), **kw)


def answer(m: PollMachine, body: dict[str, Any]) -> Action:
    return m.answer(parse_poll(json.dumps(body)))


MESSAGE = {
    "poll_type": "message",
    "value": {"msg_id": 5, "from_uin": 7, "to_uin": 1, "time": 1, "content": [["font", {}], "hi"]},
}

# (wire answer, outcome parse_poll gives, step the machine takes) for every row of §6.2.
TABLE: list[tuple[dict[str, Any], PollOutcome, Step]] = [
    ({"retcode": 0, "result": [MESSAGE]}, PollOutcome.EVENTS, Step.DISPATCH),
    ({"retcode": 0, "result": "ok"}, PollOutcome.IDLE, Step.POLL),
    ({"retcode": 0, "result": []}, PollOutcome.IDLE, Step.POLL),
    ({"retcode": 0, "errmsg": "error!!!"}, PollOutcome.IDLE, Step.POLL),
    ({"retcode": 0, "retmsg": "ok", "errmsg": "error"}, PollOutcome.IDLE, Step.POLL),
    ({"retcode": 102, "errmsg": ""}, PollOutcome.IDLE, Step.POLL),
    ({"retcode": 116, "p": "ab" * 24}, PollOutcome.NEW_PTWEBQQ, Step.ROTATE),
    ({"retcode": 100}, PollOutcome.RELOGIN, Step.RELOGIN),
    ({"retcode": 103, "errmsg": "error"}, PollOutcome.PROBE, Step.PROBE),
    ({"retcode": 108}, PollOutcome.RELOGIN, Step.RELOGIN),
    ({"retcode": 109}, PollOutcome.UNKNOWN, Step.BACK_OFF),
    ({"retcode": 110}, PollOutcome.UNKNOWN, Step.BACK_OFF),
    ({"retcode": 120}, PollOutcome.RELINK, Step.RELINK),
    ({"retcode": 121, "t": "0"}, PollOutcome.RELINK, Step.RELINK),
    ({"retcode": 1202}, PollOutcome.IDLE, Step.POLL),
    ({"retcode": 100000}, PollOutcome.RELOGIN, Step.RELOGIN),
    ({"retcode": 100001}, PollOutcome.RELOGIN, Step.RELOGIN),
    ({"retcode": 100002}, PollOutcome.RELOGIN, Step.RELOGIN),
    ({"retcode": 100003}, PollOutcome.IDLE, Step.POLL),
    ({"retcode": 100006}, PollOutcome.UNKNOWN, Step.BACK_OFF),
    ({"retcode": 100012, "retmsg": "cost[60.01s]"}, PollOutcome.IDLE, Step.POLL),
    ({"retcode": 4242}, PollOutcome.UNKNOWN, Step.BACK_OFF),
]


@pytest.mark.parametrize(
    ("body", "outcome", "step"), TABLE, ids=[json.dumps(r[0])[:40] for r in TABLE]
)
def test_every_answer_of_the_reference(
    body: dict[str, Any], outcome: PollOutcome, step: Step
) -> None:
    result = parse_poll(json.dumps(body))
    assert result.outcome is outcome
    action = PollMachine(Delays(), clock=Clock()).answer(result)
    assert action.step is step
    assert action.retcode == body["retcode"]
    assert not action.disconnected
    assert not action.reconnected


def test_every_code_of_the_table_is_in_the_test_table() -> None:
    tested = {row[0]["retcode"] for row in TABLE}
    # 100100 is a send-only code; on poll it is simply unknown.
    assert set(retcodes.POLL) - {100100} <= tested


def test_events_and_the_rotated_ptwebqq_are_handed_over() -> None:
    m = machine()
    dispatch = answer(m, {"retcode": 0, "result": [MESSAGE]})
    assert [type(e) for e in dispatch.events] == [BuddyMessage]
    rotate = answer(m, {"retcode": 116, "p": "cd" * 24})
    assert rotate.ptwebqq == "cd" * 24
    assert "cd" * 24 not in repr(rotate)  # a secret never reaches a repr


def test_a_second_103_in_a_row_escalates_and_anything_between_resets() -> None:
    m = machine()
    assert answer(m, {"retcode": 103}).step is Step.PROBE
    assert answer(m, {"retcode": 103}).step is Step.RELINK
    assert answer(m, {"retcode": 103}).step is Step.PROBE  # the escalation started over
    assert answer(m, {"retcode": 102}).step is Step.POLL
    assert answer(m, {"retcode": 103}).step is Step.PROBE


def test_unknown_codes_back_off_then_relink_after_the_limit() -> None:
    m = machine(unknown_limit=3)
    steps = [answer(m, {"retcode": 999}).step for _ in range(5)]
    assert steps == [Step.BACK_OFF] * 3 + [Step.RELINK, Step.BACK_OFF]
    m2 = machine(unknown_limit=3)
    for _ in range(3):
        answer(m2, {"retcode": 999})
    answer(m2, {"retcode": 102})  # a known answer breaks the run
    assert answer(m2, {"retcode": 999}).step is Step.BACK_OFF


def test_unknown_code_backs_off_from_the_base_delay() -> None:
    m = machine()
    assert [answer(m, {"retcode": 999}).seconds for _ in range(3)] == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("status", sorted(IDLE_HTTP_STATUSES))
def test_gateway_timeouts_are_idle(status: int) -> None:
    assert machine().http_status(status).step is Step.POLL


@pytest.mark.parametrize("status", [301, 403, 404, 500, 503])
def test_other_statuses_back_off(status: int) -> None:
    action = machine().http_status(status)
    assert action.step is Step.BACK_OFF
    assert action.reason == f"HTTP {status}"


def test_failures_back_off_growing_announce_once_and_recover_once() -> None:
    clock = Clock()
    delays = Delays()
    m = PollMachine(delays, clock=clock)
    first = m.failure("timeout")
    clock.now = 105.0
    second = m.failure("refused")
    assert (first.step, second.step) == (Step.BACK_OFF, Step.BACK_OFF)
    assert (first.seconds, second.seconds) == (1.0, 2.0)
    assert (first.disconnected, second.disconnected) == (True, False)
    assert m.failing_since == 100.0
    assert not m.connected
    clock.now = 110.0
    back = answer(m, {"retcode": 102})
    assert back.reconnected
    assert back.step is Step.POLL
    assert m.connected
    assert m.failing_since is None
    assert m.last_answer_at == 110.0
    assert not answer(m, {"retcode": 102}).reconnected
    assert m.failure("again").seconds == 1.0  # the backoff was reset by the success


def test_a_kick_ends_polling_unless_relogin_on_kick() -> None:
    end = machine().kicked("logged in elsewhere")
    assert end.step is Step.END
    assert end.disconnected
    assert end.reason == "logged in elsewhere"
    again = machine(relogin_on_kick=True).kicked("")
    assert again.step is Step.RELOGIN
    assert again.reason == "kicked"


def test_recovered_clears_the_escalations() -> None:
    delays = Delays()
    m = PollMachine(delays, clock=Clock())
    answer(m, {"retcode": 103})
    for _ in range(2):
        answer(m, {"retcode": 999})
    m.failure("x")
    m.recovered()
    assert not m.probed
    assert m.unknown_in_a_row == 0
    assert delays.attempt == 0
    assert answer(m, {"retcode": 103}).step is Step.PROBE


def test_random_sequences_never_leave_the_step_set() -> None:
    # A seeded walk over every input: the machine always answers with an Action.
    rng = random.Random(7)
    m = machine()
    codes = [row[0] for row in TABLE]
    for _ in range(2000):
        pick = rng.random()
        if pick < 0.6:
            action = answer(m, rng.choice(codes))
        elif pick < 0.8:
            action = m.http_status(rng.choice([200, 404, 502, 504]))
        elif pick < 0.95:
            action = m.failure("x")
        else:
            action = m.kicked("k")
        assert isinstance(action.step, Step)
        assert action.seconds >= 0


def _doc_retcode_rows() -> list[list[str]]:
    text = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    table = text.split("<!-- retcodes:begin -->")[1].split("<!-- retcodes:end -->")[0]
    lines = [line for line in table.strip().splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def test_the_retcode_table_in_the_docs_is_the_code_table() -> None:
    # docs/protocol.md lists every code of retcodes.py, in order, with the same columns.
    expected = [
        [str(r.code), r.meaning, r.poll, r.send, "yes" if r.envelope_session else ""]
        for r in retcodes.POLL.values()
    ]
    assert _doc_retcode_rows() == expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"retcode":0,"result":[{"poll_type":"message"}]}', True),
        (200, b'{"retcode":0,"result":"ok"}', True),
        (200, b' \n{ "retcode" : 0 }', True),
        (200, b'{"retcode":0,"errmsg":"error!!!"}', True),
        (200, b'{"retcode":0', False),  # cut before the value ends: not certain
        (200, b'{"retcode":0.5,"result":[]}', False),
        (200, b'{"retcode":01}', False),
        (200, b'{"retcode":116,"p":"abc"}', False),
        (200, b'{"retcode":103}', False),
        (200, b'{"result":[],"retcode":0}', False),  # not the first key: not known yet
        (200, b'{"retcode":"0"}', False),
        (200, b"", False),
        (502, b'{"retcode":0,"result":[]}', False),
        (200, b" " * 100 + b'{"retcode":0}', False),  # only the first bytes are read
    ],
)
def test_answers_at_once_reads_only_a_certain_prefix(
    status: int, body: bytes, expected: bool
) -> None:
    assert answers_at_once(status, body) is expected


@pytest.mark.parametrize(
    ("waited", "held"),
    [(0.0, False), (0.002, False), (HELD_AFTER, False), (HELD_AFTER + 0.001, True), (30.0, True)],
)
def test_a_poll_counts_as_held_once_it_waited_longer_than_an_answer_from_a_queue(
    waited: float, held: bool
) -> None:
    assert was_held(waited) is held
