"""The emulator's web page: chat as any world account, confirm QR logins, steer faults.

``setup(app, emulator)`` mounts it on the emulator's aiohttp app (the emulator
calls it each time it builds its app, so it survives ``restart()``):

- ``/`` the chat page, ``/phone`` the phone (pending QR logins), ``/operator``
  the operator view; their files are package data in ``static/`` (plain HTML,
  CSS and JavaScript; no build step, nothing fetched from elsewhere);
- ``/_web/api/…`` a small JSON API plus two WebSockets (chat, journal).

The page talks to the emulator only through this API, never through the
SmartQQ endpoints: a person is a *world user* (the other side of the bot), who
has no SmartQQ session of their own. See ``docs/webui.md``.
"""

from __future__ import annotations

from aiohttp import WSCloseCode, web

from . import chat, ops, pages
from .http import HUB, enabled, middleware
from .hub import Hub, HubHolder, hub_for

__all__ = ["Hub", "hub_for", "setup"]


def setup(app: web.Application, emulator: HubHolder) -> None:
    """Mount the web page on ``app`` when the access rule allows it (loopback or a token)."""
    if not enabled(emulator):
        return
    hub = hub_for(emulator)
    app[HUB] = hub
    app.middlewares.insert(0, middleware(emulator, hub))
    app.add_routes(pages.routes() + chat.routes() + ops.routes())

    async def close_sockets(_app: web.Application) -> None:
        # Pages reconnect by themselves when the emulator is back (restart()).
        for ws in list(hub.sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"emulator stopping")

    app.on_shutdown.append(close_sockets)
