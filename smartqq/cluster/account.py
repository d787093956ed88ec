"""One account held by a gateway: poll, publish, write the session back, send replies.

The SmartQQ work (resume, relink, 103 probe, 116, kicks, sending, contacts) is
the ordinary :class:`smartqq.Client`; this module adds three things at its
seams, all in :class:`_PollGate` (around its transport) / :class:`AccountRunner`:

* **Before every poll** the events of the previous poll are published and
  acknowledged by JetStream, and a changed session is written back to KV. The
  service forgets events once it has answered a poll, so the window in which a
  dying gateway can lose events is one publish round trip, and the next poll
  never starts while the previous batch is unsaved.
* **The lease gates the poll.** A poll starts only while the lease is valid;
  when the lease is lost mid-poll the request is aborted (after a short grace
  for an answer already on its way, which is then still published: the stream
  de-duplicates it) and the client ends with :class:`LeaseLost`.
* **Sends** come from the account's durable ``send_<qq>`` consumer in batches;
  each batch is split into one lane per chat (a chat's replies in order,
  chats in parallel). Each send is first marked ``pending`` in the results
  bucket; a send found ``pending`` after a takeover may have reached the
  service, so it is answered *uncertain* and never sent again (as 1202 is).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Coroutine
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import Error as JsError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from smartqq._tasks import cancel_and_wait
from smartqq.client import Client
from smartqq.client.qrcode import QRCode
from smartqq.client.session_store import save_session
from smartqq.errors import ClientClosedError, SmartQQError
from smartqq.events import Event, LifecycleEvent
from smartqq.models import SendResult, SendStatus
from smartqq.protocol.http import HttpRequest, HttpResponse
from smartqq.protocol.session import SessionState
from smartqq.transport import AsyncioTransport, Transport

from .codec import (
    PENDING,
    decode_send,
    encode_event,
    event_key,
    events_subject,
    is_pending,
    pending_mark,
    reply_target,
    result_error,
    result_key,
    result_ok,
    send_subject,
)
from .config import SEND_STREAM, Buckets, ClusterConfig
from .lease import Lease
from .pull import DurablePull

__all__ = ["AccountRunner", "LeaseLost", "NeedsLogin"]

log = logging.getLogger("smartqq.cluster.gateway")

REPLY_HEADER = "Smartqq-Reply-To"
_PUBLISH_BATCH = 64
_SEND_BATCH = 32
_RETRY_DELAY = 0.5
"""Seconds before a send request that met an unreachable results bucket comes back."""
_POLL_GRACE = 0.3
"""Seconds an in-flight poll may still finish after the lease is lost (its answer may be
on the wire already; aborting it would lose events the service counts as delivered)."""


class LeaseLost(ClientClosedError):
    """This gateway no longer holds the account.

    A :class:`ClientClosedError` because, to the account's client, it is exactly
    that: the poll loop ends as it does when the client is closed."""


class NeedsLogin(SmartQQError):
    """The stored session is dead and a gateway cannot show a QR code."""


def _refuse_qr(qr: QRCode) -> None:
    raise NeedsLogin("the stored session is no longer valid: log in and import it again")


class _PollGate:
    """A transport whose poll2 requests go through the runner's lease gate."""

    def __init__(self, inner: Transport, runner: AccountRunner) -> None:
        self.inner = inner
        self.runner = runner

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        response = self.inner.send(request, timeout=timeout)
        if request.endpoint != "poll2":
            return await response
        return await self.runner.guarded_poll(response)

    async def aclose(self) -> None:
        await self.inner.aclose()


