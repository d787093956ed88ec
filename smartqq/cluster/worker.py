"""``smartqq.cluster.Worker``: run bot handlers on events from the stream.

Consumption: one durable pull consumer per ordering partition (``events_p<n>``,
or ``events_<set>_p<n>`` for a worker group serving only some accounts), each
with ``max_ack_pending=1``. Every worker pulls from every partition; the server
hands each event to exactly one of them and hands out a partition's next event
only after the previous one was acked. A chat always maps to the same
partition, so its messages are handled one at a time in arrival order, across
any number of workers; different chats run in parallel (up to ``concurrency``
handlers per worker, and at most ``partitions`` events cluster-wide).

An event is acked after all its handlers finished (a handler's exception goes
to the error hook, as in a single-process bot). While handlers run the worker
tells the server it is still working (``in_progress``) every ``ack_wait / 3``;
a worker that dies stops doing so and the event is redelivered to another
worker after ``ack_wait``.

Replies: events are bound to a :class:`NatsReplier`, so ``msg.reply(...)``
works unchanged. A reply is published to ``smartqq.<qq>.send`` with
``Nats-Msg-Id = <event id>.r<index>`` (the index counts the handler run's
replies), so a redelivered handler's replies are de-duplicated by the stream
and answered from the results bucket instead of being sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import Error as JsError
from nats.js.errors import KeyNotFoundError

from smartqq._tasks import cancel_and_wait
from smartqq.content import Content, Font, Segment
from smartqq.errors import SmartQQError, UsageError
from smartqq.events import MessageEvent, Replier
from smartqq.models import SendResult

from .account import REPLY_HEADER
from .app import ErrorHook, dispatcher_for, run_handlers
from .codec import decode_event, encode_send, parse_reply, result_key, send_subject
from .config import EVENTS_STREAM, Buckets, ClusterConfig, connect, ensure_jetstream
from .pull import DurablePull

__all__ = ["NatsReplier", "RemoteSendError", "Worker"]

log = logging.getLogger("smartqq.cluster.worker")


class RemoteSendError(SmartQQError):
    """The gateway could not send a reply (the message says why), or did not answer."""


@dataclass(slots=True)
class _Handling:
    key: str
    qq: int
    replies: int = 0


_current: ContextVar[_Handling | None] = ContextVar("smartqq_cluster_handling", default=None)
"""The event a handler task was started for (tasks inherit it from the dispatch)."""


class NatsReplier:
    """The :class:`smartqq.events.Replier` of events handled by a worker."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self.handling: dict[int, _Handling] = {}
        self._waiting: dict[str, asyncio.Future[bytes]] = {}

    def on_result(self, send_id: str, data: bytes) -> None:
        fut = self._waiting.get(send_id)
        if fut is not None and not fut.done():
            fut.set_result(data)

    async def reply_to(
        self,
        event: MessageEvent,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        font: Font | None = None,
    ) -> SendResult:
        ctx = self.handling.get(id(event)) or _current.get()
        if ctx is None:
            raise UsageError("this event is not being handled by this worker any more")
        index = ctx.replies
        ctx.replies += 1
        body = Content.coerce(content)
        if not body.text.strip() and not any(not hasattr(s, "text") for s in body.segments):
            raise UsageError("refusing to send an empty message")
        send_id = f"{ctx.key}.r{index}"
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[send_id] = fut
        try:
            return await self._worker.send(ctx.qq, send_id, encode_send(event, body, font), fut)
        finally:
            self._waiting.pop(send_id, None)

    async def ask(
        self,
        event: MessageEvent,
        content: str | Content | Segment | Sequence[str | Segment],
        *,
        timeout: float | None = None,
    ) -> MessageEvent:
        # The chat's next message is held behind this one (one event in flight per
        # partition), so waiting for it here would wait forever.
        raise UsageError(
            "msg.ask is not available in a cluster worker: keep the conversation state "
            "in your own store and answer each message as it comes"
        )

    async def display_name_for(self, event: MessageEvent) -> str:
        # Contact lists live with the session in the gateway; a worker names senders by uin.
        return str(event.sender_uin)


def _as_replier(replier: NatsReplier) -> Replier:
    return replier  # mypy checks here that NatsReplier satisfies the Replier protocol


