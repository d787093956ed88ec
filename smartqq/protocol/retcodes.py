"""The one retcode table: what each SmartQQ ``retcode`` means, per endpoint family.

Everything that branches on a retcode (``parse_poll``, ``parse_envelope``,
``parse_send_response``, the :class:`~smartqq.protocol.poll.PollMachine`) reads
the sets derived here, so the protocol reference (PROTOCOL.md §6.2, §7.3, §10)
is encoded once. The same number can mean different things on different
endpoints: ``100012`` is an idle poll but an expired session on a send, and
``1202`` is a transient poll answer but an *uncertain* send.

This is a declarative table, which is why it is allowed to be long.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "ENVELOPE_SESSION",
    "POLL",
    "POLL_IDLE",
    "POLL_PROBE",
    "POLL_RELINK",
    "POLL_RELOGIN",
    "POLL_ROTATE",
    "SEND",
    "SEND_OK",
    "SEND_SESSION",
    "SEND_UNCERTAIN",
    "Retcode",
    "poll_kind",
]

# The poll kinds (the values of smartqq.events.PollOutcome for non-event answers).
IDLE = "idle"
ROTATE = "new_ptwebqq"
PROBE = "needs_online_buddies_probe"
RELINK = "relink"
RELOGIN = "relogin"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Retcode:
    code: int
    meaning: str
    poll: str = UNKNOWN
    """What a poll2 answer with this code asks for (one of the kinds above)."""
    send: str = "error"
    """``ok``, ``uncertain``, ``session`` (expired: recover, then resend) or ``error``."""
    envelope_session: bool = False
    """On list/info calls: the session is gone (``SessionExpiredError``)."""


_TABLE = (
    Retcode(0, "ok (poll: events, or idle when result is empty/a string)", IDLE, "ok"),
    Retcode(100, "NotReLogin", RELOGIN, "session", True),
    Retcode(102, "no message (2012-2015 idle poll)", IDLE),
    Retcode(
        103, "session not accepted; one get_online_buddies2 probe cures it", PROBE, "session", True
    ),
    Retcode(108, "cookie missing / NotReLogin", RELOGIN, "session", True),
    Retcode(109, "client quit", UNKNOWN),
    Retcode(110, "client quit", UNKNOWN),
    Retcode(116, "ptwebqq rotated (new value in p)", ROTATE),
    Retcode(120, "ReLinkFailure", RELINK, "session", True),
    Retcode(121, "ReLinkFailure / logged in elsewhere", RELINK, "session", True),
    Retcode(1202, "transient on poll; on send maybe delivered", IDLE, "uncertain"),
    Retcode(100000, "login domain error", RELOGIN, "session", True),
    Retcode(100001, "PtwebqqFail", RELOGIN, "session", True),
    Retcode(100002, "missing header", RELOGIN, "session", True),
    Retcode(100003, "too frequent (acceptable)", IDLE),
    Retcode(100006, "request error", UNKNOWN),
    Retcode(100012, "poll: no message in the window; send: login expired", IDLE, "session"),
    Retcode(100100, "send: delivered despite the errmsg", UNKNOWN, "ok"),
)

POLL = MappingProxyType({r.code: r for r in _TABLE})
SEND = POLL  # one table; the ``send`` column is read for send answers

POLL_IDLE = frozenset(r.code for r in _TABLE if r.poll == IDLE and r.code != 0)
POLL_ROTATE = frozenset(r.code for r in _TABLE if r.poll == ROTATE)
POLL_PROBE = frozenset(r.code for r in _TABLE if r.poll == PROBE)
POLL_RELINK = frozenset(r.code for r in _TABLE if r.poll == RELINK)
POLL_RELOGIN = frozenset(r.code for r in _TABLE if r.poll == RELOGIN)
ENVELOPE_SESSION = frozenset(r.code for r in _TABLE if r.envelope_session)
SEND_OK = frozenset(r.code for r in _TABLE if r.send == "ok")
SEND_UNCERTAIN = frozenset(r.code for r in _TABLE if r.send == "uncertain")
SEND_SESSION = frozenset(r.code for r in _TABLE if r.send == "session")


def poll_kind(code: int) -> str:
    """The poll kind for a non-zero retcode (``unknown`` for codes not in the table)."""
    entry = POLL.get(code)
    return UNKNOWN if entry is None else entry.poll
