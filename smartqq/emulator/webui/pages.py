"""The page files (package data under ``static/``), served as they are: no build step."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

__all__ = ["routes"]

_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "application/javascript",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
_PAGES = {"/": "index.html", "/phone": "phone.html", "/operator": "operator.html"}
# The pages load only their own files: an injected <script> could not run anyway.
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_cache: dict[str, bytes] = {}


def _read(name: str) -> bytes | None:
    if name not in _cache:
        path = resources.files(__package__).joinpath("static", name)
        if not path.is_file():
            return None
        _cache[name] = path.read_bytes()
    return _cache[name]


def _file(name: str) -> web.Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    body = _read(name) if suffix in _TYPES and "/" not in name and ".." not in name else None
    if body is None:
        raise web.HTTPNotFound()
    return web.Response(
        body=body,
        content_type=_TYPES[suffix],
        charset="utf-8" if suffix != ".png" else None,
        headers={
            "Content-Security-Policy": _CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )


async def page(request: web.Request) -> web.Response:
    return _file(_PAGES[request.path])


async def static(request: web.Request) -> web.Response:
    return _file(request.match_info["name"])


def routes() -> list[web.RouteDef]:
    return [
        *(web.get(path, page) for path in _PAGES),
        web.get("/_web/static/{name}", static),
    ]
