"""The client over MockTransport: no sockets, a scripted service (tests/client/scripted.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from smartqq import BuddyMessage, Disconnected, Reconnected, UnknownEvent
from smartqq.client.session import exchange
from smartqq.errors import (
    NetworkError,
    ProtocolError,
    RequestTimeout,
    ResponseTooLarge,
    SmartQQError,
    UsageError,
)
from smartqq.events import Event
from smartqq.protocol.http import CookieJar, HttpRequest, HttpResponse
from smartqq.testing import until
from smartqq.transport import AiohttpTransport, MockTransport, Transport

from .scripted import FRIEND, Scripted, message, ok, scripted_client

REQ = HttpRequest("GET", "https://s.web2.qq.com/api/x", endpoint="x")


async def test_a_sync_or_async_handler_answers_and_the_cap_is_honoured() -> None:
    sync = MockTransport(lambda request: HttpResponse(200, b"x" * 10))

    async def handler(request: HttpRequest) -> HttpResponse:
        return HttpResponse(201, request.url.encode())

    asynchronous = MockTransport(handler)
    assert isinstance(sync, Transport)
    assert isinstance(asynchronous, Transport)
    assert (await sync.send(REQ)).body == b"x" * 10
    assert (await asynchronous.send(REQ)).status == 201
    with pytest.raises(ResponseTooLarge) as info:
        await sync.send(HttpRequest("GET", REQ.url, endpoint="x", max_bytes=9))
    assert info.value.limit == 9
    assert next(iter(sync.requests)) is REQ
    await sync.aclose()
    with pytest.raises(NetworkError):
        await sync.send(REQ)


async def test_cookies_belong_to_the_session_jar_and_unsendable_ones_are_dropped() -> None:
    def handler(request: HttpRequest) -> HttpResponse:
        return HttpResponse(
            200,
            b"",
            (("Set-Cookie", "skey=@abc; Domain=qq.com; Path=/"), ("Set-Cookie", "x=1")),
        )

    transport = MockTransport(handler)
    jar = CookieJar()
    with pytest.raises(ProtocolError):  # the jar refuses what a header cannot carry
        jar.set("evil", "a\r\nInjected: yes", "qq.com")
    jar.set("ptwebqq", "p" * 8, "qq.com")
    await exchange(transport, REQ, jar)
    assert jar.get("skey") == "@abc"
    second = await exchange(transport, REQ, jar)
    assert second.status == 200
    header = transport.requests[-1].header("Cookie") or ""
    assert "skey=@abc" in header
    assert "ptwebqq=pppppppp" in header
    assert "\r" not in header
    assert "evil" not in header


async def test_a_malformed_redirect_url_is_a_typed_error() -> None:
    # Fails while the URL is read, before any connection: no server needed.
    transport = AiohttpTransport()
    try:
        for url in ("http://[::1/x", "http://exa mple.com:99999/", "http://\udc80.com/"):
            with pytest.raises(SmartQQError):
                await exchange(
                    transport, HttpRequest("GET", url, endpoint="check_sig"), CookieJar()
                )
    finally:
        await transport.aclose()


def recorder(client: object, *types: type[Event]) -> list[Event]:
    seen: list[Event] = []
    for etype in types:
        client.add_handler(etype, seen.append)  # type: ignore[attr-defined]
    return seen


async def test_a_hostile_element_costs_only_itself_and_polling_goes_on(tmp_path: Path) -> None:
    service = Scripted()
    client = scripted_client(service, tmp_path)
    seen = recorder(client, BuddyMessage, UnknownEvent)
    infinity = message(1, "inf")
    infinity["value"]["content"] = [["font", {"size": float("inf")}], "inf"]
    deep = message(2, "x")
    deep["value"]["content"] = "[" * 100_000 + "]" * 100_000
    async with client:
        body = json.dumps({"retcode": 0, "result": [message(3, "good"), deep, infinity]})
        service.polls.put_nowait(HttpResponse(200, body.encode()))
        service.batch(message(4, "next poll"))
        await until(lambda: any(getattr(e, "text", "") == "next poll" for e in seen))
    delivered = [e for e in seen if isinstance(e, BuddyMessage)]
    # Infinity in a font is read as a usable font; 100k-deep content costs only its element.
    assert [e.text for e in delivered] == ["inf", "good", "next poll"]
    assert all(math.isfinite(e.content.font.size) for e in delivered)
    assert [e.msg_id for e in delivered] == [1, 3, 4]
    unknown = [e for e in seen if isinstance(e, UnknownEvent)]
    assert len(unknown) == 1
    assert unknown[0].type_name == "message"
    assert client.stats.events == 4


async def test_an_oversized_poll_answer_is_dropped_and_polling_backs_off_and_continues(
    tmp_path: Path,
) -> None:
    service = Scripted()
    client = scripted_client(service, tmp_path, max_response_bytes=4096)
    seen = recorder(client, BuddyMessage, Disconnected, Reconnected)
    async with client:
        service.polls.put_nowait(ok([message(1, "y" * 10_000)]))
        service.batch(message(2, "small"))
        await until(lambda: any(isinstance(e, BuddyMessage) for e in seen))
    assert [type(e).__name__ for e in seen] == ["Disconnected", "Reconnected", "BuddyMessage"]
    assert client.stats.oversize == 1
    assert "4096-byte cap" in seen[0].reason  # type: ignore[attr-defined]


async def test_transport_failures_back_off_and_recover(tmp_path: Path) -> None:
    service = Scripted()
    client = scripted_client(service, tmp_path)
    seen = recorder(client, BuddyMessage, Disconnected, Reconnected)
    async with client:
        service.polls.put_nowait(RequestTimeout("poll2 timed out after 1s"))
        service.polls.put_nowait(NetworkError("poll2 failed: ServerDisconnectedError"))
        service.batch(message(1, "back"))
        await until(lambda: any(isinstance(e, BuddyMessage) for e in seen))
    assert [type(e).__name__ for e in seen] == ["Disconnected", "Reconnected", "BuddyMessage"]
    assert client.stats.failures == 1


async def test_a_redelivered_message_is_dispatched_once_and_the_window_is_bounded(
    tmp_path: Path,
) -> None:
    service = Scripted()
    client = scripted_client(service, tmp_path, dedup_window=4)
    seen = recorder(client, BuddyMessage)
    async with client:
        service.batch(message(1, "a"), message(2, "b"), message(1, "a"))
        service.batch(message(2, "b"), message(2, "b", from_uin=FRIEND + 1))  # another sender
        # Eight more keys (twice the window): 1 is forgotten, so it may come back; 9 is
        # within the last four and is still a repeat.
        service.batch(*(message(i, "fill") for i in range(3, 11)))
        service.batch(message(9, "fill"), message(1, "a again"), message(99, "end"))
        await until(lambda: any(e.text == "end" for e in seen))  # type: ignore[attr-defined]
    assert [(e.msg_id, e.sender_uin) for e in seen] == [  # type: ignore[attr-defined]
        (1, FRIEND),
        (2, FRIEND),
        (2, FRIEND + 1),
        *((i, FRIEND) for i in range(3, 11)),
        (1, FRIEND),
        (99, FRIEND),
    ]
    assert client.stats.duplicates == 3  # 1 and 2 in the first two polls, 9 in the last


async def test_own_sends_echoed_back_are_dropped_once_and_counted(tmp_path: Path) -> None:
    service = Scripted()
    client = scripted_client(service, tmp_path)
    seen = recorder(client, BuddyMessage)
    async with client:
        await client.send_buddy_msg(FRIEND, "ping")
        assert [r["to"] for r in service.sent] == [FRIEND]
        # Ally (a friend) says the same words, then the service echoes our send from a
        # uin we do not know: Ally is a person, the stranger is the echo.
        service.batch(message(10, "ping"), message(11, "ping", from_uin=987654))
        service.batch(message(12, "after"))
        await until(lambda: any(e.text == "after" for e in seen))  # type: ignore[attr-defined]
    assert [(e.msg_id, e.text) for e in seen] == [(10, "ping"), (12, "after")]  # no 11  # type: ignore[attr-defined]
    assert client.stats.echoes_dropped == 1


async def test_echoes_are_kept_when_asked(tmp_path: Path) -> None:
    service = Scripted()
    client = scripted_client(service, tmp_path, ignore_self_echo=False)
    seen = recorder(client, BuddyMessage)
    async with client:
        await client.send_buddy_msg(FRIEND, "ping")
        service.batch(message(10, "ping", from_uin=987654))
        await until(lambda: bool(seen))
    assert client.stats.echoes_dropped == 0


async def test_unsendable_text_is_a_usage_error_before_any_request(tmp_path: Path) -> None:
    service = Scripted()
    client = scripted_client(service, tmp_path)
    async with client:
        with pytest.raises(UsageError, match="cannot be sent"):
            await client.send_buddy_msg(FRIEND, "lone \udc80 surrogate")
        with pytest.raises(UsageError):
            await client.send_buddy_msg(FRIEND, "   ")
    assert service.sent == []


async def test_an_unexpected_parser_failure_is_logged_reported_counted_and_salvaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Narrow unit: stand in for a parser bug on one answer (a RuntimeError from parse_poll).
    import smartqq.client.poller as poller_module

    real = poller_module.parse_poll
    calls = iter([True])

    def broken(body: bytes) -> object:
        if next(calls, False):
            raise RuntimeError("parser bug")
        return real(body)

    monkeypatch.setattr(poller_module, "parse_poll", broken)
    reported: list[tuple[BaseException, Event]] = []
    service = Scripted()
    client = scripted_client(
        service, tmp_path, on_error=lambda exc, event, handler: reported.append((exc, event))
    )
    seen = recorder(client, BuddyMessage)
    async with client:
        leaky = {"psessionid": "9" * 30, "retcode": 0, "result": [message(2, "b"), message(1, "a")]}
        service.polls.put_nowait(HttpResponse(200, json.dumps(leaky).encode()))
        service.batch(message(3, "next"))
        await until(lambda: len(seen) == 3)
    assert [e.msg_id for e in seen] == [1, 2, 3]  # type: ignore[attr-defined]
    assert client.stats.errors == 1
    assert client.stats.salvaged == 1
    assert [type(exc) for exc, _ in reported] == [RuntimeError]
    assert isinstance(reported[0][1], UnknownEvent)
    logged = [r.getMessage() for r in caplog.records if "RuntimeError" in r.getMessage()]
    assert len(logged) == 1
    assert "psessionid" in logged[0]  # the excerpt shows the body's first bytes...
    assert "9" * 30 not in logged[0]  # ...redacted


async def test_a_rotated_ptwebqq_no_cookie_can_carry_is_ignored(tmp_path: Path) -> None:
    service = Scripted()
    client = scripted_client(service, tmp_path)
    seen = recorder(client, BuddyMessage)
    async with client:
        before = client.state.ptwebqq if client.state else None
        service.polls.put_nowait(HttpResponse(200, b'{"retcode":116,"p":"a\\r\\nSet: x"}'))
        service.batch(message(1, "still polling"))
        await until(lambda: bool(seen))
        assert client.state is not None
        assert client.state.ptwebqq == before
