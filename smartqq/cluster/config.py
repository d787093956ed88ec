"""Cluster settings and the idempotent creation of streams and key-value buckets.

Every gateway and worker calls :func:`ensure_jetstream` when it starts, so the
order in which processes come up does not matter. Existing streams are left as
they are (their settings are the cluster's settings: the first process to start
decides them, and an operator may change them with ``nats stream edit``); a
missing one is created with the values below. docs/cluster.md has the table.

Names (fixed; the docs and the external chaos run rely on them):

* ``SMARTQQ_EVENTS`` — subjects ``smartqq.<qq>.events.<kind>.<partition>``,
  work-queue retention (an event is deleted when a worker acks it), file
  storage, de-duplication window ``dedup_window`` (``Nats-Msg-Id`` = the
  event's de-duplication key), max age ``events_max_age``.
* ``SMARTQQ_SEND`` — subjects ``smartqq.<qq>.send``, work-queue retention,
  file storage, the same de-duplication window, max age ``send_max_age`` (a
  reply older than that is not worth sending any more).
* KV ``smartqq_sessions`` — key ``<qq>``: the saved session (JSON), history 1.
* KV ``smartqq_leases`` — key ``<qq>``: the holding gateway's name; the bucket
  TTL is the lease time, so an unrenewed lease disappears by itself.
* KV ``smartqq_results`` — key ``<send id>``: the :class:`SendResult` of a
  send (or ``pending`` while it is on the wire); TTL ``results_ttl`` >= the
  de-duplication window, so a redelivered reply finds its earlier result.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from smartqq.errors import SmartQQError, UsageError

__all__ = [
    "EVENTS_STREAM",
    "LEASES_BUCKET",
    "RESULTS_BUCKET",
    "SEND_STREAM",
    "SESSIONS_BUCKET",
    "Buckets",
    "ClusterConfig",
    "connect",
    "ensure_jetstream",
    "list_keys",
]

log = logging.getLogger("smartqq.cluster.nats")

EVENTS_STREAM = "SMARTQQ_EVENTS"
SEND_STREAM = "SMARTQQ_SEND"
SESSIONS_BUCKET = "smartqq_sessions"
LEASES_BUCKET = "smartqq_leases"
RESULTS_BUCKET = "smartqq_results"
PARTITIONS_KEY = "smartqq_partitions"


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """Settings shared by gateways and workers (defaults suit production)."""

    lease_ttl: float = 6.0
    """Seconds an unrenewed lease lives; takeover happens within this plus one poll."""
    partitions: int = 16
    """Per-chat ordering partitions: one durable consumer each, one event in flight each."""
    ack_wait: float = 10.0
    """Seconds before an unacked event is redelivered (a live worker extends it)."""
    replicas: int = 1
    """JetStream replicas of every stream and bucket (3 on the production cluster)."""
    memory: bool = False
    """Memory instead of file storage (benchmarks only: a server restart loses everything)."""
    dedup_window: float = 600.0
    events_max_age: float = 7 * 24 * 3600.0
    send_max_age: float = 3600.0
    results_ttl: float = 900.0
    send_timeout: float = 60.0
    """How long ``msg.reply`` in a worker waits for the gateway's answer."""

    def __post_init__(self) -> None:
        if self.lease_ttl < 1.0:
            raise UsageError("lease_ttl must be at least 1 second")
        if not 1 <= self.partitions <= 1024:
            raise UsageError("partitions must be between 1 and 1024")
        if self.ack_wait < 1.0 or self.send_timeout <= 0:
            raise UsageError("ack_wait must be >= 1 s and send_timeout > 0")
        if self.replicas not in (1, 3, 5):
            raise UsageError("replicas must be 1, 3 or 5")
        if self.results_ttl < self.dedup_window:
            raise UsageError("results_ttl must cover the de-duplication window")

    @property
    def renew_every(self) -> float:
        """A lease is renewed three times per TTL, so one lost renewal is harmless."""
        return self.lease_ttl / 3

    @property
    def storage(self) -> StorageType:
        return StorageType.MEMORY if self.memory else StorageType.FILE


@dataclass(frozen=True, slots=True)
class Buckets:
    sessions: KeyValue
    leases: KeyValue
    results: KeyValue
    partitions: int
    """The partition count stored with the events stream: gateways and workers must agree."""
    lease_ttl: float
    """The lease bucket's TTL (whoever created it decided)."""


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)


