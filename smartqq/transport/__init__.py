"""How requests reach a server: the :class:`Transport` seam and its implementations.

``AiohttpTransport`` is the only module on the client side that imports aiohttp.
"""

from __future__ import annotations

from ._aiohttp import AiohttpTransport
from .base import Transport
from .body import BodyReader
from .mock import Handler, MockTransport

__all__ = ["AiohttpTransport", "BodyReader", "Handler", "MockTransport", "Transport"]
