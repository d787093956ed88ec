"""The asyncio client: :class:`Client` and what it hands to callbacks."""

from __future__ import annotations

from smartqq.runtime.backoff import Backoff

from .client import Client
from .contacts import Contacts
from .qrcode import QRCode
from .session_store import load_session, save_session

__all__ = ["Backoff", "Client", "Contacts", "QRCode", "load_session", "save_session"]
