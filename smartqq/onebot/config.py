"""Options of a OneBot v11 server (the CLI flags and ``OneBotServer`` keywords).

Design note: one frozen value, validated once, shared by every transport. The
endpoints combine freely: any number of reverse WebSocket and HTTP POST URLs,
at most one forward WebSocket and one HTTP API listener (they may share a
port: both are served by the same application then).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from yarl import URL

from smartqq.errors import UsageError

__all__ = ["OneBotConfig", "parse_hostport"]

MessageFormat = Literal["array", "string"]
DiscussAs = Literal["group", "discuss"]


def parse_hostport(value: str, *, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (loopback unless a host is given)."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "", value
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        raise UsageError(f"{value!r} is not HOST:PORT") from None
    if not 0 <= number <= 65535:
        raise UsageError(f"port {number} is out of range")
    return host, number


def _check_url(url: str, schemes: tuple[str, ...], what: str) -> str:
    try:
        parsed = URL(url)
    except ValueError:
        raise UsageError(f"{what} {url!r} is not a URL") from None
    if parsed.scheme not in schemes or not parsed.host:
        raise UsageError(f"{what} {url!r} must be a {' or '.join(schemes)} URL")
    return url


@dataclass(frozen=True)
class OneBotConfig:
    access_token: str | None = None
    secret: str | None = None
    ws_reverse: tuple[str, ...] = ()
    ws: tuple[str, int] | None = None
    http: tuple[str, int] | None = None
    post_urls: tuple[str, ...] = ()
    heartbeat_ms: int = 15000
    reconnect_interval_ms: int = 3000
    message_format: MessageFormat = "array"
    discuss_as: DiscussAs = "group"
    post_timeout: float = 30.0
    rate_limit_interval: float = 0.5
    message_store_size: int = 5000
    app_name: str = field(default="smartqq-onebot")

    def __post_init__(self) -> None:
        for url in self.ws_reverse:
            _check_url(url, ("ws", "wss"), "--ws-reverse")
        for url in self.post_urls:
            _check_url(url, ("http", "https"), "--post-url")
        if self.heartbeat_ms < 0:
            raise UsageError("--heartbeat must be 0 (off) or a positive number of milliseconds")
        if self.reconnect_interval_ms <= 0:
            raise UsageError("--reconnect-interval must be a positive number of milliseconds")
        if self.message_format not in ("array", "string"):
            raise UsageError("--message-format must be array or string")
        if self.discuss_as not in ("group", "discuss"):
            raise UsageError("--discuss-as must be group or discuss")
        if self.message_store_size < 1:
            raise UsageError("message_store_size must be positive")
        if self.access_token == "":
            object.__setattr__(self, "access_token", None)
        if self.secret == "":
            object.__setattr__(self, "secret", None)

    def __repr__(self) -> str:
        # The token and the secret never reach logs or reprs.
        return (
            f"OneBotConfig(ws_reverse={list(self.ws_reverse)}, ws={self.ws}, http={self.http}, "
            f"post_urls={list(self.post_urls)}, token={'set' if self.access_token else 'none'}, "
            f"secret={'set' if self.secret else 'none'})"
        )
