"""Narrow units of the aiohttp boundary, with aioresponses standing in for the network."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from smartqq.client.session import exchange
from smartqq.errors import ConnectError, NetworkError, RequestTimeout
from smartqq.protocol.http import CookieJar, HttpRequest
from smartqq.transport import AiohttpTransport


class Response(aiohttp.ClientResponse):
    """aiohttp 3.14 made ``stream_writer`` required and aioresponses 0.7.9 does not pass it
    (pnuckowski/aioresponses#289); a finished upload only needs its ``output_size``."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


POLL = HttpRequest(
    "POST",
    "https://d1.web2.qq.com/channel/poll2",
    form=(("r", '{"clientid":53999199}'),),
    headers=(("Referer", "https://d1.web2.qq.com/proxy.html?v=20151105001"),),
    endpoint="poll2",
)


async def test_without_base_url_the_real_host_is_requested_with_our_cookies() -> None:
    transport = AiohttpTransport()
    jar = CookieJar()
    jar.set("ptwebqq", "abc", "qq.com")
    seen: dict[str, Any] = {}

    def reply(url: URL, **kwargs: Any) -> CallbackResult:
        seen.update(kwargs, url=url)
        return CallbackResult(
            status=200,
            body='{"retcode":0,"result":[]}',
            headers={"Set-Cookie": "skey=@x1; Domain=qq.com; Path=/"},
            response_class=Response,
        )

    try:
        with aioresponses() as mocked:
            mocked.post("https://d1.web2.qq.com/channel/poll2", callback=reply)
            # The session's exchange adds the jar's cookies; the transport keeps none.
            resp = await exchange(transport, POLL, jar)
    finally:
        await transport.aclose()
    assert resp.status == 200
    assert resp.body == b'{"retcode":0,"result":[]}'
    assert str(seen["url"]) == "https://d1.web2.qq.com/channel/poll2"
    assert seen["headers"]["Cookie"] == "ptwebqq=abc"
    assert "Host" not in seen["headers"]  # aiohttp derives it from the real URL
    assert seen["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert seen["data"] == POLL.form_body()
    assert seen["allow_redirects"] is False
    assert jar.get("skey") == "@x1"


async def test_base_url_redirects_the_connection_and_keeps_the_host() -> None:
    transport = AiohttpTransport("http://127.0.0.1:9")
    seen: dict[str, Any] = {}
    req = HttpRequest(
        "GET",
        "https://s.web2.qq.com/api/getvfwebqq",
        query=(("ptwebqq", ""), ("clientid", "53999199")),
        endpoint="getvfwebqq",
    )

    def reply(url: URL, **kwargs: Any) -> CallbackResult:
        seen.update(kwargs, url=url)
        return CallbackResult(status=200, body="{}", response_class=Response)

    try:
        with aioresponses() as mocked:
            mocked.get(
                "http://127.0.0.1:9/api/getvfwebqq?ptwebqq=&clientid=53999199", callback=reply
            )
            await transport.send(req)
    finally:
        await transport.aclose()
    assert seen["headers"]["Host"] == "s.web2.qq.com"
    assert seen["url"].path == "/api/getvfwebqq"
    assert seen["url"].query["clientid"] == "53999199"


@pytest.mark.parametrize(
    ("raised", "expected", "message"),
    [
        (
            aiohttp.ClientConnectorError(
                aiohttp.client_reqrep.ConnectionKey(
                    "d1.web2.qq.com", 443, True, None, None, None, None
                ),
                OSError(111, "Connection refused"),
            ),
            ConnectError,
            "cannot connect for poll2: Connection refused",
        ),
        (TimeoutError(), RequestTimeout, "poll2 timed out after 5s"),
        (aiohttp.ServerDisconnectedError(), NetworkError, "poll2 failed: ServerDisconnectedError"),
        (aiohttp.ClientPayloadError("bad"), NetworkError, "poll2 failed: ClientPayloadError"),
    ],
)
async def test_aiohttp_errors_become_smartqq_errors(
    raised: Exception, expected: type[Exception], message: str
) -> None:
    transport = AiohttpTransport()
    try:
        with aioresponses() as mocked:
            mocked.post("https://d1.web2.qq.com/channel/poll2", exception=raised)
            with pytest.raises(expected) as info:
                await transport.send(POLL, timeout=5)
    finally:
        await transport.aclose()
    assert str(info.value) == message
    # aiohttp's exception quotes the URL and headers (session secrets): never chained.
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


async def test_the_session_is_created_lazily_and_closed_once() -> None:
    transport = AiohttpTransport()
    assert transport._session is None
    session = transport._client()
    assert transport._client() is session
    await transport.aclose()
    assert session.closed
    assert transport._session is None
    await transport.aclose()  # idempotent