async def _ensure_bucket(js: JetStreamContext, config: KeyValueConfig) -> KeyValue:
    try:
        return await js.key_value(config.bucket)
    except BucketNotFoundError:
        return await js.create_key_value(config)


async def ensure_jetstream(js: JetStreamContext, cfg: ClusterConfig) -> Buckets:
    """Create what is missing (streams, buckets); return the buckets."""
    await _ensure_stream(
        js,
        StreamConfig(
            name=EVENTS_STREAM,
            description="smartqq events, one subject per account, kind and chat partition",
            subjects=["smartqq.*.events.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=cfg.storage,
            num_replicas=cfg.replicas,
            duplicate_window=cfg.dedup_window,
            max_age=cfg.events_max_age,
            discard=DiscardPolicy.OLD,
            metadata={PARTITIONS_KEY: str(cfg.partitions)},
        ),
    )
    await _ensure_stream(
        js,
        StreamConfig(
            name=SEND_STREAM,
            description="smartqq replies from workers, sent by the gateway holding the account",
            subjects=["smartqq.*.send"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=cfg.storage,
            num_replicas=cfg.replicas,
            duplicate_window=cfg.dedup_window,
            max_age=cfg.send_max_age,
            discard=DiscardPolicy.OLD,
        ),
    )

    def bucket(name: str, ttl: float | None) -> KeyValueConfig:
        return KeyValueConfig(
            bucket=name, history=1, ttl=ttl, storage=cfg.storage, replicas=cfg.replicas
        )

    sessions = await _ensure_bucket(js, bucket(SESSIONS_BUCKET, None))
    leases = await _ensure_bucket(js, bucket(LEASES_BUCKET, cfg.lease_ttl))
    results = await _ensure_bucket(js, bucket(RESULTS_BUCKET, cfg.results_ttl))
    events = await js.stream_info(EVENTS_STREAM)
    stored = (events.config.metadata or {}).get(PARTITIONS_KEY, "")
    partitions = int(stored) if stored.isdigit() and int(stored) > 0 else cfg.partitions
    lease_ttl = await lease_ttl_of(js) or cfg.lease_ttl
    return Buckets(sessions, leases, results, partitions, lease_ttl)


async def list_keys(js: JetStreamContext, bucket: str) -> set[str]:
    """Keys with a stored message (a deleted key shows until its marker ages out).

    One STREAM.INFO request: ``KeyValue.keys()`` creates a consumer per call, which
    the server keeps for a while; a gateway scanning every two seconds would pile
    them up.
    """
    prefix = f"$KV.{bucket}."
    info = await js.stream_info(f"KV_{bucket}", subjects_filter=prefix + ">")
    return {s.removeprefix(prefix) for s in (info.state.subjects or {})}


async def lease_ttl_of(js: JetStreamContext) -> float | None:
    """The lease TTL the cluster actually uses (the bucket's, whoever created it)."""
    try:
        info = await js.stream_info(f"KV_{LEASES_BUCKET}")
    except NotFoundError:
        return None
    return info.config.max_age


class ClusterUnavailable(SmartQQError):
    """No NATS server could be reached."""


async def _on_error(exc: Exception) -> None:
    # nats-py logs every failed reconnect with a traceback by default; one line is enough.
    log.warning("nats: %s", str(exc) or type(exc).__name__)


async def _on_disconnect() -> None:
    log.info("nats: disconnected")


async def _on_reconnect() -> None:
    log.info("nats: reconnected")


async def connect(servers: str | list[str], name: str, *, timeout: float = 10.0) -> NATS:
    """Connect (reconnecting forever once connected); fail after ``timeout`` at first."""
    try:
        return await asyncio.wait_for(
            nats.connect(
                servers,
                name=name,
                connect_timeout=2,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                error_cb=_on_error,
                disconnected_cb=_on_disconnect,
                reconnected_cb=_on_reconnect,
            ),
            timeout,
        )
    except (TimeoutError, OSError) as exc:
        where = servers if isinstance(servers, str) else ", ".join(servers)
        raise ClusterUnavailable(f"cannot reach NATS at {where}") from exc
