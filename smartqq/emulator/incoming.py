"""The :class:`~smartqq.emulator.http.EmuRequest` of one aiohttp request, built once.

The web page's journal (``webui``) reads a request's form to name its account before
the service handles it; the service then reads the same form. Both take the value
kept on the aiohttp request by :func:`emu_request`, so the body is parsed once (and
``r`` decoded once, see :func:`~smartqq.emulator.http.read_r`) per request.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .http import EmuRequest

__all__ = ["emu_request"]

# aiohttp 3.14 added typed request keys and warns on plain strings; older ones have none.
_KEY: Any = (
    web.RequestKey("smartqq_emulator_request", EmuRequest)
    if hasattr(web, "RequestKey")
    else "smartqq_emulator_request"
)


async def emu_request(request: web.Request) -> EmuRequest:
    """The request as the service sees it; the body is read (once) here."""
    built = request.get(_KEY)
    if isinstance(built, EmuRequest):
        return built
    body = await request.read() if request.body_exists else b""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    built = EmuRequest.build(
        request.method,
        request.path,
        request.query_string,
        body,
        request.headers,
        peer=(str(peer[0]), int(peer[1])) if peer else None,
        alive=lambda: transport is not None and not transport.is_closing(),
    )
    request[_KEY] = built
    return built
