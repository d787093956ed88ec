"""Wire formats between gateways and workers, and the ids that make them idempotent.

* An event travels as ``{"poll_type": …, "value": …}`` — the same shape as one
  element of a poll2 answer — so a worker rebuilds it with
  :func:`smartqq.events.parse_event`; message content keeps its raw wire form.
* Its ``Nats-Msg-Id`` is the account plus the key the client de-duplicates
  polls with (``kind``, ``msg_id``, ``from_uin``): an event polled twice
  (a retried poll, a takeover) is stored once by the stream.
* Its chat picks one of ``partitions`` ordering partitions (a stable hash), the
  last subject token; one partition's events are handled one at a time, in
  order, so a chat's messages stay ordered across workers.
* A reply's ``Nats-Msg-Id`` is the handled event's id plus the reply's index
  within that handler run: a redelivered handler's replies are stored once and
  the gateway sends them once.
* Its outcome in the results bucket is ``pending`` (or ``pending:<attempt>``)
  while a gateway sends it, then ``{"ok": true, "result": …}`` or
  ``{"ok": false, "error": …}``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import zlib
from typing import Any

from smartqq.content import Content, Font
from smartqq.events import (
    DiscuMessage,
    Event,
    GroupMessage,
    MessageEvent,
    SessMessage,
    UnknownEvent,
    parse_event,
)
from smartqq.models import SendResult

__all__ = [
    "PENDING",
    "decode_event",
    "decode_send",
    "encode_event",
    "encode_send",
    "event_key",
    "events_subject",
    "is_pending",
    "parse_reply",
    "partition_of",
    "pending_mark",
    "result_error",
    "result_key",
    "result_ok",
    "send_subject",
]

_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def event_key(qq: int, event: Event) -> str | None:
    """The de-duplication key of a polled event, or None when it has no reliable id."""
    msg_id = getattr(event, "msg_id", None)
    if not isinstance(msg_id, int) or isinstance(msg_id, bool) or not msg_id:
        return None
    sender = getattr(event, "from_uin", 0)
    sender = sender if isinstance(sender, int) and not isinstance(sender, bool) else 0
    return f"{qq}.{event.kind}.{msg_id}.{sender}"


def chat_of(event: Event) -> str:
    """The chat an event belongs to (non-message events: their kind and sender)."""
    if isinstance(event, MessageEvent):
        kind, ident = event.chat_key
        return f"{kind}:{ident}"
    sender = getattr(event, "from_uin", None) or getattr(event, "uin", None) or 0
    return f"{event.kind}:{sender}"


def partition_of(qq: int, event: Event, partitions: int) -> int:
    return zlib.crc32(f"{qq}/{chat_of(event)}".encode()) % partitions


def events_subject(qq: int, event: Event, partitions: int) -> str:
    kind = _TOKEN.sub("_", event.kind) or "unknown"
    return f"smartqq.{qq}.events.{kind}.{partition_of(qq, event, partitions)}"


def send_subject(qq: int) -> str:
    return f"smartqq.{qq}.send"


def encode_event(event: Event) -> bytes:
    if isinstance(event, UnknownEvent):
        element = {"poll_type": event.type_name, "value": event.value}
        return json.dumps(element, ensure_ascii=False).encode()
    value: dict[str, Any] = event.model_dump(mode="json")
    content = getattr(event, "content", None)
    if isinstance(content, Content):
        value["content"] = content.raw if content.raw is not None else content.to_wire()
    return json.dumps({"poll_type": event.kind, "value": value}, ensure_ascii=False).encode()


def decode_event(data: bytes) -> Event:
    element = json.loads(data)
    if not isinstance(element, dict):
        raise ValueError("an event must be a JSON object")
    return parse_event(element)


def result_key(send_id: str) -> str:
    """A KV-safe key for a send id (ids carry dots and colons; keys want a short token)."""
    return hashlib.sha256(send_id.encode()).hexdigest()[:40]


def encode_send(event: MessageEvent, body: Content, font: Font | None) -> bytes:
    wire: dict[str, Any] = {
        "event": json.loads(encode_event(event)),
        "content": body.to_wire(font),
        "font": font is not None,
    }
    return json.dumps(wire, ensure_ascii=False).encode()


def decode_send(data: bytes) -> tuple[MessageEvent, Content, Font | None]:
    wire = json.loads(data)
    event = parse_event(wire["event"])
    if not isinstance(event, MessageEvent):
        raise ValueError(f"cannot reply to a {type(event).__name__}")
    content = Content.parse(wire["content"], strip_trailing_space=False)
    font = content.font if wire.get("font") else None
    return event, content, font


def encode_result(result: SendResult) -> bytes:
    return result.model_dump_json().encode()


def decode_result(data: bytes) -> SendResult:
    return SendResult.model_validate_json(data)


def reply_target(event: MessageEvent) -> tuple[str, int]:
    """(kind, id) a reply to ``event`` goes to; used in uncertain results."""
    if isinstance(event, GroupMessage):
        return "group", event.from_uin
    if isinstance(event, DiscuMessage):
        return "discu", event.did or event.from_uin
    if isinstance(event, SessMessage):
        return "sess", event.from_uin
    return "buddy", event.from_uin


# -- send outcomes in the results bucket ---------------------------------------------------

PENDING = b"pending"


def pending_mark() -> bytes:
    """A ``pending`` mark naming one send attempt (so its writer can recognise it)."""
    return PENDING + b":" + uuid.uuid4().hex.encode()


def is_pending(data: bytes) -> bool:
    return data == PENDING or data.startswith(PENDING + b":")


def result_ok(result: SendResult) -> bytes:
    return b'{"ok":true,"result":' + encode_result(result) + b"}"


def result_error(message: str) -> bytes:
    return json.dumps({"ok": False, "error": message}).encode()


def parse_reply(data: bytes) -> SendResult | str | None:
    """A result document: the SendResult, an error message, or None while pending."""
    if is_pending(data):
        return None
    doc = json.loads(data)
    if doc.get("ok"):
        return decode_result(json.dumps(doc["result"]).encode())
    return str(doc.get("error", "send failed"))
