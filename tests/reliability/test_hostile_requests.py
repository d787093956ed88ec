"""Hostile and random requests to every emulator endpoint: never a 500, never a crash,
and the other sessions keep being served (issue 7, fuzzing)."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import aiohttp

from smartqq import BuddyMessage
from smartqq.emulator import Emulator
from smartqq.testing import make_client

JUNK = [
    "",
    "null",
    "{",
    "[]",
    '{"r":1}',
    "NaN",
    "1e999",
    "-1",
    "4294967296",
    "%ZZ",
    "\u202e",
    "x" * 300,
    "'",
    '"',
    "&&",
    "=",
    "🎉",
    "0x10",
    "[[[[",
    "true",
]
R_KEYS = [
    "ptwebqq",
    "clientid",
    "psessionid",
    "status",
    "to",
    "group_uin",
    "did",
    "content",
    "msg_id",
    "face",
    "vfwebqq",
    "hash",
    "gcode",
    "key",
    "uin",
    "tuin",
    "font",
]


def junk(rng: random.Random) -> Any:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice(JUNK)
    if kind == 1:
        return rng.randint(-(2**70), 2**70)
    if kind == 2:
        return None
    if kind == 3:
        return [rng.choice(JUNK), rng.randint(-5, 5)]
    return {"size": rng.choice(JUNK), "style": [1, "a"]}


def random_r(rng: random.Random, real_sid: str) -> str:
    if rng.random() < 0.3:
        return str(rng.choice(JUNK))
    fields = {k: junk(rng) for k in rng.sample(R_KEYS, rng.randint(0, 6))}
    if rng.random() < 0.2:  # sometimes a real session, to get past the first checks
        fields["psessionid"] = real_sid
    return json.dumps(fields)


def routes(emu: Emulator) -> list[str]:
    paths = set()
    for resource in emu.app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if path and not path.startswith("/_emu/"):
            paths.add(path)
    return sorted(paths)


async def test_every_endpoint_survives_random_requests(emu: Emulator) -> None:
    paths = routes(emu)
    assert len(paths) > 30  # every §1–§8 endpoint is routed
    rng = random.Random(20261122)  # seeded: a failure names a reproducible request
    statuses: dict[int, int] = {}
    async with make_client(emu) as client, aiohttp.ClientSession() as http:
        assert client.state is not None
        real_sid = client.state.psessionid
        for _ in range(400):
            path = rng.choice(paths)
            method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
            r = random_r(rng, real_sid)
            query = {
                k: str(rng.choice(JUNK))
                for k in rng.sample(
                    ["r", "clientid", "psessionid", "vfwebqq", "t", "u", "ptqrtoken", "qq"],
                    rng.randint(0, 3),
                )
            }
            headers = {
                "Host": rng.choice(
                    ["d1.web2.qq.com", "s.web2.qq.com", "ssl.ptlogin2.qq.com", "evil.example"]
                )
            }
            if rng.random() < 0.5:
                headers["Cookie"] = f"skey={rng.choice(JUNK)[:8]}; ptwebqq={rng.choice(JUNK)[:8]}"
            async with http.request(
                method, emu.url + path, params=query, data={"r": r}, headers=headers
            ) as resp:
                await resp.read()
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            assert resp.status < 500, (method, path, r, query, resp.status)
        # The real session kept being served throughout.
        emu.user(10002).send_buddy(10001, "after the storm")
        msg = await client.wait_for(
            BuddyMessage, check=lambda m: m.text == "after the storm", timeout=5
        )
        assert msg.text == "after the storm"
    assert sum(statuses.values()) == 400


async def test_huge_bodies_and_bad_json_get_4xx_or_real_error_forms(emu: Emulator) -> None:
    async with make_client(emu) as client, aiohttp.ClientSession() as http:
        for path in (
            "/channel/poll2",
            "/channel/send_buddy_msg2",
            "/api/get_user_friends2",
            "/channel/login2",
        ):
            cases: list[dict[str, Any]] = [
                {"data": io.BytesIO(b"r=" + b"x" * (2 * 1024 * 1024))},
                {"data": "r={not json"},
                {"data": "r=%7B%22psessionid%22%3A1e999%7D"},
                {"data": b"\xff\xfe\x00garbage"},
            ]
            for case in cases:
                async with http.post(emu.url + path, **case) as resp:
                    body = await resp.read()
                    assert resp.status in (200, 400, 413), (path, resp.status)
                    if resp.status == 200:
                        assert "retcode" in json.loads(body)
        # The logged-in session was never disturbed.
        emu.user(10002).send_buddy(10001, "still served")
        msg = await client.wait_for(BuddyMessage, timeout=5)
        assert msg.text == "still served"