class Worker:
    """Consume events of ``accounts`` (None: all) and run ``app``'s handlers."""

    def __init__(
        self,
        nats_url: str | list[str],
        app: Any,
        *,
        accounts: Iterable[int] | None = None,
        concurrency: int = 8,
        config: ClusterConfig | None = None,
        on_error: ErrorHook | None = None,
    ) -> None:
        if concurrency < 1:
            raise UsageError("concurrency must be >= 1")
        self.nats_url = nats_url
        self.accounts = None if accounts is None else sorted(set(accounts))
        self.concurrency = concurrency
        self.config = config or ClusterConfig()
        self.replier = NatsReplier(self)
        self.root = dispatcher_for(app, self.replier, on_error)
        self.handled = 0
        self.redelivered = 0
        self._sem = asyncio.Semaphore(concurrency)
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._buckets: Buckets | None = None
        self._inbox = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._busy: set[asyncio.Task[Any]] = set()
        self._stopping = False

    def __repr__(self) -> str:
        which = "all" if self.accounts is None else ",".join(map(str, self.accounts))
        return f"<smartqq.cluster.Worker accounts={which} handled={self.handled}>"

    def _consumer(self, partition: int) -> tuple[str, list[str]]:
        if self.accounts is None:
            return f"events_p{partition}", [f"smartqq.*.events.*.{partition}"]
        digest = hashlib.sha256(",".join(map(str, self.accounts)).encode()).hexdigest()[:10]
        subjects = [f"smartqq.{qq}.events.*.{partition}" for qq in self.accounts]
        return f"events_{digest}_p{partition}", subjects

    async def start(self) -> None:
        self._nc = await connect(self.nats_url, "smartqq-worker")
        self._js = self._nc.jetstream()
        self._buckets = await ensure_jetstream(self._js, self.config)
        self.config = replace(self.config, partitions=self._buckets.partitions)
        self._inbox = self._nc.new_inbox()
        await self._nc.subscribe(self._inbox, cb=self._on_result)
        loop = asyncio.get_running_loop()
        for p in range(self.config.partitions):
            self._tasks.append(loop.create_task(self._pull(p), name=f"smartqq-worker-p{p}"))

    async def _on_result(self, msg: Msg) -> None:
        send_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        self.replier.on_result(send_id, msg.data)

    async def _pull(self, partition: int) -> None:
        assert self._js is not None
        durable, subjects = self._consumer(partition)
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.config.ack_wait,
            max_ack_pending=1,
            max_deliver=-1,
            filter_subjects=subjects if len(subjects) > 1 else None,
        )
        pull = DurablePull(
            self._js, subjects[0], durable=durable, stream=EVENTS_STREAM, config=config
        )
        try:
            while not self._stopping:
                msgs = await pull.fetch(1, timeout=5.0)
                for msg in msgs:
                    async with self._sem:
                        # Shielded: stop() cancels idle pulls at once but lets handlers finish.
                        task = asyncio.ensure_future(self._handle(msg))
                        self._busy.add(task)
                        try:
                            await asyncio.shield(task)
                        except Exception:
                            # A bug of ours, not a handler's (those go to the error hook): the
                            # event stays unacked and is redelivered; the partition goes on.
                            log.exception("worker: handling %s failed", msg.subject)
                        finally:
                            self._busy.discard(task)
        finally:
            await pull.close()

    async def _handle(self, msg: Msg) -> None:
        headers = msg.headers or {}
        key = headers.get("Nats-Msg-Id") or f"{msg.subject}.{msg.metadata.sequence.stream}"
        qq = int(msg.subject.split(".")[1])
        if msg.metadata.num_delivered > 1:
            self.redelivered += 1
        try:
            event = decode_event(msg.data)
        except (ValueError, UnicodeDecodeError) as exc:
            # Not ours to retry: it would come back forever and block its partition.
            log.error("worker: dropping an unreadable event on %s (%s)", msg.subject, exc)
            with contextlib.suppress(NatsError, JsError, OSError):
                await msg.term()
            return
        ctx = self.replier.handling[id(event)] = _Handling(key, qq)
        token = _current.set(ctx)
        beat = asyncio.get_running_loop().create_task(self._heartbeat(msg))
        try:
            await run_handlers(self.root, event)
        finally:
            _current.reset(token)
            beat.cancel()
            self.replier.handling.pop(id(event), None)
        try:
            await msg.ack_sync(timeout=5.0)
        except (NatsError, JsError, OSError) as exc:
            # Not acked: it comes back and the handlers run again; their replies are
            # de-duplicated by id, so the chat still sees each reply once.
            log.warning("worker: ack failed (%s); the event will be redelivered", exc)
            return
        self.handled += 1

    async def _heartbeat(self, msg: Msg) -> None:
        while True:
            await asyncio.sleep(self.config.ack_wait / 3)
            with contextlib.suppress(NatsError, JsError, OSError):
                await msg.in_progress()

    async def send(
        self, qq: int, send_id: str, data: bytes, fut: asyncio.Future[bytes]
    ) -> SendResult:
        """Publish one reply and wait for the gateway's answer (or an earlier one)."""
        assert self._js is not None
        assert self._buckets is not None
        deadline = time.monotonic() + self.config.send_timeout
        headers = {"Nats-Msg-Id": send_id, REPLY_HEADER: self._inbox}
        while True:
            try:
                await self._js.publish(send_subject(qq), data, headers=headers, timeout=2.0)
                break
            except (NatsError, JsError, OSError) as exc:
                if time.monotonic() > deadline:
                    raise RemoteSendError(f"cannot queue the reply: {exc}") from None
                await asyncio.sleep(0.2)
        rkey = result_key(send_id)
        while time.monotonic() < deadline:
            try:
                answer: bytes | None = await asyncio.wait_for(asyncio.shield(fut), 1.0)
            except TimeoutError:
                answer = await self._stored(rkey)
            if answer is not None:
                outcome = parse_reply(answer)
                if isinstance(outcome, SendResult):
                    return outcome
                if isinstance(outcome, str):
                    raise RemoteSendError(outcome)
        raise RemoteSendError(f"no answer from a gateway within {self.config.send_timeout:g} s")

    async def _stored(self, rkey: str) -> bytes | None:
        assert self._buckets is not None
        try:
            return (await self._buckets.results.get(rkey)).value
        except (KeyNotFoundError, NatsError, JsError, OSError):
            return None

    async def stop(self) -> None:
        """Stop pulling, let running handlers finish (their events are acked), disconnect."""
        self._stopping = True
        busy = set(self._busy)
        await cancel_and_wait(*self._tasks)
        if busy:
            # Unfinished events are redelivered to another worker; don't hang on a dead NATS.
            await asyncio.wait(busy, timeout=min(self.config.ack_wait, 10.0))
            await cancel_and_wait(*busy)
        if self._nc is not None:
            with contextlib.suppress(NatsError, OSError):
                await self._nc.close()

    async def __aenter__(self) -> Worker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
