"""How requests reach a server: the :class:`Transport` seam and its implementations.

``AsyncioTransport`` (HTTP/1.1 on asyncio's own connections) is the client's default;
``AiohttpTransport`` is the only module on the client side that imports aiohttp.
"""

from __future__ import annotations

from ._aiohttp import AiohttpTransport
from ._asyncio import AsyncioTransport
from .base import Transport
from .body import BodyReader
from .mock import Handler, MockTransport

__all__ = [
    "AiohttpTransport",
    "AsyncioTransport",
    "BodyReader",
    "Handler",
    "MockTransport",
    "Transport",
]
