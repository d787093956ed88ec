"""``python -m smartqq demo --web``: the emulator and the echo bot keep running for the page."""

from __future__ import annotations

import asyncio
import json
import re
import socket

import aiohttp
import pytest

from smartqq.cli import amain
from smartqq.emulator import BOT_QQ


async def test_demo_web_prints_the_page_url_and_the_bot_answers_the_page(
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo = asyncio.ensure_future(amain(["demo", "--web", "--color", "never"]))
    try:
        url = None
        for _ in range(400):
            found = re.search(r"Web page: (http://127\.0\.0\.1:\d+)/", capsys.readouterr().out)
            if found:
                url = found.group(1)
                break
            assert not demo.done(), "the demo ended instead of serving the page"
            await asyncio.sleep(0.05)
        assert url is not None
        async with aiohttp.ClientSession(headers={"Content-Type": "application/json"}) as http:
            async with http.get(url + "/") as resp:
                assert resp.status == 200
            login = {"qq": 10002, "password": "alice-pw"}
            async with http.post(url + "/_web/api/login", data=json.dumps(login)) as resp:
                session = (await resp.json())["session"]
            async with http.ws_connect(f"{url}/_web/api/ws?session={session}") as ws:
                await ws.receive_json(timeout=5)  # hello, with the scripted run's history
                send = {"kind": "buddy", "to": BOT_QQ, "text": "from the page"}
                async with http.post(
                    url + "/_web/api/send",
                    data=json.dumps(send),
                    headers={"X-Web-Session": session},
                ) as resp:
                    assert (await resp.json())["delivered_to"] == 1
                while True:
                    msg = (await ws.receive_json(timeout=10))["message"]
                    if msg["from"] == BOT_QQ:
                        break
                assert msg["content"] == ["echo: ", "from the page"]
        assert not demo.done()  # still serving
    finally:
        demo.cancel()
        with pytest.raises(asyncio.CancelledError):
            await demo


async def test_the_emulator_command_prints_the_page_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    task = asyncio.ensure_future(amain(["emulator", "--port", str(port)]))
    try:
        out = ""
        for _ in range(200):
            out += capsys.readouterr().out
            if "Accounts:" in out or task.done():
                break
            await asyncio.sleep(0.05)
        assert f"Web page: http://127.0.0.1:{port}/ " in out
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/") as resp:
            assert resp.status == 200
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
