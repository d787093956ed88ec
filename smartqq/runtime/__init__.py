"""The runtime both the SmartQQ client and the legacy clients share: event dispatch
(routers, filters, commands, middleware, per-chat workers), backoff, and the
bot lifecycle (hooks, ``stop()``, ``run()``, plugins, ``ask``). Nothing here
speaks a protocol."""

from __future__ import annotations

from .backoff import Backoff
from .commands import CommandCall
from .dispatch import Dispatcher, EventStream
from .lifecycle import BotRuntime
from .middleware import ErrorHook, RateLimit, drop_self_echo
from .plugins import PluginError
from .registry import HandlerRegistry
from .router import Router

__all__ = [
    "Backoff",
    "BotRuntime",
    "CommandCall",
    "Dispatcher",
    "ErrorHook",
    "EventStream",
    "HandlerRegistry",
    "PluginError",
    "RateLimit",
    "Router",
    "drop_self_echo",
]
