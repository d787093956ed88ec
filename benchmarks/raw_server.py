"""A bare aiohttp.web server for baselines: ``/hold`` holds like a long-poll, ``/batch?n=K``
answers a prebuilt poll2 body of K buddy messages. Run: ``python raw_server.py PORT``."""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web


def batch(n: int) -> bytes:
    result = [
        {
            "poll_type": "message",
            "value": {
                "content": [
                    ["font", {"size": 10, "color": "000000", "style": [0, 0, 0], "name": "宋体"}],
                    f"m{i}",
                ],
                "from_uin": 3_000_000_000 + i,
                "msg_id": 1000 + i,
                "msg_type": 0,
                "time": 1_700_000_000,
                "to_uin": 10001,
            },
        }
        for i in range(n)
    ]
    return json.dumps({"retcode": 0, "result": result}).encode()


async def hold(request: web.Request) -> web.Response:
    await asyncio.sleep(60)
    return web.json_response({"retcode": 102, "errmsg": ""})


async def batches(request: web.Request) -> web.Response:
    n = int(request.query.get("n", "50"))
    return web.Response(body=CACHE.setdefault(n, batch(n)), content_type="application/json")


CACHE: dict[int, bytes] = {}


def main() -> None:
    app = web.Application()
    app.add_routes([web.post("/hold", hold), web.post("/batch", batches)])
    port = int(sys.argv[1])

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
        print("listening on", port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
