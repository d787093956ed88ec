"""Small helpers shared by the emulator's handlers: answers, cookies, request reading."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .state import Service

__all__ = ["SERVICE", "add_cookie", "form_r", "int_param", "js", "jsonr", "param", "service"]

SERVICE = web.AppKey("service", Service)


def service(request: web.Request) -> Service:
    return request.app[SERVICE]


def jsonr(obj: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(obj, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def js(text: str) -> web.Response:
    return web.Response(text=text, content_type="application/javascript", charset="utf-8")


def add_cookie(
    resp: web.StreamResponse, name: str, value: str, domain: str, *, max_age: int | None = None
) -> None:
    """One Set-Cookie per name/domain/path, written as the real service did
    (an empty value is ``name=;``, never ``name=""``)."""
    extra = f"; Max-Age={max_age}" if max_age is not None else ""
    resp.headers.add("Set-Cookie", f"{name}={value}; Domain={domain}; Path=/{extra}")


async def form_r(request: web.Request) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(``r`` as JSON or None, all form/query fields). Lenient: ``r`` may also be in the query."""
    fields: dict[str, str] = {k: v for k, v in request.query.items()}
    if request.method == "POST":
        try:
            post = await request.post()
        except ValueError:
            post = None
        if post is not None:
            fields.update({k: v for k, v in post.items() if isinstance(v, str)})
    raw = fields.get("r")
    if raw is None:
        return None, fields
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None, fields
    return (value if isinstance(value, dict) else None), fields


def param(request: web.Request, name: str, default: str = "") -> str:
    return request.query.get(name, default)


def int_param(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
