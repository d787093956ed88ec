"""The test journal: what the emulator saw and did, for tests, benchmarks and the control API.

Records made on behalf of logged-in sessions (``sent``, ``delivered``, ``replies``) are
kept whole, since tests compare them. The per-Host counter is fed by strangers, so it is
capped: past :data:`MAX_HOSTS` distinct names, new ones are counted under ``"(other)"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Delivery", "Journal"]

MAX_HOSTS = 256
OTHER_HOSTS = "(other)"


@dataclass(slots=True)
class Delivery:
    token: str | None
    qq: int
    t: float


@dataclass
class Journal:
    polls: int = 0
    waiters: int = 0
    online_at: float | None = None
    poisoned: int = 0
    """Events dropped at poll time because they could not be encoded (should stay 0:
    content is validated when it is sent)."""
    injected: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[Delivery] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    sent_listeners: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    hosts: dict[str, int] = field(default_factory=dict)

    def count_host(self, host: str) -> None:
        hosts = self.hosts
        if host not in hosts and len(hosts) >= MAX_HOSTS:
            host = OTHER_HOSTS
        hosts[host] = hosts.get(host, 0) + 1

    def record_sent(self, record: dict[str, Any]) -> None:
        self.sent.append(record)
        for listener in list(self.sent_listeners):
            listener(record)
        self.replies.append(
            {"path": record["path"], "to": record["to"], "text": record["text"], "t": record["t"]}
        )

    def record_delivery(self, qq: int, tokens: list[str | None], now: float) -> None:
        for token in tokens:
            if token is not None:
                self.delivered.append(Delivery(token, qq, now))
