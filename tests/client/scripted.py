"""A scripted SmartQQ service for MockTransport tests: a resumed session, canned answers.

Narrow by design: it answers the probe that resumes a saved session, the friend
list, send calls (recording them) and poll2 from a queue; an empty queue holds the
poll open until the client closes, like the real long poll.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from smartqq import Client
from smartqq.client.session_store import save_session
from smartqq.protocol.http import HttpRequest, HttpResponse
from smartqq.protocol.profiles import SMARTQQ
from smartqq.protocol.session import SessionState
from smartqq.transport import MockTransport

SECRETS = {"psessionid": "8368046764001d636f6e6e7365727665725f77656271714031", "vfwebqq": "f" * 80}
FRIEND = 2001


def ok(result: Any = None) -> HttpResponse:
    return HttpResponse(200, json.dumps({"retcode": 0, "result": result}).encode())


def message(msg_id: int, text: str, from_uin: int = FRIEND, **extra: Any) -> dict[str, Any]:
    return {
        "poll_type": "message",
        "value": {
            "msg_id": msg_id,
            "from_uin": from_uin,
            "to_uin": 1000,
            "time": 1_500_000_000 + msg_id,
            "content": [["font", {"size": 10}], text],
            **extra,
        },
    }


class Scripted:
    def __init__(self) -> None:
        self.polls: asyncio.Queue[HttpResponse | Exception] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.cookies_seen: list[str | None] = []
        self.transport = MockTransport(self.handle)

    def batch(self, *elements: dict[str, Any]) -> None:
        """The next poll answers these events (newest first, as the service does)."""
        self.polls.put_nowait(ok(list(reversed(elements))))

    async def handle(self, request: HttpRequest) -> HttpResponse:
        self.cookies_seen.append(request.header("Cookie"))
        if request.endpoint == "poll2":
            answer = await self.polls.get()
            if isinstance(answer, Exception):
                raise answer
            return answer
        if request.endpoint.startswith("send_"):
            r = json.loads(dict(request.form or ())["r"])
            self.sent.append(r)
            return ok("ok")
        if request.endpoint == "get_user_friends2":
            return ok(
                {
                    "friends": [{"uin": FRIEND, "flag": 0, "categories": 0}],
                    "info": [{"uin": FRIEND, "nick": "Ally", "face": 0, "flag": 0}],
                    "marknames": [],
                    "categories": [],
                    "vipinfo": [],
                }
            )
        if request.endpoint in ("get_group_name_list_mask2",):
            return ok({"gnamelist": [], "gmarklist": [], "gmasklist": []})
        if request.endpoint == "get_discus_list":
            return ok({"dnamelist": []})
        return ok([])  # get_online_buddies2 (the resume probe) and anything else


def saved_session(directory: Path) -> Path:
    state = SessionState(SMARTQQ, qq=1000, uin=1000, nick="bot", **SECRETS)
    state.cookies.set("ptwebqq", "c" * 64, "qq.com")
    path = directory / "session.json"
    save_session(path, state)
    return path


def scripted_client(service: Scripted, directory: Path, **options: Any) -> Client:
    options.setdefault("send_interval", 0)
    options.setdefault("backoff_base", 0.01)
    options.setdefault("backoff_cap", 0.05)
    options.setdefault("contacts_refresh", None)
    return Client(
        session_file=saved_session(directory),
        transport=service.transport,
        on_qrcode=lambda qr: None,
        **options,
    )
