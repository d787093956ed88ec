"""The poll2 decisions as a pure state machine (no I/O, no sleeping, no event loop).

:class:`PollMachine` is told what happened to each poll (an answer parsed by
:func:`parse_poll`, an HTTP status, a transport failure, a kick seen while
dispatching, a finished recovery) and answers with the next :class:`Action`:

======================  ===============================================================
answer                  action
======================  ===============================================================
events                  ``DISPATCH`` them, then poll again
idle (102, 0+errmsg,    ``POLL`` again at once
1202, 100003, 100012,
HTTP 502/504)
116                     ``ROTATE``: store the new ptwebqq, poll again
103                     ``PROBE`` get_online_buddies2 once; a second 103 in a row ``RELINK``
120, 121                ``RELINK`` (the driver falls back to a re-login when that fails)
100, 108, 100000-2      ``RELOGIN``
unknown code            ``BACK_OFF`` briefly; more than ``unknown_limit`` in a row ``RELINK``
network error, timeout, ``BACK_OFF`` for ``seconds`` (growing, jittered, reset on success)
other HTTP status,
unreadable body
kick_message            ``END`` (or ``RELOGIN`` with ``relogin_on_kick``)
======================  ===============================================================

``Action.disconnected`` marks the first failure after a success and
``Action.reconnected`` the first success after failures, so the driver
announces each outage once. The delays come from an injected policy (which
owns its randomness) and the clock is injected; tests drive every branch
with neither sockets nor sleeps (``tests/protocol/test_poll_machine.py``).

``parse_poll``, ``PollOutcome`` and ``PollResult`` live in :mod:`smartqq.events`
(they build event objects) and are re-exported here. :func:`answers_at_once`
reads only a body's first bytes: a driver may send the next poll as soon as
it holds such an answer, before reading it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from smartqq.events import Event, PollOutcome, PollResult, parse_poll

__all__ = [
    "IDLE_HTTP_STATUSES",
    "Action",
    "Delays",
    "PollMachine",
    "PollOutcome",
    "PollResult",
    "Step",
    "answers_at_once",
    "parse_poll",
    "was_held",
]

IDLE_HTTP_STATUSES = frozenset({502, 504})
"""The front end's gateway timeouts: "nothing happened", not a failure (PROTOCOL §6.1)."""


# retcode 0 as the first key: events or idle (PROTOCOL §6.1), both followed by a poll.
_RETCODE_ZERO = re.compile(rb'\s*\{\s*"retcode"\s*:\s*0\s*[,}]')


def answers_at_once(status: int, body: bytes) -> bool:
    """True when this answer is certain to be followed by another poll at once.

    HTTP 200 with ``retcode`` 0 as the body's first key is either events (``DISPATCH``)
    or idle (``POLL``). Anything else, or a body that turns out unreadable after all,
    can lead elsewhere; a driver that polled ahead on a True then drops that poll
    when the machine's action is neither.
    """
    return status == 200 and _RETCODE_ZERO.match(body, 0, 64) is not None


HELD_AFTER = 0.02
"""Seconds after which a poll counts as held: the service kept it open until an event came.

On loopback a poll answered from events already queued takes a millisecond or two, and
a held one lasts until the next event. Polling ahead pays only where the client's work
on a batch and the server's on the next are of the same order, which is loopback or a
LAN; over a slower link the round trip dwarfs both and the early poll saves nothing,
so treating every slow answer as held costs nothing there either."""


def was_held(waited: float) -> bool:
    """Whether an answer that took ``waited`` seconds was held for events to come.

    An answer that was not held came from events already queued: more are likely
    waiting, and a driver polls ahead. A held one means the client has caught up, so
    the next poll will most likely be held too, and sending it early buys nothing but
    its cost (with a thousand clients in one process, a task and its objects per
    poll, and the garbage collector's work on them: the fan-out row in
    ``benchmarks/``).
    """
    return waited > HELD_AFTER


class Delays(Protocol):
    """A backoff policy: ``next()`` the next delay in seconds, ``reset()`` after a success."""

    def next(self) -> float: ...

    def reset(self) -> None: ...


class Step(StrEnum):
    POLL = "poll"
    DISPATCH = "dispatch"
    ROTATE = "rotate"
    PROBE = "probe"
    RELINK = "relink"
    RELOGIN = "relogin"
    BACK_OFF = "back_off"
    END = "end"


