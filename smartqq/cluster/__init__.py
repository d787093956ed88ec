"""smartqq.cluster — gateways and workers on NATS JetStream (``pip install smartqq[cluster]``).

Gateways own SmartQQ sessions (one gateway polls an account at a time, through a
lease in a key-value bucket) and publish events to a stream; workers run bot
handlers on them and send replies back through the gateway holding the account.
docs/cluster.md describes the design, the settings and the production shape.
"""

from __future__ import annotations

from .app import Handlers, load_app
from .config import ClusterConfig
from .gateway import Gateway
from .importer import import_session
from .worker import NatsReplier, RemoteSendError, Worker

__all__ = [
    "ClusterConfig",
    "Gateway",
    "Handlers",
    "NatsReplier",
    "RemoteSendError",
    "Worker",
    "import_session",
    "load_app",
]