class AccountRunner:
    """Serve one account while ``lease`` is held; :meth:`run` returns when it is not."""

    def __init__(
        self,
        qq: int,
        lease: Lease,
        nc: NATS,
        js: JetStreamContext,
        buckets: Buckets,
        config: ClusterConfig,
        *,
        workdir: str,
        base_url: str | None,
        send_interval: float,
        poll_timeout: float,
        default_hold: float = 60.0,
    ) -> None:
        self.qq = qq
        self.lease = lease
        self.nc = nc
        self.js = js
        self.buckets = buckets
        self.config = config
        self.workdir = workdir
        self.base_url = base_url
        self.send_interval = send_interval
        self.poll_timeout = poll_timeout
        self.client: Client | None = None
        self.published = 0
        self.sent = 0
        self.polls = 0
        self.lost_lease = False
        """True when serving ended because the lease was lost (not the session)."""
        self.serving = False
        """True from the client's start (session restored, poll loop running) to the end."""
        self.max_poll = 0.0
        """The longest poll seen (seconds, rounded up): about the service's hold."""
        self.default_hold = default_hold
        self._pending: list[tuple[str, bytes, str]] = []
        self._session_rev = 0
        self._session_doc: dict[str, Any] = {}
        self._session_json = ""
        self._sync_lock = asyncio.Lock()
        self._marks: dict[str, bytes] = {}
        """Result key -> this runner's ``pending`` mark, for marks whose write may be unseen."""

    # -- the poll gate -------------------------------------------------------------------

    async def guarded_poll(self, request: Coroutine[Any, Any, HttpResponse]) -> HttpResponse:
        try:
            await self.flush()  # even without the lease: the stream de-duplicates
            if self.lease.valid():
                await self.sync_session(poller=self.lease.owner)
            if not self.lease.valid():
                raise LeaseLost(f"lease on {self.qq} lost")
        except BaseException:
            request.close()
            raise
        self.polls += 1
        started = time.monotonic()
        task = asyncio.ensure_future(request)
        lost = asyncio.ensure_future(self.lease.lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                await asyncio.wait({task}, timeout=_POLL_GRACE)
            if task.done():
                response = task.result()
                # Rounded up to whole seconds so the stored value rarely changes.
                self.max_poll = max(self.max_poll, float(math.ceil(time.monotonic() - started)))
                return response
            task.cancel()
            await asyncio.wait({task})  # the aborted request's own error is not ours to raise
            raise LeaseLost(f"lease on {self.qq} lost during a poll")
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()

    def on_event(self, event: Event) -> None:
        """Every dispatched event, in order; polled ones are queued for publishing."""
        if isinstance(event, LifecycleEvent):
            return
        key = event_key(self.qq, event) or f"{self.qq}.{event.kind}.{uuid.uuid4().hex}"
        subject = events_subject(self.qq, event, self.config.partitions)
        self._pending.append((subject, encode_event(event), key))

    async def flush(self, *, give_up_after: float | None = None) -> None:
        """Publish queued events, pipelined, in order; retry through NATS trouble.

        The publishes of one batch are written back to back on the one connection
        (so the stream stores them in order) and their acknowledgements awaited
        together. After a failure everything from the first unacknowledged event
        on is published again: the ids make the repeats no-ops.
        """
        started = time.monotonic()
        while self._pending:
            batch = self._pending[:_PUBLISH_BATCH]
            acks = await asyncio.gather(
                *(
                    self.js.publish(subject, data, headers={"Nats-Msg-Id": key}, timeout=2.0)
                    for subject, data, key in batch
                ),
                return_exceptions=True,
            )
            done = 0
            for ack in acks:
                if isinstance(ack, BaseException):
                    break
                done += 1
            del self._pending[:done]
            self.published += done
            if done == len(batch):
                continue
            exc = next(a for a in acks if isinstance(a, BaseException))
            if not isinstance(exc, NatsError | JsError | OSError):
                raise exc
            if give_up_after is not None and time.monotonic() - started > give_up_after:
                log.error(
                    "account %d: %d events could not be published (%s)",
                    self.qq,
                    len(self._pending),
                    type(exc).__name__,
                )
                self._pending.clear()
                return
            log.info("account %d: publish failed (%s); retrying", self.qq, type(exc).__name__)
            await asyncio.sleep(0.2)

    # -- the session in KV -----------------------------------------------------------------

    async def load_session(self) -> SessionState | None:
        """The stored session, or None when it is marked dead."""
        entry = await self.buckets.sessions.get(str(self.qq))
        assert entry.value is not None
        doc = json.loads(entry.value)
        self._session_rev = entry.revision or 0
        self._session_doc = doc
        if doc.get("state", "active") != "active":
            return None
        state = SessionState.from_dict(doc["session"])
        self._session_json = json.dumps(state.to_dict(), sort_keys=True)
        return state

    async def sync_session(self, *, state_label: str = "active", poller: str | None = None) -> None:
        """Write the client's session back when it changed (fenced by the KV revision).

        Besides the session the document says who may have a poll in flight
        (``poller``: this gateway while it serves, None after a clean stop) and the
        longest poll seen (``poll_hold``): what a next holder must wait out.
        """
        async with self._sync_lock:  # the poll loop and run() both write; one at a time
            await self._sync_session(state_label, poller)

    async def _sync_session(self, state_label: str, poller: str | None) -> None:
        client = self.client
        if client is None or client.state is None:
            return
        now = json.dumps(client.state.to_dict(), sort_keys=True)
        hold = max(float(self._session_doc.get("poll_hold", 0.0)), self.max_poll)
        wanted = {"state": state_label, "poller": poller, "poll_hold": hold}
        if now == self._session_json and all(
            self._session_doc.get(k) == v for k, v in wanted.items()
        ):
            return
        doc = {**self._session_doc, "session": json.loads(now), **wanted}
        try:
            self._session_rev = await self.buckets.sessions.update(
                str(self.qq), json.dumps(doc).encode(), last=self._session_rev
            )
        except KeyWrongLastSequenceError:
            raise LeaseLost(f"session of {self.qq} was written by another gateway") from None
        self._session_doc = doc
        self._session_json = now

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> str:
        """Serve until the lease is lost or the session ends; returns why it stopped."""
        self.lease.start()
        reason = "stopped"
        send_task: asyncio.Task[None] | None = None
        path = os.path.join(self.workdir, f"{self.qq}.session")
        try:
            state = await self.load_session()
            if state is None:
                return "session marked dead"
            await self._wait_out_previous_poller()
            save_session(path, state)
            self.client = Client(
                transport=_PollGate(AsyncioTransport(self.base_url), self),
                session_file=path,
                profile=state.profile.name,
                on_qrcode=_refuse_qr,
                auto_relogin=False,
                send_interval=self.send_interval,
                poll_timeout=self.poll_timeout,
                poll_ahead=False,  # each batch is published before the next poll
            )
            self.client.add_handler(Event, self.on_event)
            await self.client.start()
            await self.sync_session(poller=self.lease.owner)
            self.serving = True
            send_task = asyncio.get_running_loop().create_task(
                self._send_loop(), name=f"smartqq-send:{self.qq}"
            )
            await self.client.run_until_disconnected()
            reason = "poll loop ended"
        except LeaseLost as exc:
            self.lost_lease = True
            reason = str(exc)
        except NeedsLogin as exc:
            reason = str(exc)
            await self._mark("needs-login")
        except SmartQQError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if not self.lease.lost.is_set():
                await self._mark("ended")
        finally:
            self.serving = False
            await cancel_and_wait(send_task)
            await self.flush(give_up_after=10.0)
            if self.client is not None:
                await self.client.close()  # no poll in flight from here on
                if not self.lost_lease and self.lease.valid():
                    # A clean stop: the next holder need not wait out our last poll.
                    with contextlib.suppress(LeaseLost, NatsError, JsError, OSError):
                        label = str(self._session_doc.get("state", "active"))
                        await self.sync_session(state_label=label, poller=None)
            await self.lease.release()
            with contextlib.suppress(OSError):
                os.unlink(path)
        return reason

    async def _wait_out_previous_poller(self) -> None:
        """Never two pollers: a holder that died or froze may still have a poll held
        by the service; it ends within one hold, which we wait out before polling."""
        if self._session_doc.get("poller") is None:
            return  # a clean handover (or never served)
        wait = float(self._session_doc.get("poll_hold") or self.default_hold)
        log.info("account %d: waiting %.1f s for the previous holder's last poll", self.qq, wait)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not self.lease.valid():
                raise LeaseLost(f"lease on {self.qq} lost while waiting")
            await asyncio.sleep(min(0.25, max(0.0, deadline - time.monotonic())))

    async def _mark(self, label: str) -> None:
        with contextlib.suppress(LeaseLost, NatsError, JsError, OSError):
            if self.client is not None and self.client.state is not None:
                await self.sync_session(state_label=label)
            else:
                doc = {**self._session_doc, "state": label}
                await self.buckets.sessions.update(
                    str(self.qq), json.dumps(doc).encode(), last=self._session_rev
                )

    # -- sending ---------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        durable = f"send_{self.qq}"
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.config.ack_wait,
            max_ack_pending=_SEND_BATCH,
        )
        pull = DurablePull(
            self.js, send_subject(self.qq), durable=durable, stream=SEND_STREAM, config=config
        )
        try:
            while self.lease.valid():
                msgs = await pull.fetch(_SEND_BATCH, timeout=1.0)
                if msgs:
                    await self._send_batch(msgs)
        finally:
            await pull.close()

    async def _send_batch(self, msgs: list[Msg]) -> None:
        """One lane per chat: a chat's replies go out in order, chats in parallel."""
        lanes: dict[tuple[str, int] | None, list[Msg]] = {}
        for msg in msgs:
            try:
                chat: tuple[str, int] | None = reply_target(decode_send(msg.data)[0])
            except (ValueError, KeyError, TypeError, SmartQQError):
                chat = None
            lanes.setdefault(chat, []).append(msg)

        async def lane(queue: list[Msg]) -> None:
            for i, msg in enumerate(queue):
                try:
                    await self._handle_send(msg)
                except _TryLater as exc:
                    # The rest of this chat waits too, so its replies stay in order.
                    log.info("account %d: results bucket unavailable (%s); retrying", self.qq, exc)
                    for later in queue[i:]:
                        with contextlib.suppress(NatsError, JsError, OSError):
                            await later.nak(delay=_RETRY_DELAY)
                    return
                except Exception:
                    # Never end the send loop: unacked, the request comes back after ack_wait.
                    log.exception("account %d: handling a send request failed", self.qq)

        await asyncio.gather(*(lane(q) for q in lanes.values()))

    async def _handle_send(self, msg: Msg) -> None:
        if not self.lease.valid():
            with contextlib.suppress(NatsError, JsError, OSError):
                await msg.nak()  # the next holder sends it
            return
        headers = msg.headers or {}
        send_id = headers.get("Nats-Msg-Id", "")
        rkey = result_key(send_id or uuid.uuid4().hex)
        reply = await self._send_once(msg.data, rkey)
        with contextlib.suppress(NatsError, JsError, OSError):
            await self.buckets.results.put(rkey, reply)
        inbox = headers.get(REPLY_HEADER)
        if inbox:
            with contextlib.suppress(NatsError, OSError):
                await self.nc.publish(inbox, reply, headers={"Nats-Msg-Id": send_id})
        with contextlib.suppress(NatsError, JsError, OSError):
            await msg.ack()

    async def _send_once(self, data: bytes, rkey: str) -> bytes:
        """Send one reply unless an earlier holder may have; the answer as result bytes.

        Raises :class:`_TryLater` when the results bucket cannot be reached: without
        the ``pending`` mark a send could be repeated after a takeover. The mark
        carries a token of this attempt, so a mark whose acknowledgement was lost is
        recognised as ours (written, nothing sent yet) when the request comes back.
        """
        try:
            event, content, font = decode_send(data)
        except (ValueError, KeyError, TypeError, SmartQQError) as exc:
            return result_error(f"unreadable send request ({type(exc).__name__})")
        mark = self._marks.get(rkey) or pending_mark()
        self._marks[rkey] = mark
        try:
            await self.buckets.results.create(rkey, mark)
        except KeyWrongLastSequenceError:
            try:
                earlier = (await self.buckets.results.get(rkey)).value or PENDING
            except KeyNotFoundError:
                earlier = PENDING
            except (NatsError, JsError, OSError) as exc:
                raise _TryLater(type(exc).__name__) from None
            if earlier != mark:
                del self._marks[rkey]
                if not is_pending(earlier):
                    return earlier
                kind, target = reply_target(event)
                log.warning("account %d: a send was in flight at takeover: uncertain", self.qq)
                uncertain = SendResult(
                    kind=kind, target=target, msg_ids=(), status=SendStatus.UNCERTAIN
                )
                return result_ok(uncertain)
        except (NatsError, JsError, OSError) as exc:
            raise _TryLater(type(exc).__name__) from None
        del self._marks[rkey]
        assert self.client is not None
        try:
            result = await self.client.reply_to(event, content, font=font)
        except SmartQQError as exc:
            return result_error(f"{type(exc).__name__}: {exc}")
        self.sent += 1
        return result_ok(result)


class _TryLater(Exception):
    """A send request must wait: the results bucket did not answer."""
