"""Putting a saved session (``Client.save_session``) into the cluster's sessions bucket."""

from __future__ import annotations

import json
import os

from smartqq.client.session_store import load_session

from .config import ClusterConfig, connect, ensure_jetstream

__all__ = ["import_session"]


async def import_session(
    path: str | os.PathLike[str], nats_url: str | list[str], config: ClusterConfig | None = None
) -> int:
    """Store the session file at ``path`` under its QQ number; returns the QQ number.

    Importing again replaces the stored session (and revives an account marked
    dead), so a gateway picks the new one up when it next takes the account.
    """
    state = load_session(path)
    nc = await connect(nats_url, "smartqq-import")
    try:
        buckets = await ensure_jetstream(nc.jetstream(), config or ClusterConfig())
        doc = {"version": 1, "state": "active", "session": state.to_dict()}
        await buckets.sessions.put(str(state.qq), json.dumps(doc).encode())
    finally:
        await nc.close()
    return state.qq
