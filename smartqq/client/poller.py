"""The poll loop: drives :class:`~smartqq.protocol.poll.PollMachine` over the session.

One poll is outstanding at a time. Each answer goes to the machine, which
says what to do; this module only performs it (dispatch, rotate, probe,
recover, sleep). Events are de-duplicated by (kind, msg_id, sender) over at
least the last ``dedup_window`` keys and, with ``ignore_self_echo``, our own
sends echoed back by the service are dropped.

Backpressure: while handlers are more than ``max_pending`` events behind
(``Dispatcher.backlog``), no poll goes out until they are down to half of it;
the service keeps what was not polled, so a flood costs a delay, not memory
without bound, and loses nothing.

Polling ahead: an answer that is certain to be followed by another poll
(HTTP 200 starting ``{"retcode":0``, see
:func:`~smartqq.protocol.poll.answers_at_once`) sends that poll *before*
it is parsed and dispatched, so the server gathers the next batch while
this one is read: the wait for a batch overlaps the work on the last (the
end-to-end row in ``benchmarks/``). Only after an answer that came at once,
though: a poll the service held for events
(:func:`~smartqq.protocol.poll.was_held`) means the client has caught up, and
the next poll will most likely be held too, so it goes out after the batch
(an early one would only add a task, its objects and the collector's work on
them: the fan-out row). The early poll belongs to the session
generation it was sent in and is dropped (cancelled) when the machine's
action turns out to be anything but dispatch or poll, when a kick or a
recovery changes the generation, and when polling ends.
``Client(poll_ahead=False)`` polls again only once a batch is dispatched (a
cluster gateway saves each batch before its next poll: the service forgets
what it has answered).

The loop never dies silently. A body that cannot be parsed as a whole is
salvaged element by element (a bad element becomes an
:class:`~smartqq.events.UnknownEvent`, the rest is dispatched); anything
unexpected while handling one answer (typed or not) is logged with a short
redacted excerpt of the body (cut *before* redaction, so a 20 MB body costs
microseconds), reported to the error hook, counted in :class:`PollStats`, and
polling goes on after a backoff. Only an error that ends the session (kicked,
re-login refused, the client closed) stops it, with a ``Disconnected`` event.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from smartqq._tasks import cancel_and_wait
from smartqq.errors import (
    APIError,
    ClientClosedError,
    HTTPStatusError,
    Kicked,
    LoginError,
    ProtocolError,
    ResponseTooLarge,
    SessionExpiredError,
    SmartQQError,
    TransportError,
)
from smartqq.events import (
    Disconnected,
    Event,
    KickMessage,
    MessageEvent,
    Reconnected,
    UnknownEvent,
    parse_event,
)
from smartqq.protocol import endpoints
from smartqq.protocol.http import HttpRequest, HttpResponse
from smartqq.protocol.parsers import decode_json, snippet
from smartqq.protocol.poll import (
    Action,
    PollMachine,
    PollOutcome,
    PollResult,
    Step,
    answers_at_once,
    parse_poll,
    was_held,
)
from smartqq.protocol.session import SessionState

from .echo import EchoFilter
from .session import Session

__all__ = ["PollStats", "Poller"]

# What ends polling for good: the session cannot come back, or the client closed.
_FATAL = (SessionExpiredError, LoginError, ClientClosedError, Kicked)

log = logging.getLogger("smartqq.poll")
_EXCERPT = 120
# On 3.11 a new task first runs on the next loop pass, and aiohttp writes a request
# body from a task of its own one pass later: two passes put a poll on the wire.
_PASSES_TO_SEND = 2
_EAGER = sys.version_info >= (3, 12)
_CONTINUES = (Step.DISPATCH, Step.POLL)
# How often a paused loop looks at the handlers' backlog again.
_PAUSE_CHECK = 0.02


@dataclass(slots=True)
class PollStats:
    """Counters of the poll loop (``client.stats``)."""

    polls: int = 0
    events: int = 0
    duplicates: int = 0
    echoes_dropped: int = 0
    failures: int = 0
    oversize: int = 0
    salvaged: int = 0
    paused: int = 0
    """Times polling paused because handlers had fallen ``max_pending`` events behind."""
    errors: int = 0
    """Unexpected exceptions caught while handling one answer (logged and reported)."""


def excerpt(body: bytes | str) -> str:
    """The first bytes of a body, redacted, for a log line (cut first: never slow)."""
    return snippet(body[: _EXCERPT * 8], _EXCERPT)


class Poller:
    def __init__(
        self,
        session: Session,
        machine: PollMachine,
        emit: Callable[[Event], object],
        report: Callable[[BaseException, Event], Awaitable[None]],
        *,
        poll_timeout: float,
        dedup_window: int,
        echo: EchoFilter | None,
        knows_sender: Callable[[MessageEvent], bool] = lambda event: False,
        poll_ahead: bool = True,
        backlog: Callable[[], int] = lambda: 0,
        max_pending: int = 10_000,
    ) -> None:
        self.session = session
        self.machine = machine
        self.emit = emit
        self.report = report
        self.poll_timeout = poll_timeout
        self.dedup_window = dedup_window
        self.echo = echo
        self.knows_sender = knows_sender
        self.poll_ahead = poll_ahead
        self.backlog = backlog
        self.max_pending = max_pending
        self.stats = PollStats()
        # De-duplication keys in two generations: a key is remembered for at least
        # ``dedup_window`` later keys. (An OrderedDict trimmed per event cost twice as
        # much on the per-event path.)
        self._seen: set[tuple[str, int, int]] | None = None  # made with the first batch
        self._seen_before: AbstractSet[tuple[str, int, int]] = frozenset()
        # poll2 is the same request while the session's tokens are: built once for them.
        self._request: tuple[SessionState, tuple[object, ...], HttpRequest] | None = None
        # The poll sent ahead (see the module's note) and the generation it was sent in.
        self._ahead: asyncio.Task[HttpResponse] | None = None
        self._ahead_generation = -1
        # Whether the last answer came without the poll being held (protocol.poll.was_held):
        # only then does the next poll go out ahead.
        self._at_once = True

    async def run(self) -> None:
        session = self.session
        try:
            while not session.closed and session.fatal is None:
                if not await self._once():
                    return
        except asyncio.CancelledError:
            raise
        except SmartQQError as exc:
            session.fatal = exc
            self.emit(Disconnected(reason=str(exc)))
        finally:
            await self._drop_ahead()

    async def _poll(self, state: SessionState, generation: int) -> HttpResponse:
        """The answer to the poll sent ahead in this generation, or to a new one."""
        ahead = self._ahead
        if ahead is not None:
            if self._ahead_generation == generation:
                self._ahead = None
                if ahead.done():  # answered while this batch was still being read
                    self._at_once = True
                    return ahead.result()
                # Timed from here: the time it spent in flight while we worked is not
                # time the service held it.
                started = time.monotonic()
                response = await ahead
                self._at_once = not was_held(time.monotonic() - started)
                return response
            await self._drop_ahead()
        started = time.monotonic()
        response = await self.session.request(self._poll2(state), timeout=self.poll_timeout)
        self._at_once = not was_held(time.monotonic() - started)
        return response

    def _poll2(self, state: SessionState) -> HttpRequest:
        tokens = (state.profile, state.clientid, state.psessionid, state.ptwebqq)
        built = self._request
        if built is None or built[0] is not state or built[1] != tokens:
            built = self._request = (state, tokens, endpoints.poll2(state))
        return built[2]

    async def _poll_ahead(self, state: SessionState, generation: int) -> None:
        """Send the next poll now and return once it is on the wire."""
        request = self.session.request(self._poll2(state), timeout=self.poll_timeout)
        if _EAGER:  # runs at once up to waiting for the answer: the poll is sent
            loop = asyncio.get_running_loop()
            self._ahead = asyncio.Task(request, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
        else:
            self._ahead = asyncio.ensure_future(request)
            for _ in range(_PASSES_TO_SEND):
                await asyncio.sleep(0)
        self._ahead_generation = generation

    async def _drop_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        await cancel_and_wait(ahead)  # its outcome, whatever it was, is nobody's

    async def _catch_up(self) -> None:
        """Hold the next poll while handlers are more than ``max_pending`` events behind,
        until they are down to half of it. Nothing is dropped: the service keeps what
        was not polled, and it comes in order once polling goes on."""
        behind = self.backlog()
        if behind <= self.max_pending:
            return
        self.stats.paused += 1
        log.warning("handlers are %d events behind: polling pauses until they catch up", behind)
        while self.backlog() > self.max_pending // 2 and not self.session.closed:
            await asyncio.sleep(_PAUSE_CHECK)

    async def _once(self) -> bool:
        """One poll and what follows it; False when polling must end."""
        await self._catch_up()
        if self.session.closed:
            return False
        state = self.session.require_state()
        generation = self.session.generation
        body: bytes = b""
        try:
            self.stats.polls += 1
            try:
                response = await self._poll(state, generation)
            except (TransportError, ProtocolError) as exc:
                if isinstance(exc, ResponseTooLarge):
                    self.stats.oversize += 1
                return await self._act(self.machine.failure(str(exc)), generation)
            body = response.body
            if response.status != 200:
                return await self._act(self.machine.http_status(response.status), generation)
            if (
                self.poll_ahead
                and self._at_once
                and answers_at_once(200, body)
                and self.backlog() <= self.max_pending
            ):
                await self._poll_ahead(state, generation)
            try:
                result = parse_poll(body)
            except ProtocolError as exc:
                log.warning("unreadable poll answer: %s", exc)
                return await self._act(self.machine.failure("unreadable answer"), generation)
            except Exception as exc:  # a hostile body broke the parser: salvage, report
                salvaged = self._salvage(body)
                await self._unexpected(exc, body)
                if salvaged is None:
                    return await self._act(self.machine.failure("unreadable answer"), generation)
                result = salvaged
            return await self._act(self.machine.answer(result), generation)
        except (asyncio.CancelledError, *_FATAL):
            raise
        except Exception as exc:  # typed or not, one answer never ends polling
            await self._drop_ahead()
            await self._unexpected(exc, body)
            await asyncio.sleep(self.machine.delays.next())
            return True

    async def _unexpected(self, exc: Exception, body: bytes) -> None:
        self.stats.errors += 1
        log.error(
            "poll answer handling failed (%s); body starts %s", type(exc).__name__, excerpt(body)
        )
        note = UnknownEvent(type_name="poll2", error=f"{type(exc).__name__} handling poll2")
        await self.report(exc, note)

    def _salvage(self, body: bytes) -> PollResult | None:
        """Parse a batch element by element after ``parse_poll`` failed on the whole."""
        try:
            obj = decode_json(body)
        except ProtocolError:
            return None
        if not isinstance(obj, Mapping) or not isinstance(obj.get("result"), list):
            return None
        events: list[Event] = []
        for element in reversed(obj["result"]):
            try:
                events.append(parse_event(element))
            except Exception as exc:
                kind = element.get("poll_type") if isinstance(element, Mapping) else None
                events.append(
                    UnknownEvent(
                        type_name=kind if isinstance(kind, str) else "",
                        error=f"element could not be read ({type(exc).__name__})",
                    )
                )
        self.stats.salvaged += 1
        return _salvaged(tuple(events))

    # -- acting on the machine's decisions ------------------------------------------------

    async def _act(self, action: Action, generation: int) -> bool:
        session = self.session
        if self._ahead is not None and action.step not in _CONTINUES:
            await self._drop_ahead()  # not what this answer leads to after all
        if action.reconnected:
            self.emit(Reconnected(how="network"))
        step = action.step
        if step is Step.DISPATCH:
            return await self._dispatch(action.events, generation)
        if step is Step.ROTATE and action.ptwebqq is not None:
            log.info("ptwebqq rotated (116)")
            try:
                session.rotate_ptwebqq(action.ptwebqq)
            except ProtocolError as exc:  # a value no cookie can carry: keep the old one
                log.warning("ignoring the rotated ptwebqq: %s", exc)
        elif step is Step.PROBE:
            log.info("103: probing get_online_buddies2")
            try:
                await session.call(endpoints.get_online_buddies2(session.require_state()))
            except (APIError, ProtocolError, HTTPStatusError, TransportError):
                pass
        elif step in (Step.RELINK, Step.RELOGIN):
            relink = step is Step.RELINK
            if not await session.recover(action.retcode, generation, relink_first=relink):
                return False
            self.machine.recovered()
        elif step is Step.BACK_OFF:
            if action.disconnected:
                self.stats.failures += 1
                log.warning("poll failed: %s; backing off", action.reason)
                self.emit(Disconnected(reason=action.reason))
            elif action.reason and action.retcode:
                log.warning("poll answered retcode %d (%s)", action.retcode, action.reason)
            await asyncio.sleep(action.seconds)
        return True

    async def _dispatch(self, events: tuple[Event, ...], generation: int) -> bool:
        # The per-event path of every received message: locals, no helper calls for
        # typed messages (benchmarks/, end-to-end row); _dedup_key has the general rule.
        seen = self._seen
        if seen is None:
            seen = self._seen = set()
        before = self._seen_before
        window = self.dedup_window
        echo = self.echo
        emit = self.emit
        stats = self.stats
        for event in events:
            try:
                fields = event.__dict__  # typed messages: both ints sit in the fields
                msg_id = fields.get("msg_id")
                sender = fields.get("from_uin")
                if msg_id.__class__ is int and sender.__class__ is int and msg_id:
                    key: tuple[str, int, int] | None = (
                        event.poll_type or event.kind,
                        msg_id,
                        sender,
                    )
                else:
                    key = _dedup_key(event)
                if key is not None:
                    if key in seen or key in before:
                        stats.duplicates += 1
                        continue
                    seen.add(key)
                    if len(seen) >= window:
                        self._seen_before = before = seen
                        self._seen = seen = set()
                if (
                    echo is not None
                    and echo.sent
                    and isinstance(event, MessageEvent)
                    and echo.claims(event, self.knows_sender)
                ):
                    stats.echoes_dropped += 1
                    continue
                stats.events += 1
                emit(event)
            except Exception as exc:  # one bad event never costs the rest of the batch
                await self._unexpected(exc, b"")
                continue
            if isinstance(event, KickMessage):
                return await self._kicked(event, generation)
        return True

    async def _kicked(self, event: KickMessage, generation: int) -> bool:
        log.warning("kicked: %s", event.reason)
        action = self.machine.kicked(event.reason)
        if action.step is Step.RELOGIN and self.session.auto_relogin:
            await self.session.once_per_generation(generation, lambda: self.session.relogin(0))
            self.machine.recovered()
            return True
        self.session.fatal = Kicked(event.reason)
        self.emit(Disconnected(reason="kicked"))
        return False


def _dedup_key(event: Event) -> tuple[str, int, int] | None:
    """(kind, msg_id, sender), or None when there is nothing reliable to go on."""
    fields = event.__dict__
    msg_id = fields.get("msg_id")
    if msg_id.__class__ is not int:  # not a typed field: untyped events keep raw ones
        msg_id = getattr(event, "msg_id", None)
        if not isinstance(msg_id, int) or isinstance(msg_id, bool):
            return None
    if not msg_id:
        return None
    sender = fields.get("from_uin")
    if sender.__class__ is not int:
        sender = getattr(event, "from_uin", 0)
        if not isinstance(sender, int):
            sender = 0
    return (event.poll_type or event.kind, msg_id, sender)


def _salvaged(events: tuple[Event, ...]) -> PollResult:
    ordered = sorted(
        enumerate(events),
        key=lambda pair: (_int(pair[1], "time"), _int(pair[1], "msg_id"), pair[0]),
    )
    outcome = PollOutcome.EVENTS if events else PollOutcome.IDLE
    return PollResult(0, outcome, tuple(ev for _, ev in ordered))


def _int(event: Event, name: str) -> int:
    value = getattr(event, name, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
