"""What the transports need from the server, as protocols (so they never import it back).

Design note: the WebSocket, HTTP and POST modules are given the server; typing
them against these protocols instead of ``OneBotServer`` keeps the import graph
a tree (``server`` imports the transports, never the other way round).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .actions import Actions
    from .config import OneBotConfig
    from .convert import Converter

__all__ = ["Hub", "Sink"]


class Sink(Protocol):
    """Something events are handed to: a WebSocket connection or a POST reporter."""

    def push(self, event: dict[str, Any], text: str) -> None: ...


class Hub(Protocol):
    config: OneBotConfig
    conv: Converter
    actions: Actions
    sinks: set[Sink]

    def track(self, conn: Any) -> None: ...

    def untrack(self, conn: Any) -> None: ...
