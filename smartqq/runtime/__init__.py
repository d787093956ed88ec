"""The runtime both the SmartQQ client and the legacy clients share: event dispatch,
backoff, and (later) the start/close lifecycle. Nothing here speaks a protocol."""

from __future__ import annotations

from .backoff import Backoff
from .dispatch import Dispatcher, EventStream, HandlerRegistry

__all__ = ["Backoff", "Dispatcher", "EventStream", "HandlerRegistry"]
