"""Mailboxes and fan-out: per-account event queues and the poll2 answer built from them.

Events wait in a per-account queue that outlives relinks, so a bot that relinks loses
nothing; the real service dropped events for accounts with no live session, and so do we.

Encoding is done once per message, not once per poll (issue 17 item 5): when a message
is stamped, its content is rendered with :mod:`smartqq.content` (font first, as the
service sent it) and encoded to JSON bytes once; each recipient's event is then those
bytes plus a few per-session integers (handles differ per session) formatted into a
bytes template. A poll2 answer is the join of its events' bytes.

Content that cannot be encoded (a lone surrogate, nesting too deep, a number JSON cannot
carry) is refused when it is sent or injected (:class:`BadContent`), so it never reaches a
queue; and poll2 encodes per event anyway, dropping (and counting) only an event that
still fails, never the batch.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from smartqq.content import Content, CustomFace, Face, Font, OfflinePic, Segment, Text
from smartqq.errors import ProtocolError

from .journal import Journal
from .sessions import Logins, Session

__all__ = ["BadContent", "Mailboxes", "PendingEvent", "Stamp", "encode_content"]

Build = Callable[[Session], bytes]

MAX_DEPTH = 32
"""Deepest nesting a content array may have (a real one has 3: array, segment, value).

A fixed bound, not "whatever the json module manages": Python 3.12+ parse and encode
thousands of levels that 3.11 refuses with RecursionError, so without it the same
message would be refused on one interpreter and delivered (to clients that may choke
on it) on another."""


class BadContent(ValueError):
    """Message content that is not a valid content array or cannot be encoded."""


@dataclass(slots=True)
class PendingEvent:
    poll_type: str
    build: Build
    """``build(session) -> the encoded {"poll_type":…,"value":…}``: handles are per session."""
    token: str | None = None


@dataclass(frozen=True, slots=True)
class Stamp:
    """What every copy of one message shares: its encoded content, msg_id and time."""

    content: bytes
    msg_id: int
    time: int


def _dumps(value: Any) -> bytes:
    # allow_nan=False: ``Infinity``/``NaN`` are not JSON; a face id of 1e999 must be refused
    # when sent, not written into a poll answer that no strict parser can read.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests lists/dicts deeper than :data:`MAX_DEPTH` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list | dict):
            if depth > MAX_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def parse_content(raw: Any) -> Content:
    """A content array (or its JSON text) as :class:`Content`, or :class:`BadContent`."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise BadContent("content is not JSON") from None
    if _too_deep(raw):
        raise BadContent(f"content is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(raw, list) or not all(isinstance(el, str | list) for el in raw):
        raise BadContent("content must be an array of strings and segments")
    try:
        return Content.parse(raw, strip_trailing_space=False)
    except (ProtocolError, ValueError, TypeError, OverflowError, RecursionError):
        raise BadContent("content is not a valid content array") from None


def _segment_wire(seg: Segment) -> Any:
    if isinstance(seg, Text):
        return seg.text
    if isinstance(seg, Face):
        return ["face", seg.id]
    if isinstance(seg, CustomFace):
        value = {"name": seg.name, "file_id": seg.file_id, "key": seg.key, "server": seg.server}
        return ["cface", value]
    if isinstance(seg, OfflinePic):
        return ["offpic", {"success": seg.success, "file_path": seg.file_path}]
    return seg.raw


def encode_content(content: Content, *, trailing_space: bool = False) -> bytes:
    """The wire array (font first) as JSON bytes; :class:`BadContent` if it cannot be sent."""
    segments = list(content.segments)
    if trailing_space:
        # 2012-2015 servers added one space after the last text (a lone " " after a face).
        if segments and isinstance(segments[-1], Text):
            segments[-1] = Text(segments[-1].text + " ")
        else:
            segments.append(Text(" "))
    body = [_segment_wire(seg) for seg in segments]
    font = (content.font or Font()).to_wire()
    try:
        return _dumps([font, *body])
    except (UnicodeEncodeError, ValueError, RecursionError):
        raise BadContent("content cannot be encoded as UTF-8 JSON") from None


class Mailboxes:
    """The queues, and every way an event gets into them."""

    def __init__(self, logins: Logins, journal: Journal, trailing_space: Callable[[], bool]):
        self.logins = logins
        self.journal = journal
        self.queues: dict[int, deque[PendingEvent]] = {}
        self._trailing_space = trailing_space
        self._msg_id = int(logins.clock()) % 100000 * 100

    def stamp(self, content: Content) -> Stamp:
        self._msg_id += 1
        wire = encode_content(content, trailing_space=self._trailing_space())
        return Stamp(wire, self._msg_id, int(self.logins.clock()))

    # -- queues ------------------------------------------------------------------------

    def push(self, qq: int, event: PendingEvent) -> bool:
        """Queue an event for an account with a live session."""
        s = self.logins.live(qq)
        if s is None:
            return False
        # get-then-create, not setdefault(qq, deque()): a fan-out pushes to every member,
        # and setdefault would build (and drop) a deque for each of them every time.
        q = self.queues.get(qq)
        if q is None:
            q = self.queues[qq] = deque()
        q.append(event)
        s.wake.set()
        return True

    def requeue(self, qq: int, events: list[PendingEvent]) -> None:
        """Put undelivered events back at the front, in their original order."""
        self.queues.setdefault(qq, deque()).extendleft(reversed(events))

    def take(self, qq: int, limit: int) -> list[PendingEvent]:
        q = self.queues.get(qq)
        if not q:
            return []
        return [q.popleft() for _ in range(min(limit, len(q)))]

    def answer(self, s: Session, events: list[PendingEvent]) -> tuple[bytes, list[PendingEvent]]:
        """The poll2 body for ``events`` (newest first) and the events it carries.

        Each event is encoded on its own: one that fails is dropped and counted, and the
        rest of the batch still goes out.
        """
        parts: list[bytes] = []
        carried: list[PendingEvent] = []
        for event in reversed(events):
            try:
                parts.append(event.build(s))
            except (UnicodeEncodeError, ValueError, RecursionError, TypeError):
                self.journal.poisoned += 1
                continue
            carried.append(event)
        carried.reverse()
        return b'{"retcode":0,"result":[' + b",".join(parts) + b"]}", carried

    # -- fan-out -----------------------------------------------------------------------

    def fan_out(
        self, members: Iterable[int], sender: int, event: PendingEvent, *, echo: bool = False
    ) -> int:
        """Queue one event for every logged-in member but the sender; how many got it."""
        count = 0
        for member in members:
            if member != sender or echo:
                count += self.push(member, event)
        return count

    def generic(self, poll_type: str, value: Callable[[Session], dict[str, Any]]) -> Build:
        """A rare event (status, buddy list) encoded from a dict per session."""
        head = b'{"poll_type":' + _dumps(poll_type) + b',"value":'
        return lambda s: head + _dumps(value(s)) + b"}"

    def buddy(self, sender: int, to: int, st: Stamp, token: str | None, *, echo: bool) -> bool:
        def build(s: Session) -> bytes:
            uin = s.handle("echo" if echo else "qq", sender)
            return (
                b'{"poll_type":"message","value":{"content":%b,"from_uin":%d,"msg_id":%d,"msg_type":0,"time":%d,"to_uin":%d}}'
                % (
                    st.content,
                    uin,
                    st.msg_id,
                    st.time,
                    s.qq,
                )
            )

        target = sender if echo else to
        return (
            self.fan_out((target,), sender, PendingEvent("message", build, token), echo=echo) == 1
        )

    def sess(
        self, sender: int, to: int, via: tuple[str, int], st: Stamp, token: str | None
    ) -> bool:
        """A temporary-session message; ``via`` is (``group``, code) or (``discu``, did)."""
        kind, key = via
        service_type = 0 if kind == "group" else 1

        def build(s: Session) -> bytes:
            return (
                b'{"poll_type":"sess_message","value":{"content":%b,"flags":{"text":1,"pic":1,"file":1,"audio":1,"video":1},"from_uin":%d,"id":%d,"msg_id":%d,"msg_id2":%d,"msg_type":140,"reply_ip":176498455,"ruin":%d,"service_type":%d,"time":%d,"to_uin":%d}}'
                % (
                    st.content,
                    s.handle("qq", sender),
                    s.handle(kind, key),
                    st.msg_id,
                    st.msg_id % 1_000_000,
                    sender,
                    service_type,
                    st.time,
                    s.qq,
                )
            )

        return self.fan_out((to,), sender, PendingEvent("sess_message", build, token)) == 1

    def group(
        self,
        sender: int,
        code: int,
        members: Iterable[int],
        st: Stamp,
        token: str | None,
        *,
        echo: bool = False,
    ) -> int:
        def build(s: Session) -> bytes:
            gid = s.handle("group", code)
            # An echo of the bot's own send shows an unknown sender uin (late 2017).
            uin = s.handle("echo" if s.qq == sender else "qq", sender)
            return (
                b'{"poll_type":"group_message","value":{"content":%b,"from_uin":%d,"group_code":%d,"msg_id":%d,"msg_type":0,"send_uin":%d,"time":%d,"to_uin":%d}}'
                % (
                    st.content,
                    gid,
                    gid,
                    st.msg_id,
                    uin,
                    st.time,
                    s.qq,
                )
            )

        event = PendingEvent("group_message", build, token)
        return self.fan_out(members, sender, event, echo=echo)

    def discu(
        self,
        sender: int,
        did: int,
        members: Iterable[int],
        st: Stamp,
        token: str | None,
        *,
        echo: bool = False,
    ) -> int:
        def build(s: Session) -> bytes:
            d = s.handle("discu", did)
            uin = s.handle("echo" if s.qq == sender else "qq", sender)
            return (
                b'{"poll_type":"discu_message","value":{"content":%b,"did":%d,"from_uin":%d,"msg_id":%d,"msg_type":0,"send_uin":%d,"time":%d,"to_uin":%d}}'
                % (
                    st.content,
                    d,
                    d,
                    st.msg_id,
                    uin,
                    st.time,
                    s.qq,
                )
            )

        event = PendingEvent("discu_message", build, token)
        return self.fan_out(members, sender, event, echo=echo)