@dataclass(frozen=True, slots=True)
class Action:
    """What the driver does next."""

    step: Step
    retcode: int = 0
    seconds: float = 0.0
    events: tuple[Event, ...] = ()
    ptwebqq: str | None = None
    reason: str = ""
    disconnected: bool = False
    reconnected: bool = False

    def __repr__(self) -> str:
        # ptwebqq is a secret: never in a repr.
        return (
            f"Action({self.step.value}, retcode={self.retcode}, seconds={self.seconds:.2f}, "
            f"events={len(self.events)})"
        )


class PollMachine:
    """Decides what follows each poll. One instance per polling session."""

    # One per client: slots instead of a __dict__ save ~50 B each at 1,000 clients.
    __slots__ = (
        "clock",
        "connected",
        "delays",
        "failing_since",
        "last_answer_at",
        "probed",
        "relogin_on_kick",
        "unknown_in_a_row",
        "unknown_limit",
    )

    def __init__(
        self,
        delays: Delays,
        *,
        relogin_on_kick: bool = False,
        unknown_limit: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.delays = delays
        self.relogin_on_kick = relogin_on_kick
        self.unknown_limit = unknown_limit
        self.clock = clock
        self.connected = True
        self.probed = False
        self.unknown_in_a_row = 0
        self.last_answer_at: float | None = None
        self.failing_since: float | None = None

    # -- inputs --------------------------------------------------------------------------

    def answer(self, result: PollResult) -> Action:
        """A poll answered HTTP 200 with a readable body."""
        outcome = result.outcome
        if outcome is not PollOutcome.PROBE:
            self.probed = False
        if outcome is not PollOutcome.UNKNOWN:
            self.unknown_in_a_row = 0
        if outcome is PollOutcome.EVENTS:
            return self._ok(Step.DISPATCH, result.retcode, events=result.events)
        if outcome is PollOutcome.NEW_PTWEBQQ and result.ptwebqq is not None:
            return self._ok(Step.ROTATE, result.retcode, ptwebqq=result.ptwebqq)
        if outcome is PollOutcome.PROBE:
            if not self.probed:
                self.probed = True
                return self._ok(Step.PROBE, result.retcode)
            self.probed = False
            return self._ok(Step.RELINK, result.retcode, reason="103 persisted after a probe")
        if outcome is PollOutcome.RELINK:
            return self._ok(Step.RELINK, result.retcode)
        if outcome is PollOutcome.RELOGIN:
            return self._ok(Step.RELOGIN, result.retcode)
        if outcome is PollOutcome.UNKNOWN:
            self.unknown_in_a_row += 1
            if self.unknown_in_a_row > self.unknown_limit:
                self.unknown_in_a_row = 0
                return self._ok(Step.RELINK, result.retcode, reason="unknown retcodes persisted")
            # Answered, so not an outage; but do not hammer a server saying something new.
            ok = self._ok(Step.BACK_OFF, result.retcode, reason="unknown retcode")
            return replace(ok, seconds=self.delays.next())
        return self._ok(Step.POLL, result.retcode)

    def http_status(self, status: int) -> Action:
        """A poll answered with something other than HTTP 200."""
        if status in IDLE_HTTP_STATUSES:
            return self._ok(Step.POLL, 0, reason=f"HTTP {status}")
        return self.failure(f"HTTP {status}")

    def failure(self, reason: str) -> Action:
        """No usable answer: a transport error, a timeout or an unreadable body."""
        first = self.connected
        self.connected = False
        if self.failing_since is None:
            self.failing_since = self.clock()
        return Action(Step.BACK_OFF, seconds=self.delays.next(), reason=reason, disconnected=first)

    def kicked(self, reason: str = "") -> Action:
        """A ``kick_message`` was dispatched: end, or log in again when configured to."""
        self.probed = False
        self.unknown_in_a_row = 0
        if self.relogin_on_kick:
            return Action(Step.RELOGIN, reason=reason or "kicked")
        self.connected = False
        return Action(Step.END, reason=reason or "kicked", disconnected=True)

    def recovered(self) -> None:
        """A relink or re-login re-established the session."""
        self.probed = False
        self.unknown_in_a_row = 0
        self.delays.reset()

    # -- helpers -------------------------------------------------------------------------

    def _ok(
        self,
        step: Step,
        retcode: int,
        *,
        events: tuple[Event, ...] = (),
        ptwebqq: str | None = None,
        reason: str = "",
    ) -> Action:
        back = not self.connected
        self.connected = True
        self.failing_since = None
        self.last_answer_at = self.clock()
        self.delays.reset()
        return Action(
            step, retcode, events=events, ptwebqq=ptwebqq, reason=reason, reconnected=back
        )
